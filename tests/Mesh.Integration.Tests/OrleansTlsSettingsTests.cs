using Mesh.Core.Security;
using Mesh.Integration.Tests.Infrastructure;
using Mesh.Kafka.Clients;
using Mesh.Silo.Options;

namespace Mesh.Integration.Tests;

/// <summary>
/// A silo's mutual TLS settings (Mesh:Orleans:Tls) are checked before anything starts: all three files or none, each
/// exists and loads, the key is the certificate's, the certificate is a silo certificate of this region from the CA,
/// valid now and not revoked. A silo never starts half-secured; the real silo process exits 2 naming the setting.
/// </summary>
public sealed class OrleansTlsSettingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-orleans-tls-").FullName;
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private string Write(string name, System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, bool withKey = true)
    {
        MeshCertificates.Save(certificate, Path.Combine(_dir, name + ".crt"), withKey ? Path.Combine(_dir, name + ".key") : null);
        return Path.Combine(_dir, name);
    }

    private static RegionOptions Region(string ca, string certificate, string key, string? crl = null) => new()
    {
        Region = "us-east",
        Kafka = new KafkaClusterOptions { BootstrapServers = "k1:9092" },
        Orleans = new ClusteringOptions { Tls = new OrleansTlsOptions { CaFile = ca, CertificateFile = certificate, KeyFile = key, CrlFile = crl } },
    };

    private static List<string> TlsProblems(RegionOptions options) =>
        [.. RegionOptionsValidator.Validate(options).Where(p => p.StartsWith("Mesh:Orleans:Tls", StringComparison.Ordinal))];

    [Fact]
    public void The_regions_own_silo_certificate_passes_and_every_wrong_file_is_named()
    {
        using var ca = MeshCertificates.CreateAuthority("test CA", TimeSpan.FromDays(365), Now.AddDays(-10));
        using var other = MeshCertificates.CreateAuthority("other CA", TimeSpan.FromDays(365), Now);
        var caFile = Write("ca", ca, withKey: false) + ".crt";
        var own = Write("silo-us-east", MeshCertificates.Issue(ca, MeshRole.Silo, "us-east", [], TimeSpan.FromDays(30), Now));
        var peer = Write("silo-eu-west", MeshCertificates.Issue(ca, MeshRole.Silo, "eu-west", [], TimeSpan.FromDays(30), Now));
        var person = Write("alice", MeshCertificates.Issue(ca, MeshRole.Operator, "alice", [], TimeSpan.FromDays(30), Now));
        var foreign = Write("foreign", MeshCertificates.Issue(other, MeshRole.Silo, "us-east", [], TimeSpan.FromDays(30), Now));
        var expired = Write("expired", MeshCertificates.Issue(ca, MeshRole.Silo, "us-east", [], TimeSpan.FromDays(1), Now.AddDays(-3)));

        Assert.Empty(TlsProblems(Region(caFile, own + ".crt", own + ".key")));
        Assert.Contains(TlsProblems(Region(caFile, peer + ".crt", peer + ".key")), p => p.Contains("belongs to the silo of region eu-west, not a silo of region us-east", StringComparison.Ordinal)
                                                                                        && p.Contains("mesh certs issue --role silo --name us-east", StringComparison.Ordinal));
        Assert.Contains(TlsProblems(Region(caFile, person + ".crt", person + ".key")), p => p.Contains("belongs to the operator 'alice'", StringComparison.Ordinal));
        Assert.Contains(TlsProblems(Region(caFile, foreign + ".crt", foreign + ".key")), p => p.Contains("was not issued by this mesh's CA", StringComparison.Ordinal));
        Assert.Contains(TlsProblems(Region(caFile, expired + ".crt", expired + ".key")), p => p.Contains("expired on", StringComparison.Ordinal));
        Assert.Contains(TlsProblems(Region(caFile, own + ".crt", peer + ".key")), p => p.Contains("cannot be loaded", StringComparison.Ordinal)
                                                                                    && p.Contains(peer + ".key", StringComparison.Ordinal));
        Assert.Contains(TlsProblems(Region(Path.Combine(_dir, "missing.crt"), own + ".crt", own + ".key")), p => p.Contains("missing.crt' does not exist", StringComparison.Ordinal));
        Assert.Contains(TlsProblems(Region(own + ".key", own + ".crt", own + ".key")), p => p.Contains("holds no PEM certificate", StringComparison.Ordinal));
    }

    [Fact]
    public void Some_files_but_not_all_is_a_problem_for_each_missing_one()
    {
        var problems = TlsProblems(Region(Path.Combine(_dir, "ca.crt"), "", ""));

        Assert.Contains(problems, p => p.StartsWith("Mesh:Orleans:Tls:CertificateFile", StringComparison.Ordinal) && p.Contains("is missing", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Mesh:Orleans:Tls:KeyFile", StringComparison.Ordinal) && p.Contains("is missing", StringComparison.Ordinal));
        Assert.Empty(TlsProblems(Region("", "", ""))); // none at all: plain text, with a warning at start
    }

    [Fact]
    public void A_revoked_silo_certificate_stops_the_silo()
    {
        using var ca = MeshCertificates.CreateAuthority("test CA", TimeSpan.FromDays(365), Now);
        var caFile = Write("ca", ca, withKey: false) + ".crt";
        using var issued = MeshCertificates.Issue(ca, MeshRole.Silo, "us-east", [], TimeSpan.FromDays(30), Now);
        var own = Write("silo-us-east", issued);
        var crl = Path.Combine(_dir, "revoked.crl");
        File.WriteAllBytes(crl, RevokedSerials.Build(ca, [issued.SerialNumber], Now, TimeSpan.FromDays(7)));

        Assert.Contains(TlsProblems(Region(caFile, own + ".crt", own + ".key", crl)), p => p.Contains("is revoked by", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_silo_process_exits_2_naming_the_setting_and_starts_nothing()
    {
        using var ca = MeshCertificates.CreateAuthority("test CA", TimeSpan.FromDays(365), Now);
        var caFile = Write("ca", ca, withKey: false) + ".crt";
        var peer = Write("silo-eu-west", MeshCertificates.Issue(ca, MeshRole.Silo, "eu-west", [], TimeSpan.FromDays(30), Now));
        var config = Path.Combine(_dir, "silo.json");
        await File.WriteAllTextAsync(config, System.Text.Json.JsonSerializer.Serialize(new
        {
            Mesh = new
            {
                Region = "us-east",
                Kafka = new { BootstrapServers = "127.0.0.1:1" },
                Orleans = new { Tls = new { CaFile = caFile, CertificateFile = peer + ".crt", KeyFile = peer + ".key" } },
            },
        }));

        var result = await MeshProcesses.SiloAsync(TimeSpan.FromMinutes(1), null, "--config", config);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("Mesh:Orleans:Tls:CertificateFile", result.Stderr);
        Assert.Contains("not a silo of region us-east", result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
