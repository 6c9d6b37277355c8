namespace Mesh.Grains;

[GenerateSerializer, Alias("mesh.ReplicationState")]
public enum ReplicationState
{
    /// <summary>Recovering its checkpoint or waiting for the topic to be ready.</summary>
    Starting = 0,
    /// <summary>Reading the source and writing the destination.</summary>
    Replicating = 1,
    /// <summary>Stopped by an error that needs an operator (see the error text).</summary>
    Stopped = 2,
    /// <summary>Paused by an operator (<c>mesh link pause</c>); resumes from its checkpoint.</summary>
    Paused = 3,
    /// <summary>
    /// The source's or the destination's Kafka does not answer the silo that runs the link (see the error); it
    /// resumes from its checkpoint when both answer again. Set by the region's status, not by a replicator.
    /// </summary>
    Waiting = 4,
}

/// <summary>How a region's Kafka answers a silo: every broker, some, or none within the probe's deadline.</summary>
[GenerateSerializer, Alias("mesh.KafkaState")]
public enum KafkaState
{
    Up = 0,
    Degraded = 1,
    Unreachable = 2,
}

/// <summary>
/// One region's Kafka as one silo sees it (metadata within a deadline, then the brokers its clients are connected
/// to), probed every few seconds and cached: <see cref="Since"/> is when it entered this state.
/// </summary>
[GenerateSerializer, Immutable, Alias("mesh.KafkaHealth")]
public sealed record KafkaHealth(
    [property: Id(0)] string Region,
    [property: Id(1)] KafkaState State,
    [property: Id(2)] int Brokers,
    [property: Id(3)] int BrokersUp,
    [property: Id(4)] string? Error,
    [property: Id(5)] DateTimeOffset Since,
    [property: Id(6)] DateTimeOffset CheckedAt,
    // The silo that saw it (its silo endpoint, "127.0.0.1:11111").
    [property: Id(7)] string? Silo = null);

/// <summary>One partition of one topic on one link.</summary>
[GenerateSerializer, Immutable, Alias("mesh.PartitionStatus")]
public sealed record PartitionStatus(
    [property: Id(0)] string Topic,
    [property: Id(1)] int Partition,
    [property: Id(2)] ReplicationState State,
    [property: Id(3)] long RecordsReplicated,
    [property: Id(4)] long RecordsSkipped,
    [property: Id(5)] long? LagRecords,
    [property: Id(6)] double? LatestLatencyMs,
    [property: Id(7)] DateTimeOffset? LatestReplicatedAt,
    [property: Id(8)] long NextSourceOffset,
    [property: Id(9)] string? Error,
    [property: Id(10)] long RecordsQuarantined = 0,
    [property: Id(11)] long RecordsExpiredBeforeReplication = 0,
    // When this activation began running its current assignment: unchanged by a topology change that does not touch the partition.
    [property: Id(12)] DateTimeOffset? AssignedAt = null,
    [property: Id(13)] long TopologyVersion = 0,
    [property: Id(14)] string? DestinationTopic = null,
    [property: Id(15)] long ConflictsDropped = 0,
    [property: Id(16)] long BadVersions = 0,
    // Set while the partition re-reads its source from the start into a destination that lost its data (and after, until the next restart).
    [property: Id(17)] RebuildStatus? Rebuild = null,
    // Stopped because the destination lost records: 'mesh region rebuild' refills it.
    [property: Id(18)] bool NeedsRebuild = false,
    // The silo the replicator runs on (its silo endpoint, "127.0.0.1:11111"); null when it did not answer.
    [property: Id(19)] string? Silo = null,
    // Exactly-once mode (the topology's exactly-once topics): the batches this replicator committed and aborted; null otherwise.
    [property: Id(20)] TransactionCounts? Transactions = null,
    // End-to-end latencies of the records written in the last 30-60 s, as histogram buckets (they merge across partitions).
    [property: Id(21)] IReadOnlyList<LatencyBucket>? RecentLatencies = null,
    // Provenance headers verified per mesh key id since the replicator started (in memory): a key rotation's progress.
    [property: Id(22)] IReadOnlyDictionary<string, long>? VerifiedByKey = null);

/// <summary>How many records took <see cref="Milliseconds"/> end to end (a histogram bucket's value).</summary>
[GenerateSerializer, Immutable, Alias("mesh.LatencyBucket")]
public readonly record struct LatencyBucket([property: Id(0)] long Milliseconds, [property: Id(1)] long Count);

/// <summary>An exactly-once replicator's Kafka transactions: each a batch of records with its checkpoint.</summary>
[GenerateSerializer, Immutable, Alias("mesh.TransactionCounts")]
public sealed record TransactionCounts([property: Id(0)] long Committed, [property: Id(1)] long Aborted);

/// <summary>
/// A partition refilling its destination from the start of its source: why, since when, and how far.
/// Done when <see cref="NextSourceOffset"/> reaches <see cref="UntilSourceOffset"/> (the source's end when it began).
/// </summary>
[GenerateSerializer, Immutable, Alias("mesh.RebuildStatus")]
public sealed record RebuildStatus(
    [property: Id(0)] string Reason,
    [property: Id(1)] DateTimeOffset StartedAt,
    [property: Id(2)] long FromSourceOffset,
    [property: Id(3)] long UntilSourceOffset,
    [property: Id(4)] long NextSourceOffset,
    [property: Id(5)] DateTimeOffset? CompletedAt)
{
    public long RecordsToRead => Math.Max(0, UntilSourceOffset - FromSourceOffset);

    public long RecordsRead => Math.Clamp(NextSourceOffset - FromSourceOffset, 0, RecordsToRead);
}

/// <summary>One topic on one link, summed over its partitions.</summary>
[GenerateSerializer, Immutable, Alias("mesh.TopicLinkStatus")]
public sealed record TopicLinkStatus(
    [property: Id(0)] string Topic,
    [property: Id(1)] ReplicationState State,
    [property: Id(2)] int Partitions,
    [property: Id(3)] long RecordsReplicated,
    [property: Id(4)] long? LagRecords,
    [property: Id(5)] double? LatestLatencyMs,
    [property: Id(6)] string? Error,
    [property: Id(7)] IReadOnlyList<PartitionStatus> PartitionDetail,
    [property: Id(8)] long RecordsQuarantined = 0,
    [property: Id(9)] long RecordsExpiredBeforeReplication = 0,
    [property: Id(10)] string? Policy = null,
    [property: Id(11)] long ConflictsDropped = 0,
    [property: Id(12)] long BadVersions = 0,
    [property: Id(13)] RebuildSummary? Rebuild = null,
    [property: Id(14)] IReadOnlyList<TopicConfigDrift>? ConfigDrift = null,
    // Set with State Waiting: since when the source's or destination's Kafka has not answered.
    [property: Id(15)] DateTimeOffset? WaitingSince = null,
    // Percentiles of the end-to-end latency of the records the topic's partitions wrote in the last 30-60 s (null: none written).
    [property: Id(16)] double? LatencyP50Ms = null,
    [property: Id(17)] double? LatencyP99Ms = null,
    [property: Id(18)] IReadOnlyDictionary<string, long>? VerifiedByKey = null);

/// <summary>
/// A topic config the link copies (retention, cleanup policy and the like) whose value differs between the
/// link's source topic and its target; null: not set there and not reported.
/// </summary>
[GenerateSerializer, Immutable, Alias("mesh.TopicConfigDrift")]
public sealed record TopicConfigDrift(
    [property: Id(0)] string Key,
    [property: Id(1)] string? SourceValue,
    [property: Id(2)] string? DestinationValue);

/// <summary>A topic's partitions that re-read their source into a destination that lost its data: records read of those to read.</summary>
[GenerateSerializer, Immutable, Alias("mesh.RebuildSummary")]
public sealed record RebuildSummary(
    [property: Id(0)] int Partitions,
    [property: Id(1)] int PartitionsDone,
    [property: Id(2)] long RecordsRead,
    [property: Id(3)] long RecordsToRead,
    [property: Id(4)] string Reason,
    [property: Id(5)] DateTimeOffset StartedAt,
    [property: Id(6)] DateTimeOffset? CompletedAt)
{
    public bool Done => PartitionsDone == Partitions;

    public static RebuildSummary? Of(IEnumerable<PartitionStatus> partitions)
    {
        var rebuilds = partitions.Select(p => p.Rebuild).OfType<RebuildStatus>().ToList();
        if (rebuilds.Count == 0) return null;
        var done = rebuilds.Count(r => r.CompletedAt is not null);
        return new RebuildSummary(rebuilds.Count, done, rebuilds.Sum(r => r.RecordsRead), rebuilds.Sum(r => r.RecordsToRead),
            rebuilds.Select(r => r.Reason).Distinct().Order(StringComparer.Ordinal).First(), rebuilds.Min(r => r.StartedAt),
            done == rebuilds.Count ? rebuilds.Max(r => r.CompletedAt) : null);
    }
}

/// <summary>One inbound link S -> D as seen by D's silos.</summary>
[GenerateSerializer, Immutable, Alias("mesh.LinkStatus")]
public sealed record LinkStatus(
    [property: Id(0)] string Source,
    [property: Id(1)] string Destination,
    [property: Id(2)] IReadOnlyList<TopicLinkStatus> Topics,
    [property: Id(3)] string? Error,
    [property: Id(4)] DateTimeOffset? LastDiscoveryAt);

/// <summary>Everything a region replicates into itself, and the push links it runs into other regions.</summary>
[GenerateSerializer, Immutable, Alias("mesh.RegionStatus")]
public sealed record RegionStatus(
    [property: Id(0)] string Region,
    [property: Id(1)] IReadOnlyList<LinkStatus> InboundLinks,
    [property: Id(2)] long TopologyVersion = 0,
    [property: Id(3)] string? TopologyName = null,
    [property: Id(4)] IReadOnlyList<LinkStatus>? PushLinks = null,
    [property: Id(5)] IReadOnlyList<ConflictTopicStatus>? Conflicts = null,
    // Partition replicators (pull and push links) per silo endpoint, as the replicators themselves report it.
    [property: Id(6)] IReadOnlyDictionary<string, int>? PartitionsPerSilo = null,
    // The region's own Kafka as the answering silo sees it; null from silos that do not probe it.
    [property: Id(7)] KafkaHealth? Kafka = null,
    // Every region's Kafka the answering silo talks to (its own and its links' peers).
    [property: Id(8)] IReadOnlyList<KafkaHealth>? Clusters = null,
    // The mesh key the answering silo signs with and the ids it accepts (never the keys); null in an unsigned mesh.
    [property: Id(9)] ProvenanceKeys? Keys = null);

/// <summary>Which mesh key a region signs provenance with, which it accepts, and how many records each verified (its links' replicators, since they started).</summary>
[GenerateSerializer, Immutable, Alias("mesh.ProvenanceKeys")]
public sealed record ProvenanceKeys(
    [property: Id(0)] string SigningKeyId,
    [property: Id(1)] IReadOnlyList<string> AcceptedKeyIds,
    [property: Id(2)] IReadOnlyDictionary<string, long> VerifiedByKey);
