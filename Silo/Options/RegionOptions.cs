using Mesh.Kafka.Clients;

namespace Mesh.Silo.Options;

/// <summary>
/// One region's configuration, bound from the <c>Mesh</c> section (appsettings-style JSON and
/// <c>MESH_</c>-prefixed environment variables, e.g. <c>MESH_Mesh__Region=us-east</c>).
/// </summary>
public sealed class RegionOptions
{
    public const string Section = "Mesh";

    /// <summary>This region's id: lower-case letters, digits, '-', '_' or '.'.</summary>
    public string Region { get; set; } = "";

    /// <summary>This region's Kafka cluster.</summary>
    public KafkaClusterOptions Kafka { get; set; } = new();

    /// <summary>The regions this region pulls from, by region id, each with its Kafka connection.</summary>
    public Dictionary<string, PeerOptions> Peers { get; set; } = new(StringComparer.Ordinal);

    public TopicSelectionOptions Topics { get; set; } = new();

    public ReplicationTuningOptions Replication { get; set; } = new();

    public ClusteringOptions Orleans { get; set; } = new();
}

/// <summary>A region this region pulls from: its Kafka, and what the topology says the link carries.</summary>
public sealed class PeerOptions : KafkaClusterOptions
{
    /// <summary>
    /// The origin regions whose records this link carries (the topology's forwarding table). Empty:
    /// only the peer's own records, which is right for a full mesh.
    /// </summary>
    public List<string> Origins { get; set; } = [];

    /// <summary>This link's topic selection; unset: the region's <c>Mesh:Topics</c>.</summary>
    public TopicSelectionOptions? Topics { get; set; }
}

public sealed class TopicSelectionOptions
{
    /// <summary>Whole-name regular expressions; a topic is replicated if any matches. Empty: all topics.</summary>
    public List<string> Include { get; set; } = [];

    /// <summary>Whole-name regular expressions of topics never to replicate.</summary>
    public List<string> Exclude { get; set; } = [];
}

public sealed class ReplicationTuningOptions
{
    /// <summary>Most records written per partition per batch. Default 1000.</summary>
    public int MaxBatchRecords { get; set; } = 1000;

    /// <summary>How often a flowing partition writes its checkpoint. Default 1000 ms.</summary>
    public int CheckpointIntervalMs { get; set; } = 1000;

    /// <summary>How often each link looks for new source topics. Default 5 s.</summary>
    public int DiscoveryIntervalMs { get; set; } = 5000;

    /// <summary>
    /// Replication starts once this many of the region's silos are active (or after
    /// <see cref="StartupGraceMs"/>), so that the first replicators spread over all of them rather
    /// than all landing on the first silo up. Default 1.
    /// </summary>
    public int MinimumSilos { get; set; } = 1;

    /// <summary>Longest wait for <see cref="MinimumSilos"/> at start. Default 30 s.</summary>
    public int StartupGraceMs { get; set; } = 30_000;
}

/// <summary>Each region is its own Orleans cluster.</summary>
public sealed class ClusteringOptions
{
    /// <summary><c>localhost</c> (the embedded default: silos on this machine) or <c>adonet</c> (PostgreSQL membership).</summary>
    public string Clustering { get; set; } = "localhost";

    /// <summary>Orleans cluster id; defaults to <c>mesh-&lt;region&gt;</c>.</summary>
    public string? ClusterId { get; set; }

    public string ServiceId { get; set; } = "mesh";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    /// <summary>For a second or later localhost silo of the same region: the first silo's silo port.</summary>
    public int? PrimarySiloPort { get; set; }

    /// <summary>ADO.NET membership (clustering <c>adonet</c>).</summary>
    public AdoNetClusteringOptions AdoNet { get; set; } = new();
}

public sealed class AdoNetClusteringOptions
{
    public string Invariant { get; set; } = "Npgsql";

    public string ConnectionString { get; set; } = "";
}
