using Mesh.Kafka.Replication;
using Mesh.Kafka.Clients;

namespace Mesh.Silo.Options;

/// <summary>
/// One region's configuration, bound from the <c>Mesh</c> section (appsettings-style JSON and
/// <c>MESH_</c>-prefixed environment variables, e.g. <c>MESH_Mesh__Region=us-east</c>).
/// </summary>
public sealed class RegionOptions
{
    public const string Section = "Mesh";

    /// <summary>This region's id: letters, digits, '-', '_' or '.'.</summary>
    public string Region { get; set; } = "";

    /// <summary>This region's Kafka cluster.</summary>
    public KafkaClusterOptions Kafka { get; set; } = new();

    /// <summary>
    /// The topology to start from: a topology file (YAML or JSON) and where it is. The region runs the
    /// newer of this file and the version persisted in its own Kafka (<c>__mesh_topology</c>); without
    /// either it runs no link until <c>mesh topology apply</c> gives it one.
    /// </summary>
    public TopologySourceOptions Topology { get; set; } = new();

    /// <summary>
    /// Kafka connections to other regions that win over what the topology document says, by region id
    /// (for a region reached through another address from here, or whose secrets live in this silo's settings).
    /// </summary>
    public Dictionary<string, KafkaClusterOptions> Connections { get; set; } = new(StringComparer.Ordinal);

    public ReplicationTuningOptions Replication { get; set; } = new();

    /// <summary>How provenance headers are signed and what happens to headers the mesh cannot trust.</summary>
    public ProvenanceOptions Provenance { get; set; } = new();

    /// <summary>Per-topic exceptions to the region's replication settings; the first entry whose pattern matches a topic wins.</summary>
    public List<TopicPolicyOptions> TopicPolicies { get; set; } = [];

    public ClusteringOptions Orleans { get; set; } = new();

    /// <summary>The silo's Prometheus endpoint (<c>/metrics</c>); off unless a port is set.</summary>
    public MetricsOptions Metrics { get; set; } = new();
}

/// <summary>Where the silo serves its metrics (the <c>Mesh.Replication</c> meter, librdkafka statistics, Orleans) for Prometheus.</summary>
public sealed class MetricsOptions
{
    /// <summary>The HTTP port of <c>http://Host:Port/metrics</c>; 0 (default): no endpoint.</summary>
    public int Port { get; set; }

    /// <summary>
    /// The address the endpoint listens on and is scraped at: 127.0.0.1 (default), or for a deployed silo scraped from
    /// elsewhere an address of its host (on Kubernetes, the pod's IP). HttpListener takes one address per endpoint.
    /// </summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>
    /// How often each shared Kafka client reports librdkafka's statistics (<c>statistics.interval.ms</c>) while the endpoint
    /// is on; 0 (default): never. Off by default because their cost grows with the partitions a silo reads: librdkafka
    /// asks every partition's offsets and writes a document covering each, which at 10,000 partitions and 5 s took 40% of
    /// a core and a gigabyte of memory.
    /// </summary>
    public int KafkaStatisticsIntervalMs { get; set; }
}

/// <summary>
/// The mesh key signs every provenance header this region writes (HMAC-SHA256 over the header and
/// the record's key, value and timestamp) and verifies every header it reads. Every region of a mesh
/// holds the same key. Secrets: set them through the environment
/// (<c>MESH_Mesh__Provenance__Key</c>), never in a file that is shared; they are never logged.
/// </summary>
public sealed class ProvenanceOptions
{
    /// <summary>The mesh key (at least 32 characters). Empty: headers are neither signed nor verified, only checked for structure.</summary>
    public string Key { get; set; } = "";

    /// <summary>A second key accepted when verifying, never used to sign: set it on every region during a key rotation.</summary>
    public string AdditionalKey { get; set; } = "";

    /// <summary>
    /// What a header that cannot be trusted (malformed, unsigned, signed with another key, copied from
    /// another record) does to its record: <c>local</c> (default) replicates it as a record produced in
    /// the region it was read from; <c>strict</c> sends it to the quarantine.
    /// </summary>
    public string Untrusted { get; set; } = "local";

    /// <summary>
    /// What happens to such a header on a record replicated as local: <c>keep</c> (default) carries it on
    /// as <c>mesh.provenance.untrusted</c>, an application header the mesh never reads; <c>strip</c> drops it.
    /// </summary>
    public string UntrustedHeader { get; set; } = "keep";
}

/// <summary>Settings for the topics whose names match <see cref="Topics"/>; unset fields keep the region's.</summary>
public sealed class TopicPolicyOptions
{
    /// <summary>Whole-name regular expression of the topics this entry applies to.</summary>
    public string Topics { get; set; } = "";

    /// <summary><c>quarantine</c> or <c>stop</c>; see <see cref="ReplicationTuningOptions.OnBadRecord"/>.</summary>
    public string? OnBadRecord { get; set; }

    /// <summary>Compression of replicated records of these topics; see <see cref="ReplicationTuningOptions.Compression"/>.</summary>
    public string? Compression { get; set; }
}

public sealed class TopologySourceOptions
{
    /// <summary>Path of the topology file; empty: the persisted topology, or none until one is applied.</summary>
    public string File { get; set; } = "";
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
    /// How long a source partition with no record stays on the shared reader's hot lane (short fetch waits) before it moves to
    /// the cold lane (Kafka's default fetch wait), which costs a silo holding thousands of idle partitions far less. Default 30000.
    /// </summary>
    public int ColdAfterMs { get; set; } = (int)SourceReaderLanes.CoolAfter.TotalMilliseconds;

    /// <summary>
    /// Replication starts once this many of the region's silos are active (or after
    /// <see cref="StartupGraceMs"/>), so that the first replicators spread over all of them rather
    /// than all landing on the first silo up. Default 1.
    /// </summary>
    public int MinimumSilos { get; set; } = 1;

    /// <summary>Longest wait for <see cref="MinimumSilos"/> at start. Default 30 s.</summary>
    public int StartupGraceMs { get; set; } = 30_000;

    /// <summary>
    /// The longest a write into this region's Kafka takes to land or fail (the producers'
    /// message.timeout.ms). A replicator that takes a partition over from an owner that did not let go
    /// (its silo died) waits this plus about 4 s before it reads the destination back. Default 15000.
    /// </summary>
    public int WriteTimeoutMs { get; set; } = 15_000;

    /// <summary>
    /// What a record the mesh cannot take (refused by this region's Kafka, too large, or an untrusted
    /// header under <c>strict</c>) does: <c>quarantine</c> (default) writes it to <c>__mesh_quarantine</c>
    /// with the reason and replication goes on; <c>stop</c> stops the partition at that record.
    /// </summary>
    public string OnBadRecord { get; set; } = "quarantine";

    /// <summary>
    /// Compression of the records the mesh writes into this region: <c>none</c> (default: what every
    /// consumer can read), <c>gzip</c>, <c>snappy</c>, <c>lz4</c> or <c>zstd</c>.
    /// </summary>
    public string Compression { get; set; } = "none";

    /// <summary>How durable the mesh's own topics (checkpoints, topology, quarantine) must be.</summary>
    public InternalTopicOptions InternalTopics { get; set; } = new();

    /// <summary>
    /// How often each link compares the configs of the topics it replicates between its two regions
    /// (the drift <c>mesh status</c> shows). Default 60 s: describing configs is an admin request per topic.
    /// </summary>
    public int TopicConfigCheckIntervalMs { get; set; } = 60_000;
}

/// <summary>
/// Replication factor and <c>min.insync.replicas</c> of <c>__mesh_checkpoints</c>, <c>__mesh_topology</c>
/// and <c>__mesh_quarantine</c>, used when the silo creates them and checked when they exist: replication
/// does not start on a checkpoint or topology topic less durable than this (the log names the fix).
/// </summary>
public sealed class InternalTopicOptions
{
    /// <summary>Replicas per partition; -1 (default): the cluster's <c>default.replication.factor</c>, not checked.</summary>
    public int ReplicationFactor { get; set; } = -1;

    /// <summary><c>min.insync.replicas</c>; unset (default): 2 when <see cref="ReplicationFactor"/> is 3 or more, else the cluster's default, not checked.</summary>
    public int? MinInsyncReplicas { get; set; }
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

    /// <summary>
    /// The IP address this silo advertises to the others and to clients (clustering <c>adonet</c>).
    /// Default 127.0.0.1: every silo on this machine. On a network, this host's address (the silo then
    /// listens on every interface).
    /// </summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>ADO.NET membership (clustering <c>adonet</c>).</summary>
    public AdoNetClusteringOptions AdoNet { get; set; } = new();

    /// <summary>Mutual TLS on the silo and gateway ports (certificates of the mesh's CA); off only when every file is unset.</summary>
    public OrleansTlsOptions Tls { get; set; } = new();
}

/// <summary>
/// The PEM files of the silo's mutual TLS: the mesh's CA (the only one trusted), this silo's certificate (role silo, CN the
/// region) and its key, and optionally a revocation list signed by the CA. <c>mesh certs</c> and <c>mesh local up</c> write them.
/// </summary>
public sealed class OrleansTlsOptions
{
    public string? CaFile { get; set; }
    public string? CertificateFile { get; set; }
    public string? KeyFile { get; set; }
    public string? CrlFile { get; set; }

    /// <summary>How long before the certificate or the CA expires the silo starts warning (default 30 days).</summary>
    public int ExpiryWarningDays { get; set; } = 30;

    public bool Enabled => !string.IsNullOrEmpty(CaFile) || !string.IsNullOrEmpty(CertificateFile) || !string.IsNullOrEmpty(KeyFile);
}

public sealed class AdoNetClusteringOptions
{
    /// <summary>The ADO.NET provider; <c>Npgsql</c> (PostgreSQL) is the one the mesh ships and tests.</summary>
    public string Invariant { get; set; } = "Npgsql";

    /// <summary>
    /// The region's membership database, e.g. <c>Host=db;Port=5432;Database=mesh_us_east;Username=mesh</c>.
    /// Secret when it holds a password: set it through the environment
    /// (<c>MESH_Mesh__Orleans__AdoNet__ConnectionString</c>); it is never logged.
    /// </summary>
    public string ConnectionString { get; set; } = "";
}
