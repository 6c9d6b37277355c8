using Mesh.Core.Replication;
using Mesh.Kafka.Clients;

namespace Mesh.Silo.Options;

/// <summary>
/// Checks a region configuration before anything starts. Every problem is reported at once, each
/// naming the setting (as a JSON path and as an environment variable) and how to fix it.
/// </summary>
public static class RegionOptionsValidator
{
    public static IReadOnlyList<string> Validate(RegionOptions options)
    {
        var problems = new List<string>();
        void Problem(string path, string what, string fix) =>
            problems.Add($"{path} (env MESH_{path.Replace(":", "__")}): {what}. {fix}");

        if (string.IsNullOrWhiteSpace(options.Region))
            Problem("Mesh:Region", "is missing", "Set it to this region's id, e.g. \"us-east\".");
        else if (!RegionIds.IsValid(options.Region, out var reason))
            Problem("Mesh:Region", reason, "Pick an id of letters, digits, '-', '_' or '.'.");

        ValidateCluster("Mesh:Kafka", options.Region, options.Kafka, Problem);
        // Only the local cluster is written to; a peer's Settings only ever build readers.
        foreach (var key in options.Kafka.Settings.Keys.Where(k => k is "compression.type" or "compression.codec"))
            Problem($"Mesh:Kafka:Settings:{key}", "is chosen by the mesh per topic (one producer per codec)",
                $"Remove it and set Mesh:Replication:Compression (one of {Codecs}), or a Compression in a Mesh:TopicPolicies entry.");

        foreach (var (peer, cluster) in options.Connections)
        {
            var path = $"Mesh:Connections:{peer}";
            if (!RegionIds.IsValid(peer, out var peerReason))
                Problem(path, peerReason, "Use the region id the topology gives that region.");
            if (peer == options.Region)
                Problem(path, $"names this region ('{peer}')", "Remove it: this region's own Kafka is Mesh:Kafka.");
            ValidateCluster(path, peer, cluster, Problem);
        }

        if (!string.IsNullOrEmpty(options.Topology.File) && !File.Exists(options.Topology.File))
            Problem("Mesh:Topology:File", $"'{options.Topology.File}' does not exist",
                "Give the path of the topology file (YAML or JSON), or leave it empty to run the persisted topology (or none until 'mesh topology apply').");

        if (options.Replication.MaxBatchRecords is < 1 or > 100_000)
            Problem("Mesh:Replication:MaxBatchRecords", $"is {options.Replication.MaxBatchRecords}", "Use a value from 1 to 100000 (default 1000).");
        if (options.Replication.CheckpointIntervalMs is < 10 or > 600_000)
            Problem("Mesh:Replication:CheckpointIntervalMs", $"is {options.Replication.CheckpointIntervalMs}", "Use a value from 10 to 600000 (default 1000).");
        if (options.Replication.DiscoveryIntervalMs is < 100 or > 3_600_000)
            Problem("Mesh:Replication:DiscoveryIntervalMs", $"is {options.Replication.DiscoveryIntervalMs}", "Use a value from 100 to 3600000 (default 5000).");
        if (options.Replication.ColdAfterMs is < 1_000 or > 3_600_000)
            Problem("Mesh:Replication:ColdAfterMs", $"is {options.Replication.ColdAfterMs}", "Use a value from 1000 to 3600000 (default 30000).");

        if (!ProducerCompression.IsCodec(options.Replication.Compression))
            Problem("Mesh:Replication:Compression", $"'{options.Replication.Compression}' is not a compression codec",
                $"Use one of {Codecs} (default none: every Kafka client can read it).");
        for (var i = 0; i < options.TopicPolicies.Count; i++)
        {
            var policy = options.TopicPolicies[i];
            var path = $"Mesh:TopicPolicies:{i}";
            if (string.IsNullOrEmpty(policy.Topics))
                Problem($"{path}:Topics", "is missing", "Set the whole-name regular expression of the topics this entry applies to, e.g. \"orders.*\".");
            else
                ValidatePattern($"{path}:Topics", policy.Topics, Problem);
            if (policy.Compression is not null && !ProducerCompression.IsCodec(policy.Compression))
                Problem($"{path}:Compression", $"'{policy.Compression}' is not a compression codec",
                    $"Use one of {Codecs}, or remove it to keep Mesh:Replication:Compression for these topics.");
        }

        if (options.Replication.MinimumSilos is < 1 or > 1000)
            Problem("Mesh:Replication:MinimumSilos", $"is {options.Replication.MinimumSilos}", "Use the number of silos the region normally runs (default 1).");
        if (options.Replication.StartupGraceMs is < 0 or > 600_000)
            Problem("Mesh:Replication:StartupGraceMs", $"is {options.Replication.StartupGraceMs}", "Use a value from 0 to 600000 (default 30000).");
        if (options.Replication.WriteTimeoutMs is < 1_000 or > 120_000)
            Problem("Mesh:Replication:WriteTimeoutMs", $"is {options.Replication.WriteTimeoutMs}",
                "Use a value from 1000 to 120000 (default 15000): long enough for a broker to fail over, short because a take-over after a crash waits for it.");

        ValidateProvenance(options, Problem);
        ValidateInternalTopics(options.Replication, Problem);

        var orleans = options.Orleans;
        switch (orleans.Clustering.ToLowerInvariant())
        {
            case "localhost":
                break;
            case "adonet":
                ValidateAdoNet(orleans, Problem);
                break;
            default:
                Problem("Mesh:Orleans:Clustering", $"'{orleans.Clustering}' is not a clustering mode", "Use \"localhost\" (silos on one machine) or \"adonet\" (PostgreSQL membership).");
                break;
        }
        if (orleans.SiloPort is < 1 or > 65535)
            Problem("Mesh:Orleans:SiloPort", $"{orleans.SiloPort} is not a TCP port", "Use a free port from 1 to 65535.");
        if (orleans.GatewayPort is < 1 or > 65535)
            Problem("Mesh:Orleans:GatewayPort", $"{orleans.GatewayPort} is not a TCP port", "Use a free port from 1 to 65535.");
        if (orleans.SiloPort == orleans.GatewayPort)
            Problem("Mesh:Orleans:GatewayPort", $"equals SiloPort ({orleans.SiloPort})", "Give the silo and the gateway different ports.");
        ValidateOrleansTls(options, Problem);
        var metrics = options.Metrics;
        if (metrics.Port is < 0 or > 65535)
            Problem("Mesh:Metrics:Port", $"{metrics.Port} is not a TCP port", "Use a free port from 1 to 65535, or 0 for no metrics endpoint.");
        else if (metrics.Port != 0 && (metrics.Port == orleans.SiloPort || metrics.Port == orleans.GatewayPort))
            Problem("Mesh:Metrics:Port", $"equals the silo's Orleans port ({metrics.Port})", "Give the metrics endpoint a port of its own.");
        if (!System.Net.IPAddress.TryParse(metrics.Host, out _))
            Problem("Mesh:Metrics:Host", $"'{metrics.Host}' is not an IP address",
                "Use 127.0.0.1 (default: this machine only) or the address of this host that Prometheus scrapes (on Kubernetes, the pod's IP).");
        if (metrics.KafkaStatisticsIntervalMs is not 0 and (< 100 or > 3_600_000))
            Problem("Mesh:Metrics:KafkaStatisticsIntervalMs", $"is {metrics.KafkaStatisticsIntervalMs}", "Use a value from 100 to 3600000, or 0 (default) for no librdkafka statistics.");
        return problems;
    }

    /// <summary>
    /// All three files or none; when given, they load, the key is the certificate's, the certificate is this region's silo
    /// certificate from the CA, valid now and not revoked: a silo never starts half-secured.
    /// </summary>
    private static void ValidateOrleansTls(RegionOptions options, Action<string, string, string> problem)
    {
        var tls = options.Orleans.Tls;
        if (!tls.Enabled) return;
        var missing = new[] { ("CaFile", tls.CaFile), ("CertificateFile", tls.CertificateFile), ("KeyFile", tls.KeyFile) }.Where(f => string.IsNullOrEmpty(f.Item2)).ToList();
        foreach (var (name, _) in missing)
            problem($"Mesh:Orleans:Tls:{name}", "is missing (mutual TLS needs the CA, the silo's certificate and its key)",
                $"Set it, e.g. from 'mesh certs issue --role silo --name {options.Region} --out DIR', or unset all three to run without TLS.");
        if (tls.ExpiryWarningDays is < 0 or > 3650)
            problem("Mesh:Orleans:Tls:ExpiryWarningDays", $"is {tls.ExpiryWarningDays}", "Use a number of days from 0 to 3650 (default 30).");
        if (missing.Count > 0) return;
        try
        {
            using var credentials = Mesh.Security.MeshCredentials.Load(new Mesh.Security.MeshTlsFiles(tls.CaFile!, tls.CertificateFile!, tls.KeyFile!, NullIfEmpty(tls.CrlFile)), DateTimeOffset.UtcNow);
            if (credentials.Identity.Role != Mesh.Core.Security.MeshRole.Silo || credentials.Identity.Region != options.Region)
                problem("Mesh:Orleans:Tls:CertificateFile", $"'{tls.CertificateFile}' belongs to the {credentials.Identity.Describe()}, not a silo of region {options.Region}",
                    $"Issue the silo's own: mesh certs issue --role silo --name {options.Region}.");
        }
        catch (Mesh.Security.MeshTlsException e)
        {
            problem("Mesh:Orleans:Tls", e.Message, "Fix the file named, or issue new certificates with 'mesh certs issue'.");
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    // Key problems never quote the key: the message may end up in a log.
    private static void ValidateProvenance(RegionOptions options, Action<string, string, string> problem)
    {
        var provenance = options.Provenance;
        if (!string.IsNullOrEmpty(provenance.Key) && !MeshKeys.IsValidKey(provenance.Key, out var keyReason))
            problem("Mesh:Provenance:Key", keyReason, "Use the mesh's shared key, e.g. one made with 'openssl rand -base64 32', the same in every region.");
        if (!string.IsNullOrEmpty(provenance.AdditionalKey))
        {
            if (string.IsNullOrEmpty(provenance.Key))
                problem("Mesh:Provenance:AdditionalKey", "is set without Mesh:Provenance:Key", "Set Key too: AdditionalKey is only accepted alongside the signing key, during a key rotation.");
            else if (!MeshKeys.IsValidKey(provenance.AdditionalKey, out var additionalReason))
                problem("Mesh:Provenance:AdditionalKey", additionalReason, "Use the other key of the rotation (at least 32 characters).");
        }
        if (provenance.Untrusted.ToLowerInvariant() is not ("local" or "strict"))
            problem("Mesh:Provenance:Untrusted", $"'{provenance.Untrusted}' is not a choice", "Use \"local\" (replicate such records as local records of their source region) or \"strict\" (quarantine them).");
        if (provenance.UntrustedHeader.ToLowerInvariant() is not ("keep" or "strip"))
            problem("Mesh:Provenance:UntrustedHeader", $"'{provenance.UntrustedHeader}' is not a choice", "Use \"keep\" (carry it on as mesh.provenance.untrusted) or \"strip\".");
        if (!BadRecordActions.TryParse(options.Replication.OnBadRecord, out _))
            problem("Mesh:Replication:OnBadRecord", $"'{options.Replication.OnBadRecord}' is not a choice", "Use \"quarantine\" (default) or \"stop\".");
        for (var i = 0; i < options.TopicPolicies.Count; i++)
        {
            var policy = options.TopicPolicies[i];
            if (policy.OnBadRecord is not null && !BadRecordActions.TryParse(policy.OnBadRecord, out _))
                problem($"Mesh:TopicPolicies:{i}:OnBadRecord", $"'{policy.OnBadRecord}' is not a choice", "Use \"quarantine\" or \"stop\", or leave it out to keep the region's.");
        }
    }

    private static void ValidateInternalTopics(ReplicationTuningOptions replication, Action<string, string, string> problem)
    {
        var topics = replication.InternalTopics;
        if (topics.ReplicationFactor is 0 or < -1 or > 32)
            problem("Mesh:Replication:InternalTopics:ReplicationFactor", $"is {topics.ReplicationFactor}",
                "Use the number of replicas the mesh's own topics need (at most the region's brokers; 3 on a production cluster), or -1 for the cluster's default.");
        if (topics.MinInsyncReplicas is < 1 or > 32)
            problem("Mesh:Replication:InternalTopics:MinInsyncReplicas", $"is {topics.MinInsyncReplicas}", "Use a value from 1 to the replication factor (2 with 3 replicas), or leave it out.");
        else if (topics.MinInsyncReplicas is int minInsync && topics.ReplicationFactor > 0 && minInsync > topics.ReplicationFactor)
            problem("Mesh:Replication:InternalTopics:MinInsyncReplicas", $"is {minInsync}, more than the replication factor {topics.ReplicationFactor}",
                "Lower it (no write could ever be acknowledged), or raise Mesh:Replication:InternalTopics:ReplicationFactor.");
        if (replication.TopicConfigCheckIntervalMs is < 1000 or > 3_600_000)
            problem("Mesh:Replication:TopicConfigCheckIntervalMs", $"is {replication.TopicConfigCheckIntervalMs}", "Use a value from 1000 to 3600000 (default 60000).");
    }

    // The connection string is never quoted: it may hold a password.
    private static void ValidateAdoNet(ClusteringOptions orleans, Action<string, string, string> problem)
    {
        if (orleans.AdoNet.Invariant != "Npgsql")
            problem("Mesh:Orleans:AdoNet:Invariant", $"'{orleans.AdoNet.Invariant}' is not supported", "Use \"Npgsql\" (PostgreSQL), the default.");
        if (string.IsNullOrWhiteSpace(orleans.AdoNet.ConnectionString))
            problem("Mesh:Orleans:AdoNet:ConnectionString", "is missing",
                "Set the region's PostgreSQL database, e.g. \"Host=db;Port=5432;Database=mesh_us_east;Username=mesh\" (a password through the environment).");
        else
        {
            try
            {
                var parsed = new Npgsql.NpgsqlConnectionStringBuilder(orleans.AdoNet.ConnectionString);
                if (string.IsNullOrEmpty(parsed.Host))
                    problem("Mesh:Orleans:AdoNet:ConnectionString", "names no Host", "Add Host=<server> (or a unix socket folder).");
            }
            catch (ArgumentException e)
            {
                problem("Mesh:Orleans:AdoNet:ConnectionString", $"does not parse ({e.Message.Split('\n')[0]})", "Write it as Key=Value pairs separated by ';'.");
            }
        }
        if (!System.Net.IPAddress.TryParse(orleans.AdvertisedAddress, out _))
            problem("Mesh:Orleans:AdvertisedAddress", $"'{orleans.AdvertisedAddress}' is not an IP address", "Use this host's IP address as the other silos reach it (default 127.0.0.1).");
    }

    private static string Codecs => string.Join(", ", ProducerCompression.Codecs);

    private static void ValidatePattern(string path, string pattern, Action<string, string, string> problem)
    {
        if (!TopicFilter.IsValidPattern(pattern, out var why))
            problem(path, $"'{pattern}' is not a valid regular expression ({why})", "Fix the pattern; it must match whole topic names.");
    }

    /// <summary>
    /// The certificate and key files a cluster's TLS settings name exist here (where the silo runs) and hold what
    /// librdkafka will look for; a file librdkafka cannot read would otherwise show only as a failed connection.
    /// </summary>
    private static void ValidateTlsFiles(string path, IReadOnlyDictionary<string, string> settings, Action<string, string, string> problem)
    {
        foreach (var (key, value) in settings)
        {
            if (value.Length == 0 || Mesh.Core.Topology.SecretReference.HasReference(value)) continue;
            var setting = $"{path}:Settings:{key}";
            switch (key)
            {
                // librdkafka reads a CA directory as well as a file, and 'probe' looks for the system's CAs.
                case "ssl.ca.location" when value == "probe" || Directory.Exists(value):
                    break;
                case "ssl.ca.location" or "ssl.certificate.location":
                    if (!File.Exists(value))
                        problem(setting, $"'{value}' does not exist on this host", "Give the path of the PEM file on the host the silo runs on (mount it there).");
                    else if (!HoldsPemCertificate(value))
                        problem(setting, $"'{value}' holds no PEM certificate ('-----BEGIN CERTIFICATE-----')",
                            "Give a PEM file; convert a DER or JKS one with 'openssl x509 -inform der' or 'keytool -exportcert -rfc'.");
                    break;
                case "ssl.key.location":
                    if (!File.Exists(value))
                        problem(setting, $"'{value}' does not exist on this host", "Give the path of the PEM private key on the host the silo runs on.");
                    else if (!File.ReadAllText(value).Contains("PRIVATE KEY-----", StringComparison.Ordinal))
                        problem(setting, $"'{value}' holds no PEM private key ('-----BEGIN ... PRIVATE KEY-----')", "Give the client certificate's private key in PEM form.");
                    break;
                case "ssl.keystore.location" or "ssl.crl.location" when !File.Exists(value):
                    problem(setting, $"'{value}' does not exist on this host", "Give the path of the file on the host the silo runs on.");
                    break;
            }
        }
    }

    private static bool HoldsPemCertificate(string file)
    {
        try
        {
            var certificates = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
            certificates.ImportFromPemFile(file);
            foreach (var certificate in certificates) certificate.Dispose();
            return certificates.Count > 0;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return false;
        }
    }

    private static void ValidateCluster(string path, string region, KafkaClusterOptions cluster, Action<string, string, string> problem)
    {
        // What the topology validator checks of a region's security settings, here for the settings the silo itself was
        // given; only errors stop it (a warning such as a literal password is 'mesh topology validate''s to give).
        foreach (var finding in Mesh.Core.Topology.KafkaSecurity.Check(region, cluster.Settings).Where(f => f.IsError))
            problem(finding.Key is null ? $"{path}:Settings" : $"{path}:Settings:{finding.Key}", finding.Message,
                char.ToUpperInvariant(finding.Fix[0]) + finding.Fix[1..] + ".");
        ValidateTlsFiles(path, cluster.Settings, problem);
        if (string.IsNullOrWhiteSpace(cluster.BootstrapServers))
            problem($"{path}:BootstrapServers", "is missing", "Set the cluster's bootstrap servers, e.g. \"broker1:9092,broker2:9092\".");
        foreach (var key in cluster.Settings.Keys)
        {
            if (key == "bootstrap.servers")
                problem($"{path}:Settings:{key}", "duplicates BootstrapServers", "Remove it from Settings and use BootstrapServers.");
            if (key is "group.id" or "enable.auto.commit" or "enable.auto.offset.store" or "enable.idempotence" or "enable.gapless.guarantee"
                or "isolation.level" or "transactional.id" or "acks" or "auto.offset.reset" or "message.timeout.ms" or "delivery.timeout.ms")
                problem($"{path}:Settings:{key}", "is managed by the mesh (correctness depends on it)", "Remove it from Settings.");
        }
        if (!string.IsNullOrEmpty(cluster.EmbeddedControl) && !Uri.TryCreate(cluster.EmbeddedControl, UriKind.Absolute, out _))
            problem($"{path}:EmbeddedControl", $"'{cluster.EmbeddedControl}' is not an absolute URL", "Use the URL from the region host's 'control' file, or leave it empty for a real Kafka cluster.");
    }
}
