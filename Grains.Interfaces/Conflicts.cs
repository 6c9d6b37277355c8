using Orleans.Concurrency;

namespace Mesh.Grains;

/// <summary>
/// Last-writer-wins for one partition of one topic in one region (key: <see cref="GrainKeys.RegionPartition"/>).
/// Reads the region's partition in order, keeps the winning version of every key, answers the links
/// that write into it which records would lose (they are not written), and re-asserts the winner after
/// any record that lands older than it (a repair), so the last record per key is the winner everywhere.
/// </summary>
[Alias("mesh.IConflictGrain")]
public interface IConflictGrain : IGrainWithStringKey
{
    /// <summary>Runs the partition's conflict resolution under <paramref name="policy"/>; cheap and idempotent.</summary>
    [Alias("EnsureRunning")]
    Task EnsureRunningAsync(ConflictPolicySettings policy);

    /// <summary>
    /// For each record a link is about to write: false when the partition already holds a version of its
    /// key at least as new. Under another policy than the link's (a change on its way), everything is written.
    /// </summary>
    [AlwaysInterleave, Alias("ShouldWrite")]
    Task<bool[]> ShouldWriteAsync(ConflictPolicySettings policy, IReadOnlyList<VersionedKey> records);

    [AlwaysInterleave, Alias("GetStatus")]
    Task<ConflictStatus> GetStatusAsync();
}

/// <param name="VersionHeader">The header holding the application's 64-bit version; null: the record timestamp.</param>
[GenerateSerializer, Immutable, Alias("mesh.ConflictPolicySettings")]
public sealed record ConflictPolicySettings([property: Id(0)] string? VersionHeader);

/// <summary>A record's key and version (value, origin region and origin offset, greater wins).</summary>
[GenerateSerializer, Immutable, Alias("mesh.VersionedKey")]
public sealed record VersionedKey(
    [property: Id(0)] byte[] Key,
    [property: Id(1)] long Value,
    [property: Id(2)] string OriginRegion,
    [property: Id(3)] long OriginOffset);

/// <param name="Repaired">Repair records in the partition (the winner re-asserted after an older write), as read so far.</param>
/// <param name="BadVersions">Records whose version header was missing or not a 64-bit integer (ordered by timestamp).</param>
/// <param name="CaughtUp">The partition has been read to its end since the grain started: its answers are complete.</param>
[GenerateSerializer, Immutable, Alias("mesh.ConflictStatus")]
public sealed record ConflictStatus(
    [property: Id(0)] string Topic,
    [property: Id(1)] int Partition,
    [property: Id(2)] long Repaired,
    [property: Id(3)] long BadVersions,
    [property: Id(4)] long Keys,
    [property: Id(5)] long IndexBytes,
    [property: Id(6)] long NextOffset,
    [property: Id(7)] bool CaughtUp,
    [property: Id(8)] string? Error);

/// <summary>An lww topic's conflict counters in one region, summed over its partitions.</summary>
[GenerateSerializer, Immutable, Alias("mesh.ConflictTopicStatus")]
public sealed record ConflictTopicStatus(
    [property: Id(0)] string Topic,
    [property: Id(1)] long Repaired,
    [property: Id(2)] long BadVersions,
    [property: Id(3)] long Keys,
    [property: Id(4)] long IndexBytes,
    [property: Id(5)] string? Error);
