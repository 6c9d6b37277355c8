using Mesh.Core.Health;
using Mesh.Grains.Options;
using Mesh.Grains.Ports;
using Microsoft.Extensions.Options;

namespace Mesh.Grains.Replication;

/// <summary>
/// The region's status: its topology version and every inbound link it runs, asked in parallel, with the
/// region's Kafka and its links' ends as this silo sees them (a link whose end does not answer waits).
/// </summary>
public sealed class RegionGrain(IKafkaReachability kafka, IOptions<ReplicationOptions> options) : Grain, IRegionGrain
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public async Task<RegionStatus> GetStatusAsync()
    {
        var region = this.GetPrimaryKeyString();
        var topology = await GrainFactory.GetGrain<ITopologyGrain>(region).GetAsync().WaitAsync(AskTimeout);
        var assignments = (topology.Assignments ?? []).OrderBy(a => a.Source, StringComparer.Ordinal).ThenBy(a => a.Destination, StringComparer.Ordinal).ToArray();
        var inbound = Task.WhenAll(assignments.Where(a => a.Destination == region).Select(a => LinkStatusAsync(a.Source, a.Destination)));
        var push = Task.WhenAll(assignments.Where(a => a.Source == region).Select(a => LinkStatusAsync(a.Source, a.Destination)));
        var links = (await inbound).Select(WithReachability).ToArray();
        var pushLinks = (await push).Select(WithReachability).ToArray();
        var silo = GrainContext.Address.SiloAddress?.Endpoint.ToString();
        return new RegionStatus(region, links, topology.Version, topology.Name, pushLinks, await ConflictsAsync(region, links),
            PartitionsPerSilo(links.Concat(pushLinks)),
            kafka.Of(region) is { } own ? Health(own, silo) : null,
            [.. kafka.All.OrderBy(c => c.Region, StringComparer.Ordinal).Select(c => Health(c, silo))],
            options.Value.Keys is { } keys
                ? new ProvenanceKeys(keys.SigningKeyId, [.. keys.AcceptedKeyIds],
                    KeyCounts.Sum(links.Concat(pushLinks).SelectMany(l => l.Topics).Select(t => t.VerifiedByKey)) ?? new Dictionary<string, long>())
                : null);
    }

    private LinkStatus WithReachability(LinkStatus link) =>
        Waiting(link, KafkaReachability.Waiting(link.Source, kafka.Of(link.Source), link.Destination, kafka.Of(link.Destination)));

    /// <summary>
    /// The link's running topics as waiting for <paramref name="wait"/>: a replicator whose end does not answer
    /// keeps retrying and reports itself replicating (or starting), which is not what the operator needs to read.
    /// Stopped and paused topics keep their state: they need an operator whatever Kafka does.
    /// </summary>
    public static LinkStatus Waiting(LinkStatus link, LinkWait? wait) =>
        wait is null ? link : link with
        {
            Topics = [.. link.Topics.Select(t => t.State is ReplicationState.Replicating or ReplicationState.Starting
                ? t with { State = ReplicationState.Waiting, Error = wait.Reason, WaitingSince = wait.Since }
                : t)],
        };

    public static KafkaHealth Health(ClusterReachability c, string? silo) =>
        new(c.Region, c.State switch
        {
            KafkaReach.Up => KafkaState.Up,
            KafkaReach.Degraded => KafkaState.Degraded,
            _ => KafkaState.Unreachable,
        }, c.Brokers, c.BrokersUp, c.Error, c.Since, c.CheckedAt, silo);

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
