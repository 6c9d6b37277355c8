using Confluent.Kafka;
using Mesh.Client.Audit;
using Mesh.Client.Local;
using Mesh.Core.Offsets;
using Mesh.Core.Topology;
using Mesh.Kafka.Offsets;

namespace Mesh.Client.Offsets;

/// <summary>One partition's translated position.</summary>
/// <param name="Uncertain">Of <paramref name="Redelivered"/>, records the source's retention leaves undecided.</param>
public sealed record PartitionFailover(string Topic, int Partition, long FromOffset, long ToOffset, long Redelivered, long Uncertain);

/// <param name="Redelivered">The bound: at most this many records the group processed in <paramref name="From"/> are delivered again.</param>
public sealed record FailoverReport(string Group, string From, string To, bool DryRun, IReadOnlyList<PartitionFailover> Partitions)
{
    public long Redelivered => Partitions.Sum(p => p.Redelivered);
    public long Uncertain => Partitions.Sum(p => p.Uncertain);
}

/// <summary>
/// Moves a consumer group from one region to another once: reads its committed offsets in the first,
/// both regions' copies of its partitions, translates each offset by record identity
/// (<see cref="OffsetTranslator"/>) and commits the results for the group in the second.
/// </summary>
public static class GroupFailover
{
    /// <exception cref="MeshCommandException">Bad input or a group active in the target (2); a region unreachable (3).</exception>
    public static async Task<FailoverReport> RunAsync(AuditTargets targets, string group, string from, string to, IReadOnlyList<string> topics,
        bool dryRun, Action<string> progress, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(group)) throw new MeshCommandException("--group: name the consumer group to fail over.", 2);
        if (from == to) throw new MeshCommandException($"--from and --to are both {from}: fail a group over to another region.", 2);
        var regions = targets.Regions.ToDictionary(r => r.Id, StringComparer.Ordinal);
        foreach (var region in new[] { from, to })
            if (!regions.ContainsKey(region))
                throw new MeshCommandException($"{region} is not a region of this mesh (its regions: {string.Join(", ", regions.Keys)}).", 2);
        if (targets.Topology?.Naming == NamingPolicy.Prefix)
            throw new MeshCommandException("This mesh names topics by prefix (source.topic): a group's topics differ between regions, and failover translates only identically named topics.", 2);

        var readers = await ConnectAsync([regions[from], regions[to]]);
        try
        {
            var (source, target) = (readers[from], readers[to]);
            var sourceTopics = Unreachable(source.Topics);
            var targetTopics = Unreachable(target.Topics);
            var candidates = topics.Count > 0 ? [.. topics] : sourceTopics.Keys.Where(t => !t.StartsWith("__", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
            var unknown = candidates.Where(t => !sourceTopics.ContainsKey(t)).ToList();
            if (unknown.Count > 0) throw new MeshCommandException($"{from} has no topic {string.Join(", ", unknown)}.", 2);

            using var fromGroup = new ConsumerGroupOffsets(from, group, regions[from].Kafka);
            using var toGroup = new ConsumerGroupOffsets(to, group, regions[to].Kafka);
            var committed = Unreachable(() => fromGroup.Committed(candidates.SelectMany(t => Enumerable.Range(0, sourceTopics[t]).Select(p => new TopicPartition(t, p)))));
            if (committed.Count == 0)
                throw new MeshCommandException($"Group {group} has no committed offsets in {from} for {(topics.Count > 0 ? string.Join(", ", candidates) : "any topic")}: " +
                    $"no such group there, or it never committed. Nothing changed.", 2);
            var groupTopics = committed.Keys.Select(k => k.Topic).Distinct().Order(StringComparer.Ordinal).ToList();
            foreach (var topic in groupTopics)
            {
                if (!targetTopics.TryGetValue(topic, out var count))
                    throw new MeshCommandException($"{to} has no topic {topic}, which group {group} reads in {from}. Nothing changed.", 2);
                if (count != sourceTopics[topic])
                    throw new MeshCommandException($"{topic} has {sourceTopics[topic]} partitions in {from} but {count} in {to}: partitions are translated one to one. Nothing changed.", 2);
            }

            var activity = Unreachable(() => toGroup.Activity((groupTopics[0], targetTopics[groupTopics[0]])));
            if (activity.Active)
                throw new MeshCommandException($"Group {group} is active in {to}{(activity.Members is { } n ? $" ({n} members)" : "")} ({activity.How}): " +
                    $"stop its consumers there before failing it over. Nothing changed.", 2);

            var partitions = new List<PartitionFailover>();
            foreach (var (tp, offset) in committed.OrderBy(c => c.Key.Topic, StringComparer.Ordinal).ThenBy(c => c.Key.Partition.Value))
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress($"translating {tp.Topic} partition {tp.Partition.Value}: reading {from} and {to}");
                var fromIndex = Unreachable(() => source.Update(null, tp.Topic, tp.Partition.Value, cancellationToken));
                var toIndex = Unreachable(() => target.Update(null, tp.Topic, tp.Partition.Value, cancellationToken));
                // A commit past what could be read (an open transaction) counts only what is there as processed: safe.
                var translation = OffsetTranslator.Translate(fromIndex, Math.Min(offset, fromIndex.End), toIndex);
                partitions.Add(new PartitionFailover(tp.Topic, tp.Partition.Value, offset, translation.Offset, translation.Redelivered, translation.Uncertain));
            }

            if (!dryRun)
            {
                try
                {
                    toGroup.Commit(partitions.ToDictionary(p => new TopicPartition(p.Topic, p.Partition), p => p.ToOffset));
                }
                catch (GroupActiveException e)
                {
                    throw new MeshCommandException($"{e.Message}: stop its consumers there before failing it over. Nothing changed.", 2);
                }
                catch (OffsetRegionUnreachableException e)
                {
                    throw new MeshCommandException($"Cannot fail over: {e.Message}. Some partitions' offsets may be committed in {to}; run the command again.", 3);
                }
            }
            return new FailoverReport(group, from, to, dryRun, partitions);
        }
        finally
        {
            foreach (var reader in readers.Values) reader.Dispose();
        }
    }

    private static async Task<Dictionary<string, PartitionLogReader>> ConnectAsync(IReadOnlyList<AuditRegion> regions)
    {
        var attempts = regions.Select(r => Task.Run(() => PartitionLogReader.Connect(r.Id, r.Kafka, stallTimeout: TimeSpan.FromSeconds(30)))).ToList();
        try
        {
            await Task.WhenAll(attempts);
        }
        catch (OffsetRegionUnreachableException)
        {
            foreach (var connected in attempts.Where(a => a.IsCompletedSuccessfully)) connected.Result.Dispose();
            var failures = attempts.Where(a => a.IsFaulted).Select(a => a.Exception!.InnerException!.Message);
            throw new MeshCommandException($"Cannot fail over: {string.Join("; ", failures)}. Nothing changed.", 3);
        }
        return attempts.ToDictionary(a => a.Result.Region, a => a.Result, StringComparer.Ordinal);
    }

    private static T Unreachable<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (OffsetRegionUnreachableException e)
        {
            throw new MeshCommandException($"Cannot fail over: {e.Message}. Nothing changed.", 3);
        }
    }

}
