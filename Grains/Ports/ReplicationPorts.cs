using Mesh.Core.Replication;

namespace Mesh.Grains.Ports;

// The Kafka side of replication as the grains see it. The silo implements these with one set of
// Kafka clients per silo per cluster; grains never hold a consumer or producer of their own.

/// <summary>Shared readers of the peer regions' clusters.</summary>
public interface ISourceFeeds
{
    /// <summary>
    /// Starts reading <paramref name="topic"/>/<paramref name="partition"/> of <paramref name="sourceRegion"/> at
    /// <paramref name="startOffset"/>. Records the source dropped before they were read (retention) arrive
    /// as a <see cref="SourceGap"/> in their place, never skipped in silence; a source that has fewer
    /// records than <paramref name="startOffset"/> (it lost its data) is reported through
    /// <see cref="ISourcePartitionFeed.Error"/>.
    /// </summary>
    ISourcePartitionFeed Open(string sourceRegion, string topic, int partition, long startOffset);

    /// <summary>The record at <paramref name="offset"/> of a source partition, or null when the source no longer holds it.</summary>
    Task<SourceRecord?> ReadOneAsync(string sourceRegion, string topic, int partition, long offset, CancellationToken cancellationToken);

    /// <summary>The source partition's log start and end offsets now.</summary>
    Task<SourceWatermarks> GetWatermarksAsync(string sourceRegion, string topic, int partition, CancellationToken cancellationToken);
}

/// <summary>A partition's first offset still held and the offset its next record gets.</summary>
public readonly record struct SourceWatermarks(long Low, long High);

/// <summary>Source offsets [<see cref="From"/>, <see cref="To"/>) the source dropped before they were read.</summary>
public readonly record struct SourceGap(long From, long To)
{
    public long Count => To - From;
}

/// <summary>One partition's records, buffered by the shared reader. Dispose stops reading it.</summary>
public interface ISourcePartitionFeed : IDisposable
{
    /// <summary>Waits until records are buffered, or <paramref name="maxWait"/> passes; true when there are records.</summary>
    ValueTask<bool> WaitForRecordsAsync(TimeSpan maxWait, CancellationToken cancellationToken);

    /// <summary>
    /// Calls <paramref name="wake"/> once, on whatever thread finds it, as soon as there is something to drain or to
    /// report (records, a gap, an error, a log that ended): at once when there already is. A later call replaces an
    /// earlier one, and disposing the feed drops it. This is how an idle reader of thousands of partitions costs
    /// nothing: the partition's worker sleeps until its feed calls, instead of asking again and again.
    /// </summary>
    void WakeWhenReady(Action wake);

    /// <summary>
    /// Moves up to <paramref name="max"/> buffered records, in offset order, into <paramref name="into"/>.
    /// Stops at a gap: when one follows the drained records, it is returned in <paramref name="gap"/>.
    /// </summary>
    int Drain(List<SourceRecord> into, int max, out SourceGap? gap);

    /// <summary>The source partition's high watermark as last seen by the reader, if known.</summary>
    long? HighWatermark { get; }

    /// <summary>
    /// Where the reader is in the partition: past every record it has buffered and past what it never
    /// delivers (transaction markers, aborted records), so a partition that ends in those still reads as
    /// read to its end. Null when unknown.
    /// </summary>
    long? Position { get; }

    /// <summary>
    /// Set when the source's log ended before the next offset to read (its Kafka came back empty, or
    /// the topic was re-created): the end it had then. The replicator recovers and decides from there.
    /// </summary>
    long? LogEndedBefore { get; }

    /// <summary>A failure of the reader itself (an assignment that did not take); the replicator recovers.</summary>
    string? Failure { get; }

    /// <summary>A permanent error the reader hit on this partition (topic deleted, authorization), if any.</summary>
    string? Error { get; }
}

/// <summary>
/// The destination logs this silo writes: its own region's, and for push links the destination
/// region's (the source's silos write into it).
/// </summary>
public interface IDestinationLogs
{
    IDestinationLog For(string region);

    /// <summary>
    /// <paramref name="region"/>'s partitions read with <c>isolation.level=read_committed</c>, for partitions written in
    /// transactions (exactly-once mode): a read-back then folds only what was committed. The default reads everything.
    /// </summary>
    IDestinationLog Committed(string region) => For(region);
}

/// <summary>Transactional writers for the replicators of exactly-once topics.</summary>
public interface IDestinationTransactions
{
    /// <summary>
    /// A writer with its own Kafka producer and <paramref name="transactionalId"/> into <paramref name="region"/>'s Kafka,
    /// which must also hold the checkpoints it commits (the region's own: one transaction spans one cluster).
    /// </summary>
    ITransactionalDestination Open(string region, string topic, string transactionalId);
}

/// <summary>
/// One replicator activation's transactional producer. A batch is <see cref="BeginAsync"/>, <see cref="WriteAsync"/>, then
/// <see cref="CommitAsync"/> with the checkpoint that describes it, or <see cref="AbortAsync"/>: the records and the
/// checkpoint become visible to read_committed readers together, or not at all.
/// </summary>
public interface ITransactionalDestination : IDisposable
{
    /// <summary>Registers the transactional id; on Apache Kafka this fences an earlier producer of the id and aborts what it left open.</summary>
    Task InitAsync(CancellationToken cancellationToken);

    Task BeginAsync(CancellationToken cancellationToken);

    /// <summary>Writes records in order to one partition inside the open transaction; returns the last written offset + 1.</summary>
    Task<long> WriteAsync(string topic, int partition, IReadOnlyList<OutboundRecord> records, CancellationToken cancellationToken);

    /// <summary>Adds the checkpoint under <paramref name="checkpointKey"/> to the transaction and commits it.</summary>
    Task CommitAsync(string checkpointKey, ReplicationCheckpoint checkpoint, CancellationToken cancellationToken);

    /// <summary>Aborts the open transaction, if any; never throws (a producer that cannot abort is replaced by the next activation).</summary>
    Task AbortAsync(CancellationToken cancellationToken);

    long Committed { get; }

    long Aborted { get; }
}

/// <summary>One destination region's partitions.</summary>
public interface IDestinationLog
{
    /// <summary>The partition's high watermark: the offset the next record written gets.</summary>
    Task<long> GetEndOffsetAsync(string topic, int partition, CancellationToken cancellationToken);

    /// <summary>The partition's first offset still held and its high watermark.</summary>
    Task<SourceWatermarks> GetWatermarksAsync(string topic, int partition, CancellationToken cancellationToken);

    /// <summary>Calls <paramref name="onRecord"/> for each record in [from, to), in offset order (read back for recovery).</summary>
    Task ScanAsync(string topic, int partition, long fromOffset, long toOffset,
        Action<SourceRecord> onRecord, CancellationToken cancellationToken);

    /// <summary>
    /// Writes records in order to one partition; returns the last written offset + 1. A record the
    /// destination refuses for what it is (too large, invalid) ends the write with a
    /// <see cref="RecordRejectedException"/> once every record before it has settled.
    /// </summary>
    Task<long> WriteAsync(string topic, int partition, IReadOnlyList<OutboundRecord> records, CancellationToken cancellationToken);
}

/// <summary>
/// The destination refused a write at one record for what it is (too large, invalid). Every record
/// before it (<see cref="Index"/>) was written; none after it was.
/// </summary>
public sealed class RecordRejectedException(int index, long endOffset, string reason, bool exact)
    : Exception($"record {index} of the write was refused: {reason}")
{
    /// <summary>
    /// True when the refusal is known to be this record's own (it was refused alone, or before it was
    /// sent); false when a broker refused the batch it travelled in, which may be another record's fault.
    /// </summary>
    public bool Exact { get; } = exact;

    /// <summary>Position of the refused record in the write.</summary>
    public int Index { get; } = index;

    /// <summary>The destination's end after the records before it (last written offset + 1), or -1 if none was written.</summary>
    public long EndOffset { get; } = endOffset;

    public string Reason { get; } = reason;
}

/// <summary>
/// Records of a write failed while later records of the same write were written (librdkafka's gapless
/// guarantee does not cover timeouts). The records at <see cref="Failed"/> are not in the destination;
/// the others are, up to <see cref="EndOffset"/>.
/// </summary>
public sealed class WriteHoleException(IReadOnlyList<int> failed, long endOffset, string reason)
    : Exception($"{failed.Count} records of a write failed while later ones were written: {reason}")
{
    public IReadOnlyList<int> Failed { get; } = failed;

    public long EndOffset { get; } = endOffset;

    public string Reason { get; } = reason;
}

/// <summary>The region's quarantine topic (<c>__mesh_quarantine</c>) in its own Kafka.</summary>
public interface IQuarantineStore
{
    /// <summary>Writes one record to the quarantine; durable when the task completes.</summary>
    Task WriteAsync(QuarantineEntry entry, CancellationToken cancellationToken);

    /// <summary>Everything in the quarantine topic, oldest first, with replay markers applied.</summary>
    Task<IReadOnlyList<StoredQuarantineEntry>> ReadAllAsync(CancellationToken cancellationToken);

    /// <summary>Appends a marker saying the record at <paramref name="quarantineOffset"/> was re-sent.</summary>
    Task MarkReplayedAsync(long quarantineOffset, long writtenOffset, CancellationToken cancellationToken);
}

/// <summary>A quarantine entry as read back, with its place in the quarantine topic and whether it was replayed.</summary>
public sealed record StoredQuarantineEntry(long QuarantineOffset, QuarantineEntry Entry, DateTimeOffset? ReplayedAt);

/// <summary>Who each region is: an incarnation token per region's Kafka cluster.</summary>
public interface IRegionIdentity
{
    /// <summary>
    /// <paramref name="region"/>'s current incarnation (derived from its Kafka cluster's id): a region
    /// whose Kafka comes back empty is a new cluster and so a new incarnation, whose offsets never
    /// collide with the old one's.
    /// </summary>
    /// <param name="fresh">Ask the cluster now rather than answer from the last few seconds' lookup.</param>
    Task<string> IncarnationAsync(string region, CancellationToken cancellationToken, bool fresh = false);

    /// <summary>
    /// Calls <paramref name="wake"/> once, from another thread, when <paramref name="region"/>'s incarnation is seen to be
    /// other than <paramref name="incarnation"/> (looked at every few seconds for every sleeper together); a later call with
    /// the same <paramref name="wake"/> replaces the earlier.
    /// </summary>
    void WakeOnChange(string region, string incarnation, Action wake);

    /// <summary>Forgets <paramref name="wake"/> (its sleeper went away).</summary>
    void StopWaking(string region, Action wake);
}

/// <summary>Checkpoints, kept in the destination region's own Kafka.</summary>
public interface ICheckpointStore
{
    /// <summary>The latest checkpoint written under <paramref name="key"/> by any silo of this region.</summary>
    Task<ReplicationCheckpoint?> ReadAsync(string key, CancellationToken cancellationToken);

    Task WriteAsync(string key, ReplicationCheckpoint checkpoint, CancellationToken cancellationToken);

    /// <summary>
    /// Appends a claim on <paramref name="key"/> (<see cref="Fencing"/>) and returns it once this silo's tail
    /// has read it: its epoch (the offset it got) and what held the key before it. The claim may already be
    /// superseded (<see cref="OwnerAsync"/> tells).
    /// </summary>
    Task<Claim> ClaimAsync(string key, string holder, CancellationToken cancellationToken);

    /// <summary>Appends a release of the claim <paramref name="epoch"/> on <paramref name="key"/>: its holder wrote its last.</summary>
    Task ReleaseAsync(string key, long epoch, string holder, CancellationToken cancellationToken);

    /// <summary>
    /// The latest claim on <paramref name="key"/> this silo's tail has read, and how long ago the tail last had
    /// read everything the topic held (its age). Waits up to <paramref name="maxWait"/> for an age within
    /// <paramref name="freshness"/>, and answers with what it has then.
    /// </summary>
    Task<ClaimView> OwnerAsync(string key, TimeSpan freshness, TimeSpan maxWait, CancellationToken cancellationToken);
}

/// <summary>The latest claim on a replicator (null: none read) and the age of the tail that read it.</summary>
public readonly record struct ClaimView(Claim? Latest, TimeSpan TailAge);

/// <summary>Topic metadata of the local region and its peers.</summary>
public interface ITopicCatalog
{
    /// <summary>Every topic of <paramref name="region"/> with its partition count.</summary>
    Task<IReadOnlyDictionary<string, int>> ListTopicsAsync(string region, CancellationToken cancellationToken);

    /// <summary>
    /// Creates <paramref name="topic"/> in <paramref name="region"/> with the given topic configs (null: the
    /// cluster's defaults); succeeds if it exists with that partition count.
    /// </summary>
    Task CreateTopicAsync(string region, string topic, int partitions, IReadOnlyDictionary<string, string>? configs, CancellationToken cancellationToken);

    /// <summary>
    /// The topic configs of <paramref name="topic"/> in <paramref name="region"/> (as the cluster reports them,
    /// defaults included where it reports those); null when the topic does not exist. Throws when they cannot
    /// be read (no permission to describe configs, cluster unreachable).
    /// </summary>
    Task<IReadOnlyDictionary<string, string>?> GetTopicConfigsAsync(string region, string topic, CancellationToken cancellationToken);
}

/// <summary>Whether this silo may start placing replicators (the region's expected silos are up, or the grace passed).</summary>
public interface IReplicationReadiness
{
    bool IsReady { get; }

    /// <summary>Changes whenever a silo joins or leaves the region's cluster: the replicators of a silo that left must start again elsewhere.</summary>
    long MembershipVersion { get; }
}

/// <summary>A Kafka failure the replicator cannot retry its way out of (authorization, topic gone, record too large).</summary>
public sealed class ReplicationFailedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Reading a partition from its end towards its start, for the latest records of something.</summary>
public static class DestinationLogScans
{
    private const long Chunk = 5_000;

    /// <summary>
    /// Calls <paramref name="onRecord"/> for the records below <paramref name="below"/> (null: the log's end), a chunk at
    /// a time from the end (each chunk in offset order), until <paramref name="done"/> says so or the log's start is read.
    /// </summary>
    public static async Task ScanBackwardsAsync(this IDestinationLog log, string topic, int partition, long? below,
        Action<SourceRecord> onRecord, Func<bool> done, CancellationToken cancellationToken)
    {
        var (low, high) = await log.GetWatermarksAsync(topic, partition, cancellationToken);
        for (var to = below ?? high; to > low && !done(); to -= Chunk)
            await log.ScanAsync(topic, partition, Math.Max(low, to - Chunk), to, onRecord, cancellationToken);
    }
}
