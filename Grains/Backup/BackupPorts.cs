using Mesh.Core.Backup;
using Mesh.Core.Backup.Archiving;
using Mesh.Grains.Ports;

namespace Mesh.Grains.Backup;

// The Kafka and store side of the backup as the archiver grains see it; the silo implements them.

/// <summary>The region's own partitions, read for the backup by one shared reader per silo (apart from the replicators').</summary>
public interface IBackupFeeds
{
    /// <summary>Reads <paramref name="topic"/>/<paramref name="partition"/> from <paramref name="startOffset"/>; retention's removals arrive as gaps.</summary>
    ISourcePartitionFeed Open(string topic, int partition, long startOffset);

    Task<SourceWatermarks> GetWatermarksAsync(string topic, int partition, CancellationToken cancellationToken);
}

/// <summary>The archivers' checkpoints, in the region's checkpoint topic under <see cref="ArchiverCheckpoint.Key"/>.</summary>
public interface IBackupCheckpoints
{
    /// <summary>The latest checkpoint of the partition; null when there is none (or it cannot be decoded, which is logged).</summary>
    Task<ArchiverCheckpoint?> ReadAsync(string topic, int partition, CancellationToken cancellationToken);

    Task WriteAsync(string topic, int partition, ArchiverCheckpoint checkpoint, CancellationToken cancellationToken);
}

/// <summary>Opens backup stores by the topology's <c>store</c> spec; one store object per spec per silo.</summary>
public interface IBackupStores
{
    /// <summary>Throws <see cref="ArgumentException"/> for a spec that names no store it can open.</summary>
    IBackupStore Open(string spec);

    /// <summary>The encryption key from <paramref name="variable"/> (null: none); throws <see cref="ArgumentException"/> naming the variable.</summary>
    SegmentKey? Key(string? variable);
}

/// <summary>Consumer groups' committed offsets in the region's own Kafka.</summary>
public interface IGroupPositions
{
    /// <summary>
    /// For each group <paramref name="groups"/> names (exact names; expressions where the cluster can list its
    /// groups), its committed offset in the partition; groups without one are left out.
    /// </summary>
    Task<IReadOnlyDictionary<string, long>> CommittedAsync(IReadOnlyList<string> groups, string topic, int partition, CancellationToken cancellationToken);
}
