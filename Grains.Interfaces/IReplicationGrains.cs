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

    /// <summary>
    /// Re-reads the source from its start into the whole destination (what is there already is not written
    /// again), when the partition stopped because its destination lost records, or always with
    /// <paramref name="force"/>. False when it runs no assignment or is healthy and not forced: nothing changed.
    /// </summary>
    [Alias("Rebuild")]
    Task<bool> RebuildAsync(string reason, bool force);

    [AlwaysInterleave, Alias("GetStatus"), ClientAccess(ClientAccessLevel.Read)]
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

    /// <summary>Rebuilds the link's partitions (of one topic, or all) that need it, or all with <paramref name="force"/>; returns how many began.</summary>
    [Alias("Rebuild")]
    Task<int> RebuildAsync(string? topic, string reason, bool force);

    /// <summary>A replicator of <paramref name="topic"/> is fenced by another owner or stepped aside for one: ping the topic's replicators again at the next round.</summary>
    [OneWay, Alias("PingAgain")]
    Task PingAgainAsync(string topic);

    [AlwaysInterleave, Alias("GetStatus"), ClientAccess(ClientAccessLevel.Read)]
    Task<LinkStatus> GetStatusAsync();
}

/// <summary>A region's view of everything it replicates into itself (key: region id).</summary>
[Alias("mesh.IRegionGrain")]
public interface IRegionGrain : IGrainWithStringKey
{
    [AlwaysInterleave, Alias("GetStatus"), ClientAccess(ClientAccessLevel.Read)]
    Task<RegionStatus> GetStatusAsync();
}

/// <summary>
/// Which link into a region writes back, for one partition, the records the region originated in an
/// earlier incarnation (key: <see cref="GrainKeys.RegionPartition"/> of the destination).
/// </summary>
[Alias("mesh.IOwnPastGrain")]
public interface IOwnPastGrain : IGrainWithStringKey
{
    /// <summary>
    /// The source, of <paramref name="candidates"/>, that holds the most of the destination's records from
    /// before <paramref name="destinationIncarnation"/>; the same answer to every asker while the grain lives.
    /// </summary>
    [Alias("Carrier")]
    Task<string?> CarrierAsync(IReadOnlyList<string> candidates, string destinationIncarnation);
}
