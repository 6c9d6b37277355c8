using Orleans.Concurrency;

namespace Mesh.Grains;

/// <summary>
/// Owns the replication of one partition of one topic on one link (key: <see cref="GrainKeys.Partition"/>).
/// Runs in the destination region's silos (pull model).
/// </summary>
[Alias("mesh.IPartitionReplicatorGrain")]
public interface IPartitionReplicatorGrain : IGrainWithStringKey
{
    /// <summary>Activates the replicator if it is not running; cheap and idempotent.</summary>
    [Alias("EnsureRunning")]
    Task EnsureRunningAsync();

    [AlwaysInterleave, Alias("GetStatus")]
    Task<PartitionStatus> GetStatusAsync();
}

/// <summary>
/// One inbound link S -> D (key: <see cref="GrainKeys.Link"/>): finds the topics to replicate,
/// creates missing target topics, checks partition counts and keeps a replicator per partition running.
/// </summary>
[Alias("mesh.ILinkGrain")]
public interface ILinkGrain : IGrainWithStringKey
{
    [Alias("EnsureRunning")]
    Task EnsureRunningAsync();

    [AlwaysInterleave, Alias("GetStatus")]
    Task<LinkStatus> GetStatusAsync();
}

/// <summary>A region's view of everything it replicates into itself (key: region id).</summary>
[Alias("mesh.IRegionGrain")]
public interface IRegionGrain : IGrainWithStringKey
{
    [AlwaysInterleave, Alias("GetStatus")]
    Task<RegionStatus> GetStatusAsync();
}
