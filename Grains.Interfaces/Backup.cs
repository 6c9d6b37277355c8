using Orleans.Concurrency;

namespace Mesh.Grains;

/// <summary>
/// What a region's silos back up, from the topology's <c>backup:</c> section: every field as the section
/// gives it, defaults applied, and the topics the mesh replicates (used when the section names none).
/// </summary>
[GenerateSerializer, Immutable, Alias("mesh.BackupAssignment")]
public sealed record BackupAssignment(
    [property: Id(0)] long TopologyVersion,
    [property: Id(1)] string Store,
    [property: Id(2)] IReadOnlyList<string>? Topics,
    [property: Id(3)] IReadOnlyList<string> ReplicatedInclude,
    [property: Id(4)] IReadOnlyList<string> ReplicatedExclude,
    [property: Id(5)] IReadOnlyList<string> Groups,
    [property: Id(6)] long SegmentBytes,
    [property: Id(7)] long SegmentSeconds,
    [property: Id(8)] long TakeOverSeconds,
    [property: Id(9)] long GroupIntervalSeconds,
    [property: Id(10)] string? EncryptionKeyEnv,
    [property: Id(11)] bool PrefixNaming,
    // Prefix naming's separator when it is not '.'; null: '.'.
    [property: Id(12)] string? Separator = null)
{
    /// <summary>Same backup apart from the topology version.</summary>
    public bool SameAs(BackupAssignment other) =>
        Store == other.Store && SameList(Topics, other.Topics) && SameList(ReplicatedInclude, other.ReplicatedInclude)
        && SameList(ReplicatedExclude, other.ReplicatedExclude) && SameList(Groups, other.Groups) && SegmentBytes == other.SegmentBytes
        && SegmentSeconds == other.SegmentSeconds && TakeOverSeconds == other.TakeOverSeconds && GroupIntervalSeconds == other.GroupIntervalSeconds
        && EncryptionKeyEnv == other.EncryptionKeyEnv && PrefixNaming == other.PrefixNaming && Separator == other.Separator;

    private static bool SameList(IReadOnlyList<string>? a, IReadOnlyList<string>? b) =>
        a is null ? b is null : b is not null && a.SequenceEqual(b, StringComparer.Ordinal);
}

/// <summary>
/// A region's continuous backup (key: region id): finds the region's topics the backup covers and keeps a
/// partition archiver running per partition. The topology grain gives it the backup section of each version.
/// </summary>
[Alias("mesh.IBackupGrain")]
public interface IBackupGrain : IGrainWithStringKey
{
    /// <summary>Runs the backup on <paramref name="assignment"/>, or stops it when null; cheap and idempotent.</summary>
    [Alias("Apply")]
    Task ApplyAsync(BackupAssignment? assignment);

    [AlwaysInterleave, Alias("GetStatus"), ClientAccess(ClientAccessLevel.Read)]
    Task<BackupStatus> GetStatusAsync();
}

/// <summary>
/// The backup of one partition of one topic of one region (key: <see cref="GrainKeys.RegionPartition"/>): reads
/// the region's partition and writes its origin streams' segments (<c>Mesh.Core.Backup.Archiving.PartitionArchiver</c>).
/// </summary>
[Alias("mesh.IPartitionArchiverGrain")]
public interface IPartitionArchiverGrain : IGrainWithStringKey
{
    /// <summary>Runs on <paramref name="assignment"/>; a different one flushes, stops and starts again on it.</summary>
    [Alias("EnsureRunning")]
    Task EnsureRunningAsync(BackupAssignment assignment);

    /// <summary>Flushes what it holds, checkpoints and stops (the topic is no longer backed up).</summary>
    [Alias("Stop")]
    Task StopAsync();

    [AlwaysInterleave, Alias("GetStatus"), ClientAccess(ClientAccessLevel.Read)]
    Task<ArchiverStatus> GetStatusAsync();
}

/// <summary>One partition's backup as its archiver reports it.</summary>
/// <param name="LagRecords">The partition's end minus the archiver's read position; null when not known.</param>
/// <param name="Watched">Other origins' streams it watches; <paramref name="TakenOver"/>: those it writes because their own backup stopped.</param>
[GenerateSerializer, Immutable, Alias("mesh.ArchiverStatus")]
public sealed record ArchiverStatus(
    [property: Id(0)] string Topic,
    [property: Id(1)] int Partition,
    [property: Id(2)] bool Running,
    [property: Id(3)] long Position,
    [property: Id(4)] long? LagRecords,
    [property: Id(5)] long RecordsWritten,
    [property: Id(6)] long BytesWritten,
    [property: Id(7)] long SegmentsWritten,
    [property: Id(8)] long RacesLost,
    [property: Id(9)] long TakeOvers,
    [property: Id(10)] long GapRecords,
    [property: Id(11)] int Buffered,
    [property: Id(12)] int Watched,
    [property: Id(13)] int TakenOver,
    [property: Id(14)] string? Error);

/// <summary>A region's backup: its store and each partition archiver's status.</summary>
[GenerateSerializer, Immutable, Alias("mesh.BackupStatus")]
public sealed record BackupStatus(
    [property: Id(0)] string Region,
    [property: Id(1)] string? Store,
    [property: Id(2)] long TopologyVersion,
    [property: Id(3)] IReadOnlyList<ArchiverStatus> Partitions,
    [property: Id(4)] string? Error);
