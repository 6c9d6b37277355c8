namespace Mesh.Grains.Replication;

/// <summary>The region's status: its topology version and every inbound link it runs, asked in parallel.</summary>
public sealed class RegionGrain : Grain, IRegionGrain
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public async Task<RegionStatus> GetStatusAsync()
    {
        var region = this.GetPrimaryKeyString();
        var topology = await GrainFactory.GetGrain<ITopologyGrain>(region).GetAsync().WaitAsync(AskTimeout);
        var assignments = (topology.Assignments ?? []).OrderBy(a => a.Source, StringComparer.Ordinal).ThenBy(a => a.Destination, StringComparer.Ordinal).ToArray();
        var inbound = Task.WhenAll(assignments.Where(a => a.Destination == region).Select(a => LinkStatusAsync(a.Source, a.Destination)));
        var push = Task.WhenAll(assignments.Where(a => a.Source == region).Select(a => LinkStatusAsync(a.Source, a.Destination)));
        var links = await inbound;
        var pushLinks = await push;
        return new RegionStatus(region, links, topology.Version, topology.Name, pushLinks, await ConflictsAsync(region, links),
            PartitionsPerSilo(links.Concat(pushLinks)));
    }

    /// <summary>How many partition replicators run on each silo, as each replicator reports where it runs.</summary>
    public static IReadOnlyDictionary<string, int> PartitionsPerSilo(IEnumerable<LinkStatus> links) =>
        links.SelectMany(l => l.Topics).SelectMany(t => t.PartitionDetail)
            .Where(p => p.Silo is not null)
            .GroupBy(p => p.Silo!, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>The lww topics' repairs and indexes in this region, from their conflict grains.</summary>
    private async Task<IReadOnlyList<ConflictTopicStatus>> ConflictsAsync(string region, IReadOnlyList<LinkStatus> links)
    {
        var topics = links.SelectMany(l => l.Topics.Where(t => t.Policy == "lww").Select(t => (Topic: t.PartitionDetail.FirstOrDefault()?.DestinationTopic ?? t.Topic, t.Partitions)))
            .DistinctBy(t => t.Topic).OrderBy(t => t.Topic, StringComparer.Ordinal);
        return await Task.WhenAll(topics.Select(async t =>
        {
            try
            {
                var partitions = await Task.WhenAll(Enumerable.Range(0, t.Partitions).Select(p =>
                    GrainFactory.GetGrain<IConflictGrain>(GrainKeys.RegionPartition(region, t.Topic, p)).GetStatusAsync().WaitAsync(AskTimeout)));
                var errors = partitions.Where(p => p.Error is not null).Select(p => $"partition {p.Partition}: {p.Error}").ToArray();
                return new ConflictTopicStatus(t.Topic, partitions.Sum(p => p.Repaired), partitions.Sum(p => p.BadVersions),
                    partitions.Sum(p => p.Keys), partitions.Sum(p => p.IndexBytes), errors.Length == 0 ? null : string.Join("; ", errors));
            }
            catch (Exception e) when (e is TimeoutException or OrleansException)
            {
                return new ConflictTopicStatus(t.Topic, 0, 0, 0, 0, $"conflict resolution not answering: {e.GetBaseException().Message}");
            }
        }));
    }

    private async Task<LinkStatus> LinkStatusAsync(string source, string destination)
    {
        try
        {
            return await GrainFactory.GetGrain<ILinkGrain>(GrainKeys.Link(source, destination)).GetStatusAsync().WaitAsync(AskTimeout);
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            return new LinkStatus(source, destination, [], $"link not answering (its silo may have just died): {e.GetBaseException().Message}", null);
        }
    }
}
