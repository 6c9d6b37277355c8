using Confluent.Kafka;
using Mesh.Core.Topology;
using Mesh.Grains.Ports;
using Mesh.Kafka.Replication;

namespace Mesh.Client.Audit;

/// <summary>What one region keeps in its <c>__mesh_topology</c>: a topology, none (null), or why it could not be read.</summary>
public sealed record RegionTopology(string Region, StoredTopology? Stored, string? Error = null);

/// <summary>
/// The topology the regions run, read from each region's own <c>__mesh_topology</c> (the record the
/// silos write when they apply or adopt a version), so that an audit without a topology file still
/// knows routes and conflict policies.
/// </summary>
public static class RegionTopologies
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    /// <summary>Reads every region at once; a region that cannot be read is reported, not thrown (the audit itself says it is unreachable).</summary>
    public static IReadOnlyList<RegionTopology> Read(IReadOnlyList<AuditRegion> regions) =>
        Task.WhenAll(regions.Select(r => Task.Run(() => Read(r)))).GetAwaiter().GetResult();

    private static RegionTopology Read(AuditRegion region)
    {
        var config = new Dictionary<string, string>(StringComparer.Ordinal) { ["client.id"] = "mesh-audit", ["log_level"] = "0" };
        foreach (var (key, value) in region.Kafka) config[key] = value;
        foreach (var (key, value) in TopologyLog.ReaderSettings("__mesh-audit")) config[key] = value;
        try
        {
            return new RegionTopology(region.Id, TopologyLog.ReadLatest(config, region.Id, Deadline, CancellationToken.None));
        }
        catch (Exception e) when (e is KafkaException or TimeoutException or InvalidDataException or ArgumentException or InvalidOperationException)
        {
            return new RegionTopology(region.Id, null, e.Message);
        }
    }

    /// <summary>
    /// The newest valid topology among what the regions keep, with notes on regions that could not be
    /// read, that keep an invalid document or that run an older version. Pure.
    /// </summary>
    public static (Topology? Topology, string? From) Newest(IReadOnlyList<RegionTopology> found, List<string> notes)
    {
        foreach (var unreadable in found.Where(f => f.Error is not null))
            notes.Add($"{unreadable.Region}'s {InternalTopics.Topology} could not be read: {unreadable.Error}");
        foreach (var candidate in found.Where(f => f.Stored is not null).OrderByDescending(f => f.Stored!.Version).ThenBy(f => f.Region, StringComparer.Ordinal))
        {
            var load = Topology.Load(candidate.Stored!.Document, $"{candidate.Region}'s {InternalTopics.Topology}");
            if (load.Topology is not { } topology)
            {
                notes.Add($"{candidate.Region}'s {InternalTopics.Topology} holds an invalid topology version {candidate.Stored.Version}: it is not used");
                continue;
            }
            var behind = found.Where(f => f.Error is null && (f.Stored?.Version ?? 0) < topology.Version)
                .Select(f => f.Stored is null ? $"{f.Region} none" : $"{f.Region} {f.Stored.Version}").ToList();
            if (behind.Count > 0)
                notes.Add($"not every region runs topology version {topology.Version} (older: {string.Join(", ", behind)}); the audit expects what version {topology.Version} says");
            return (topology, candidate.Region);
        }
        return (null, null);
    }
}
