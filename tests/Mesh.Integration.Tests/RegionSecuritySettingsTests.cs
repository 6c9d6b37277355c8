using Mesh.Integration.Tests.Infrastructure;
using Mesh.Kafka.Clients;
using Mesh.Silo.Options;

namespace Mesh.Integration.Tests;

/// <summary>
/// A silo given Kafka security settings that cannot work (its own cluster's or a peer's) refuses to start with the
/// setting named as a configuration path and environment variable, and a fix; sound settings pass.
/// </summary>
public sealed class RegionSecuritySettingsTests
{
    private static RegionOptions Region(Dictionary<string, string> own, Dictionary<string, string>? peer = null)
    {
        var options = new RegionOptions { Region = "us-east", Kafka = new KafkaClusterOptions { BootstrapServers = "k1:9093", Settings = own } };
        if (peer is not null) options.Connections["eu-west"] = new KafkaClusterOptions { BootstrapServers = "k2:9093", Settings = peer };
        return options;
    }

    [Fact]
    public void Settings_that_cannot_authenticate_stop_the_silo_naming_the_setting()
    {
        var problems = RegionOptionsValidator.Validate(Region(
            new() { ["security.protocol"] = "ssl", ["sasl.mechanism"] = "PLAIN" },
            new() { ["security.protocol"] = "SASL_SSL", ["sasl.mechanism"] = "SCRAM-SHA-512", ["sasl.username"] = "mesh" }));

        Assert.Contains(problems, p => p.StartsWith("Mesh:Kafka:Settings:sasl.mechanism (env MESH_Mesh__Kafka__Settings__sasl.mechanism): region 'us-east' sets a SASL mechanism",
            StringComparison.Ordinal) && p.Contains("Set security.protocol: sasl_ssl.", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Mesh:Connections:eu-west:Settings (env MESH_Mesh__Connections__eu-west__Settings): region 'eu-west' uses SASL SCRAM-SHA-512 without 'sasl.password'",
            StringComparison.Ordinal));
    }

    [Fact]
    public void Certificate_and_key_files_must_exist_here_and_hold_PEM()
    {
        var dir = Directory.CreateTempSubdirectory("mesh-tls-files-").FullName;
        try
        {
            var (certificate, rsa) = TestCertificates.SelfSigned("CN=mesh-test");
            using var _ = certificate;
            using var __ = rsa;
            var ca = Path.Combine(dir, "ca.pem");
            File.WriteAllText(ca, certificate.ExportCertificatePem());
            var key = Path.Combine(dir, "client.key");
            File.WriteAllText(key, rsa.ExportPkcs8PrivateKeyPem());
            var notPem = Path.Combine(dir, "client.der");
            File.WriteAllBytes(notPem, certificate.RawData);

            Assert.DoesNotContain(RegionOptionsValidator.Validate(Region(new()
            {
                ["security.protocol"] = "ssl", ["ssl.ca.location"] = ca, ["ssl.certificate.location"] = ca, ["ssl.key.location"] = key,
            })), p => p.Contains("Settings", StringComparison.Ordinal));
            Assert.DoesNotContain(RegionOptionsValidator.Validate(Region(new() { ["security.protocol"] = "ssl", ["ssl.ca.location"] = dir })),
                p => p.Contains("Settings", StringComparison.Ordinal));

            var problems = RegionOptionsValidator.Validate(Region(new()
            {
                ["security.protocol"] = "ssl", ["ssl.ca.location"] = Path.Combine(dir, "missing.pem"),
                ["ssl.certificate.location"] = notPem, ["ssl.key.location"] = ca,
            }));
            Assert.Contains(problems, p => p.StartsWith("Mesh:Kafka:Settings:ssl.ca.location", StringComparison.Ordinal) && p.Contains("does not exist on this host", StringComparison.Ordinal));
            Assert.Contains(problems, p => p.StartsWith("Mesh:Kafka:Settings:ssl.certificate.location", StringComparison.Ordinal) && p.Contains("holds no PEM certificate", StringComparison.Ordinal));
            Assert.Contains(problems, p => p.StartsWith("Mesh:Kafka:Settings:ssl.key.location", StringComparison.Ordinal) && p.Contains("holds no PEM private key", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Sound_settings_and_warnings_alone_do_not_stop_it()
    {
        var problems = RegionOptionsValidator.Validate(Region(
            new() { ["security.protocol"] = "sasl_ssl", ["sasl.mechanism"] = "SCRAM-SHA-512", ["sasl.username"] = "mesh", ["sasl.password"] = "from-the-environment" },
            new() { ["ssl.endpoint.identification.algorithm"] = "https" })); // ignored under plaintext: a warning for 'mesh topology validate', not a stop

        Assert.DoesNotContain(problems, p => p.Contains("Settings", StringComparison.Ordinal));
    }
}
