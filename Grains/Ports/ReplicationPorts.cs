using Mesh.Core.Replication;

namespace Mesh.Grains.Ports;

// The Kafka side of replication as the grains see it. The silo implements these with one set of
// Kafka clients per silo per cluster; grains never hold a consumer or producer of their own.

/// <summary>Shared readers of the peer regions' clusters.</summary>
public interface ISourceFeeds
{
    /// <summary>
    /// Starts reading <paramref name="topic"/>/<paramref name="partition"/> of <paramref name="sourceRegion"/> at
    /// <paramref name="startOffset"/>, or where the source's log starts when it is negative. An offset the
    /// source no longer has is reported through <see cref="ISourcePartitionFeed.Error"/>, never skipped.
    /// </summary>
    ISourcePartitionFeed Open(string sourceRegion, string topic, int partition, long startOffset);
}

/// <summary>One partition's records, buffered by the shared reader. Dispose stops reading it.</summary>
public interface ISourcePartitionFeed : IDisposable
{
    /// <summary>Waits until records are buffered, or <paramref name="maxWait"/> passes; true when there are records.</summary>
    ValueTask<bool> WaitForRecordsAsync(TimeSpan maxWait, CancellationToken cancellationToken);

    /// <summary>Moves up to <paramref name="max"/> buffered records, in offset order, into <paramref name="into"/>.</summary>
    int Drain(List<SourceRecord> into, int max);

    /// <summary>The source partition's high watermark as last seen by the reader, if known.</summary>
    long? HighWatermark { get; }

    /// <summary>A permanent error the reader hit on this partition (topic deleted, authorization), if any.</summary>
    string? Error { get; }
}

/// <summary>The local (destination) region's partitions.</summary>
public interface IDestinationLog
{
    /// <summary>The partition's high watermark: the offset the next record written gets.</summary>
    Task<long> GetEndOffsetAsync(string topic, int partition, CancellationToken cancellationToken);

    /// <summary>Calls <paramref name="onRecord"/> for each record in [from, to) that carries provenance.</summary>
    Task ScanProvenanceAsync(string topic, int partition, long fromOffset, long toOffset,
        Action<Provenance, long> onRecord, CancellationToken cancellationToken);

    /// <summary>Writes records in order to one partition; returns the last written offset + 1.</summary>
    Task<long> WriteAsync(string topic, int partition, IReadOnlyList<OutboundRecord> records, CancellationToken cancellationToken);
}

/// <summary>Checkpoints, kept in the destination region's own Kafka.</summary>
public interface ICheckpointStore
{
    /// <summary>The latest checkpoint written under <paramref name="key"/> by any silo of this region.</summary>
    Task<ReplicationCheckpoint?> ReadAsync(string key, CancellationToken cancellationToken);

    Task WriteAsync(string key, ReplicationCheckpoint checkpoint, CancellationToken cancellationToken);
}

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
}

/// <summary>A Kafka failure the replicator cannot retry its way out of (authorization, topic gone, record too large).</summary>
public sealed class ReplicationFailedException(string message, Exception? inner = null) : Exception(message, inner);
