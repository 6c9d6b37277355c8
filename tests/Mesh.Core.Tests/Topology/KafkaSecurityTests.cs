using Mesh.Core.Topology;

namespace Mesh.Core.Tests.Topology;

/// <summary>
/// A region's Kafka security settings checked offline: each wrong combination is named at its setting with a fix, an
/// unsafe one is a warning, and the settings a real SASL or TLS connection needs pass clean.
/// </summary>
public sealed class KafkaSecurityTests
{
    private static KafkaSecurity.Finding[] Check(params (string Key, string Value)[] settings) =>
        KafkaSecurity.Check("eu-west", new KafkaSettings([("bootstrap.servers", "k:9093"), .. settings])).ToArray();

    public static TheoryData<string, (string, string)[], string?, bool, string, string> Cases => new()
    {
        { "unknown protocol", [("security.protocol", "tls")], "security.protocol", true, "security.protocol 'tls' is not one librdkafka knows", "sasl_ssl" },
        { "unknown mechanism", [("security.protocol", "sasl_ssl"), ("sasl.mechanism", "SCRAM-SHA-1")], "sasl.mechanism", true,
            "SASL mechanism 'SCRAM-SHA-1' is not one librdkafka knows", "SCRAM-SHA-512" },
        { "mechanism in the wrong case", [("security.protocol", "sasl_ssl"), ("sasl.mechanisms", "scram-sha-256"), ("sasl.username", "mesh"), ("sasl.password", "${P}")],
            "sasl.mechanisms", true, "'scram-sha-256' is not one", "write it as 'SCRAM-SHA-256'" },
        { "mechanism without a SASL protocol", [("sasl.mechanism", "PLAIN"), ("sasl.username", "mesh"), ("sasl.password", "${P}")], "sasl.mechanism", true,
            "its security.protocol is 'plaintext' (the default): the client would never authenticate", "sasl_ssl" },
        { "mechanism over plain TLS", [("security.protocol", "SSL"), ("sasl.mechanism", "PLAIN")], "sasl.mechanism", true,
            "its security.protocol is 'ssl'", "set security.protocol: sasl_ssl" },
        { "SASL without a mechanism", [("security.protocol", "sasl_ssl")], "security.protocol", false, "falls back to GSSAPI (Kerberos)", "sasl.mechanism" },
        { "SCRAM without a password", [("security.protocol", "sasl_ssl"), ("sasl.mechanism", "SCRAM-SHA-512"), ("sasl.username", "mesh")], null, true,
            "uses SASL SCRAM-SHA-512 without 'sasl.password'", "${EU_WEST_SASL_PASSWORD}" },
        { "PLAIN without a user", [("security.protocol", "sasl_ssl"), ("sasl.mechanism", "PLAIN"), ("sasl.password", "${P}")], null, true,
            "without 'sasl.username'", "sasl.username" },
        { "PLAIN in clear text", [("security.protocol", "sasl_plaintext"), ("sasl.mechanism", "PLAIN"), ("sasl.username", "mesh"), ("sasl.password", "${P}")],
            "security.protocol", false, "sends its SASL PLAIN password unencrypted", "sasl_ssl" },
        { "OAUTHBEARER without a token source", [("security.protocol", "sasl_ssl"), ("sasl.mechanism", "OAUTHBEARER")], "sasl.oauthbearer.method", true,
            "Mesh supplies no token of its own", "sasl.oauthbearer.method: oidc" },
        { "OIDC without its endpoint", [("security.protocol", "sasl_ssl"), ("sasl.mechanism", "OAUTHBEARER"), ("sasl.oauthbearer.method", "oidc"),
            ("sasl.oauthbearer.client.id", "mesh"), ("sasl.oauthbearer.client.secret", "${S}")], null, true,
            "without 'sasl.oauthbearer.token.endpoint.url'", "identity provider" },
        { "unsecured JWT", [("security.protocol", "sasl_ssl"), ("sasl.mechanism", "OAUTHBEARER"), ("enable.sasl.oauthbearer.unsecure.jwt", "true")],
            "enable.sasl.oauthbearer.unsecure.jwt", false, "for test clusters only", "oidc" },
        { "TLS settings without TLS", [("ssl.ca.location", "/etc/mesh/ca.pem")], "ssl.ca.location", false,
            "sets ssl.ca.location but its security.protocol is 'plaintext' (the default), so they are ignored", "set security.protocol: ssl" },
        { "certificate without its key", [("security.protocol", "ssl"), ("ssl.certificate.location", "/etc/mesh/client.pem")], "ssl.certificate.location", true,
            "presents a client certificate (ssl.certificate.location) without its private key", "ssl.key.location" },
        { "key without its certificate", [("security.protocol", "ssl"), ("ssl.key.location", "/etc/mesh/client.key")], "ssl.key.location", true,
            "without the client certificate it belongs to", "ssl.certificate.location" },
        { "verification off", [("security.protocol", "ssl"), ("enable.ssl.certificate.verification", "false")], "enable.ssl.certificate.verification", false,
            "does not verify its brokers' certificates", "ssl.ca.location" },
        { "host names not checked", [("security.protocol", "ssl"), ("ssl.endpoint.identification.algorithm", "none")], "ssl.endpoint.identification.algorithm", false,
            "does not check that its brokers' certificates name the brokers", "https" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_wrong_or_unsafe_setting_is_named_with_a_fix(string name, (string, string)[] settings, string? key, bool isError, string message, string fix)
    {
        var findings = Check(settings);

        var finding = findings.FirstOrDefault(f => f.Key == key && f.Message.Contains(message, StringComparison.Ordinal));
        Assert.True(finding.Message is not null, $"{name}: nothing at '{key}' saying \"{message}\"; got:\n  " +
                                                 string.Join("\n  ", findings.Select(f => $"{f.Key}: {f.Message} ({f.Fix})")));
        Assert.Equal(isError, finding.IsError);
        Assert.Contains(fix, finding.Fix, StringComparison.Ordinal);
        Assert.Contains("region 'eu-west'", finding.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, (string, string)[]> Sound => new()
    {
        { "nothing set (plaintext)", [] },
        { "SCRAM over TLS", [("security.protocol", "SASL_SSL"), ("sasl.mechanism", "SCRAM-SHA-512"), ("sasl.username", "mesh"), ("sasl.password", "${MESH_PW}"),
            ("ssl.ca.location", "/etc/mesh/ca.pem")] },
        { "PLAIN over TLS", [("security.protocol", "sasl_ssl"), ("sasl.mechanisms", "PLAIN"), ("sasl.username", "mesh"), ("sasl.password", "${MESH_PW}")] },
        { "mutual TLS", [("security.protocol", "ssl"), ("ssl.ca.location", "/etc/mesh/ca.pem"), ("ssl.certificate.location", "/etc/mesh/client.pem"),
            ("ssl.key.location", "/etc/mesh/client.key"), ("ssl.key.password", "${MESH_KEY_PW}")] },
        { "OIDC", [("security.protocol", "sasl_ssl"), ("sasl.mechanism", "OAUTHBEARER"), ("sasl.oauthbearer.method", "OIDC"), ("sasl.oauthbearer.client.id", "mesh"),
            ("sasl.oauthbearer.client.secret", "${MESH_OIDC}"), ("sasl.oauthbearer.token.endpoint.url", "https://idp.example/token")] },
        { "protocol from the environment", [("security.protocol", "${MESH_PROTOCOL}"), ("sasl.mechanism", "PLAIN"), ("sasl.username", "mesh"), ("sasl.password", "${MESH_PW}")] },
    };

    [Theory]
    [MemberData(nameof(Sound))]
    public void Settings_a_real_secured_cluster_needs_pass_clean(string name, (string, string)[] settings)
    {
        var findings = Check(settings);
        Assert.True(findings.Length == 0, $"{name}: " + string.Join("; ", findings.Select(f => $"{f.Key}: {f.Message}")));
    }

    [Fact]
    public void The_topology_validator_reports_them_at_the_region_s_kafka_settings()
    {
        var load = Mesh.Core.Topology.Topology.Load(
            "version: 1\npattern: mesh\nregions:\n  a:\n    kafka:\n      bootstrap.servers: x:1\n      sasl.mechanism: PLAIN\n" +
            "  b:\n    kafka:\n      bootstrap.servers: y:1\n      security.protocol: sasl_ssl\n      sasl.mechanism: SCRAM-SHA-256\n",
            "topology.yaml");
        var problem = Assert.Single(load.Problems, p => p.Path == "regions.a.kafka[\"sasl.mechanism\"]");
        Assert.Equal(ProblemSeverity.Error, problem.Severity);
        Assert.Equal(7, problem.Line);
        Assert.Contains(load.Problems, p => p.Path == "regions.b.kafka" && p.Message.Contains("without 'sasl.username'", StringComparison.Ordinal));
        Assert.Contains(load.Problems, p => p.Path == "regions.b.kafka" && p.Message.Contains("without 'sasl.password'", StringComparison.Ordinal)
                                            && p.Fix.Contains("${B_SASL_PASSWORD}", StringComparison.Ordinal));
    }
}
