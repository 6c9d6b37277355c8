using System.Collections.Concurrent;

namespace Mesh.Kafka.Clients;

/// <summary>How to reach one region's Kafka cluster.</summary>
public class KafkaClusterOptions
{
    /// <summary>librdkafka <c>bootstrap.servers</c>.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>
    /// Base URL of the embedded region host's control surface. Set only for the local embedded
    /// Kafka, which has no CreateTopics; real clusters leave it empty and topics are created with
    /// the Kafka admin API.
    /// </summary>
    public string? EmbeddedControl { get; set; }

    /// <summary>Any librdkafka client settings (security.protocol, sasl.*, ssl.*), passed through unchanged.</summary>
    public Dictionary<string, string> Settings { get; set; } = [];

    /// <summary>Client configuration: our defaults, then the operator's settings, then what correctness requires.</summary>
    public Dictionary<string, string> BuildConfig(IReadOnlyDictionary<string, string> defaults, IReadOnlyDictionary<string, string> required)
    {
        var config = new Dictionary<string, string>(defaults, StringComparer.Ordinal);
        foreach (var (key, value) in Settings) config[key] = value;
        config["bootstrap.servers"] = BootstrapServers;
        foreach (var (key, value) in required) config[key] = value;
        return config;
    }
}

/// <summary>
/// Every cluster this silo talks to: its own region's (from its settings) and its peers' (from the
/// applied topology, or the silo's Mesh:Connections). Peers come and go with topology versions.
/// </summary>
public sealed class KafkaRegionsOptions
{
    public string LocalRegion { get; set; } = "";

    /// <summary>The writers' message.timeout.ms (<c>Mesh:Replication:WriteTimeoutMs</c>): every record lands or fails within it.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long an idle source partition stays on the shared readers' hot lane (<c>Mesh:Replication:ColdAfterMs</c>).</summary>
    public TimeSpan ColdAfter { get; set; } = Replication.SourceReaderLanes.CoolAfter;

    public ConcurrentDictionary<string, KafkaClusterOptions> Clusters { get; } = new(StringComparer.Ordinal);

    /// <summary>Where the shared clients (writers, readers) report librdkafka's statistics; null (default): they do not.</summary>
    public KafkaClientStatistics? Statistics { get; set; }

    public KafkaClusterOptions Cluster(string region) =>
        Clusters.TryGetValue(region, out var cluster)
            ? cluster
            : throw new InvalidOperationException($"No Kafka connection is known for region '{region}': the applied topology gives it no " +
                "'kafka: bootstrap.servers' and this silo has no Mesh:Connections entry for it.");

    public KafkaClusterOptions Local => Cluster(LocalRegion);
}
