using Orleans.Concurrency;

namespace Mesh.Grains;

/// <summary>
/// Owns the replication of one partition of one topic on one link (key: <see cref="GrainKeys.Partition"/>).
/// Runs in the destination region's silos (pull model).
/// </summary>
[Alias("mesh.IPartitionReplicatorGrain")]
public interface IPartitionReplicatorGrain : IGrainWithStringKey
{
    /// <summary>
    /// Runs the replicator on <paramref name="assignment"/>; cheap and idempotent. A different
    /// assignment (origins, topic, paused) checkpoints, stops and recovers on the new one; returns
    /// true in that case (a restart), false when it started fresh or nothing changed.
    /// </summary>
    [Alias("EnsureRunning")]
    Task<bool> EnsureRunningAsync(PartitionAssignment assignment);

    /// <summary>Checkpoints and stops (its link no longer carries the partition); returns once nothing more is written.</summary>
    [Alias("Stop")]
    Task StopAsync();

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
    /// <summary>Runs the link on <paramref name="assignment"/>; returns how many partition replicators it restarted or stopped.</summary>
    [Alias("Apply")]
    Task<int> ApplyAsync(LinkAssignment assignment);

    /// <summary>Stops every replicator of the link (removed from the topology) and returns how many it stopped.</summary>
    [Alias("Stop")]
    Task<int> StopAsync();

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
