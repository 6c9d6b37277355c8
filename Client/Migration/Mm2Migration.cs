using System.Text;
using Confluent.Kafka;
using Mesh.Client.Local;
using Mesh.Core.Migration;
using Mesh.Core.Replication;
using Mesh.Core.Topology;
using Mesh.Grains;
using Mesh.Kafka.Replication;

namespace Mesh.Client.Migration;

/// <summary>What became of one partition's Mesh checkpoint.</summary>
public enum SeedOutcome
{
    /// <summary>A dry run: it would be written.</summary>
    WouldWrite,
    Written,
    /// <summary>The same checkpoint is there already (a second run).</summary>
    Unchanged,
    /// <summary>None is needed: the replicator's own first start begins at the source's start.</summary>
    NotNeeded,
    /// <summary>The takeover was refused: nothing was written.</summary>
    NotWritten,
}

/// <summary>One partition of the takeover as reported: the plan and what was done about its checkpoint.</summary>
public sealed record SeededPartition(Mm2PartitionTakeover Plan, SeedOutcome Outcome, string? CheckpointKey);

/// <summary>What became of a consumer group's translated position in the target.</summary>
public enum GroupOutcome
{
    /// <summary>The takeover was refused (or not yet planned): nothing was committed.</summary>
    NotCommitted,
    WouldCommit,
    Committed,
    /// <summary>The group has that offset committed in the target already (a second run, or MM2's sync.group.offsets).</summary>
    Unchanged,
    /// <summary>The group has another offset committed in the target (consumers run there already, or MM2 synced a later one): it is left as it is.</summary>
    KeptTargets,
}

/// <summary>
/// Where a consumer group MM2 checkpointed resumes in the target: MM2's translation of its source position
/// (<paramref name="UpstreamOffset"/> in the source is <paramref name="DownstreamOffset"/> in the remote partition), and
/// what the group had committed there (null: nothing).
/// </summary>
public sealed record GroupPosition(string Group, string RemoteTopic, int Partition, long UpstreamOffset, long DownstreamOffset)
{
    public long? CommittedInTarget { get; init; }
    public GroupOutcome Outcome { get; init; }
}

/// <summary>One flow's takeover: MM2's state it read, the plan, and per partition what was written.</summary>
public sealed record FlowTakeover(Mm2FlowTopics Topics, string CheckpointRegion, Mm2TakeoverPlan Plan, IReadOnlyList<SeededPartition> Partitions, IReadOnlyList<GroupPosition> Groups);

/// <summary>The whole takeover; <see cref="ExitCode"/> 0 when every flow's checkpoints are in place (or would be, in a dry run).</summary>
public sealed record MigrationResult(bool DryRun, IReadOnlyList<FlowTakeover> Flows, IReadOnlyList<Mm2Problem> Problems)
{
    public int ExitCode => Problems.Count == 0 ? 0 : Problems.Any(p => p.ExitCode == 2) ? 2 : 3;
}

/// <summary>
/// <c>mesh migrate from-mm2</c>: reads what MirrorMaker 2 left in the clusters of every flow it ran, checks it against
/// what the clusters hold, and seeds each replicator's checkpoint so that Mesh continues after the last record MM2
/// copied. Nothing is written unless every flow agrees; a second run finds its checkpoints in place and writes nothing.
/// </summary>
public static class Mm2Migration
{
    public static MigrationResult Run(string propertiesText, Mm2Import import, Topology topology, bool dryRun, CancellationToken cancellationToken)
    {
        var problems = new List<Mm2Problem>();
        var mm2Naming = import.Document.Naming;
        if (topology.Naming != mm2Naming)
            problems.Add(new(null, null, $"the topology names remote topics by {TopologyKeywords.Word(topology.Naming)} naming, but MM2 used {TopologyKeywords.Word(mm2Naming)} naming " +
                "(its replication.policy.class): Mesh would write to other topics than MM2's. Set 'naming: " + TopologyKeywords.Word(mm2Naming) + "' in the topology", 2));
        if (import.UnmappablePolicy is { } policy)
            problems.Add(new(null, null, $"MM2 ran with replication.policy.class = {policy}: Mesh cannot know the remote topic names it made, so it cannot continue them. " +
                "Rename the remote topics to '<source>.<topic>' (or run MM2's identity policy) before the takeover", 2));
        if (mm2Naming == NamingPolicy.Prefix && topology.Naming == NamingPolicy.Prefix && topology.Separator != import.Separator)
            problems.Add(new(null, null, $"MM2 named remote topics '<source>{import.Separator}<topic>' (replication.policy.separator), but the topology names them " +
                $"'<source>{topology.Separator}<topic>': Mesh would start a second copy of every topic. Set 'separator: \"{import.Separator}\"' in the topology", 2));
        var flows = PatternExpansion.Links(import.Document).Select(l => (l.From, l.To)).ToList();
        if (flows.Count == 0)
            problems.Add(new(null, null, "the MM2 configuration enables no flow ('A->B.enabled = true'): there is nothing to take over", 2));
        foreach (var (from, to) in flows)
        {
            if (!topology.HasRegion(from) || !topology.HasRegion(to))
                problems.Add(new(null, null, $"MM2 ran {from}->{to}, but the topology has no region {(topology.HasRegion(from) ? to : from)}: its region ids must be MM2's cluster aliases", 2));
            else if (topology.FindLink(from, to) is not { Carries: true })
                problems.Add(new(null, null, $"MM2 ran {from}->{to}, but the topology has no link {from} -> {to} that carries topics: Mesh would not continue it. Add the link", 2));
        }
        if (problems.Count > 0) return new MigrationResult(dryRun, [], problems);

        var clusters = new Dictionary<string, MigrationCluster>(StringComparer.Ordinal);
        MigrationCluster Cluster(string region)
        {
            if (clusters.TryGetValue(region, out var known)) return known;
            var settings = topology.ResolveKafkaSettings(region);
            if (!settings.ContainsKey("bootstrap.servers"))
                throw new MeshCommandException($"the topology gives no 'kafka: bootstrap.servers' for {region}: name its Kafka in the topology (--topology FILE)", 2);
            return clusters[region] = MigrationCluster.Connect(region, settings);
        }

        try
        {
            var planned = new List<(Mm2FlowTopics Topics, Link Link, Mm2TakeoverPlan Plan, IReadOnlyList<GroupPosition> Groups)>();
            foreach (var (from, to) in flows)
            {
                var link = topology.FindLink(from, to)!;
                var (plan, groups, topics) = PlanFlow(propertiesText, import, topology, from, to, Cluster(from), Cluster(to), cancellationToken);
                planned.Add((topics, link, plan, groups));
                problems.AddRange(plan.Problems);
            }

            // The checkpoints already there: a run after Mesh started (or a second run) must not move them.
            var seeds = new List<(int Flow, Mm2PartitionTakeover Partition, string Key, string Value, string Region)>();
            var existing = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
            for (var i = 0; i < planned.Count; i++)
            {
                var (topics, link, plan, _) = planned[i];
                if (plan.Refused) continue;
                var checkpointRegion = link.Mode == LinkMode.Push ? link.From : link.To;
                var carried = Carried(topology, link);
                var source = Cluster(link.From);
                var target = Cluster(link.To);
                if (!existing.TryGetValue(checkpointRegion, out var written))
                    existing[checkpointRegion] = written = MeshCheckpoints(Cluster(checkpointRegion), cancellationToken);
                foreach (var partition in plan.Partitions.Where(p => p.Start == Mm2Start.AfterMm2))
                {
                    var key = GrainKeys.Partition(link.From, link.To, partition.Topic, partition.Partition);
                    var value = Mm2Takeover.Checkpoint(partition, link.From, source.Incarnation, target.Incarnation, carried).Encode();
                    if (written.TryGetValue(key, out var there) && there != value)
                    {
                        problems.Add(new(partition.Topic, partition.Partition, $"{link.From} {partition.Topic}/{partition.Partition} -> {link.To} {partition.RemoteTopic}/{partition.Partition}: " +
                            $"Mesh has a checkpoint for it already ('{there}' under key {key} in {checkpointRegion}'s {InternalTopics.Checkpoints}), not the one this takeover writes: " +
                            "Mesh has replicated it since. A takeover happens before Mesh's first start; nothing was written", 3));
                        continue;
                    }
                    seeds.Add((i, partition, key, value, checkpointRegion));
                }
            }

            var outcomes = new Dictionary<string, SeedOutcome>(StringComparer.Ordinal);
            if (problems.Count == 0)
            {
                foreach (var region in seeds.Select(s => s.Region).Distinct())
                {
                    var toWrite = seeds.Where(s => s.Region == region && existing[region].GetValueOrDefault(s.Key) != s.Value).ToList();
                    foreach (var seed in seeds.Where(s => s.Region == region))
                        outcomes[seed.Key] = existing[region].GetValueOrDefault(seed.Key) == seed.Value ? SeedOutcome.Unchanged : dryRun ? SeedOutcome.WouldWrite : SeedOutcome.Written;
                    if (!dryRun && toWrite.Count > 0) Write(Cluster(region), [.. toWrite.Select(s => (s.Key, s.Value))], cancellationToken);
                }
            }

            var groupResults = planned.Select(f => f.Plan.Refused || problems.Count > 0 ? f.Groups : Groups(Cluster(f.Link.To), f.Groups, dryRun)).ToList();
            var flowResults = planned.Select((f, i) => new FlowTakeover(f.Topics, f.Link.Mode == LinkMode.Push ? f.Link.From : f.Link.To, f.Plan,
                f.Plan.Partitions.Select(p =>
                {
                    if (p.Start != Mm2Start.AfterMm2) return new SeededPartition(p, SeedOutcome.NotNeeded, null);
                    var key = GrainKeys.Partition(f.Link.From, f.Link.To, p.Topic, p.Partition);
                    return new SeededPartition(p, outcomes.GetValueOrDefault(key, SeedOutcome.NotWritten), key);
                }).ToList(), groupResults[i])).ToList();
            return new MigrationResult(dryRun, flowResults, problems);
        }
        catch (MigrationClusterException e)
        {
            return new MigrationResult(dryRun, [], [new(null, null, e.Message, 3)]);
        }
        finally
        {
            foreach (var cluster in clusters.Values) cluster.Dispose();
        }
    }

    /// <summary>The origins the link carries, as its replicators compute them from the topology.</summary>
    private static OriginSet Carried(Topology topology, Link link)
    {
        var runner = link.Mode == LinkMode.Push ? link.From : link.To;
        var plan = RegionPlan.For(topology, runner).First(p => p.From == link.From && p.To == link.To);
        return plan.AllOrigins ? OriginSet.All : OriginSet.Of(plan.Origins);
    }

    private static (Mm2TakeoverPlan Plan, IReadOnlyList<GroupPosition> Groups, Mm2FlowTopics Topics) PlanFlow(string propertiesText, Mm2Import import, Topology topology,
        string from, string to, MigrationCluster source, MigrationCluster target, CancellationToken cancellationToken)
    {
        var topics = Mm2InternalTopics.For(propertiesText, from, to);
        var syncCluster = topics.SyncsInSource ? source : target;
        Mm2TakeoverPlan Refuse(string message) => new(from, to, [], [new(null, null, message, 3)], []);

        if (!target.Topics.ContainsKey(topics.OffsetsTopic))
            return (Refuse($"{to} has no topic {topics.OffsetsTopic}, where MM2's Connect worker keeps its positions for {from}->{to}: check that MM2 ran this flow " +
                $"with this configuration ({to}.bootstrap.servers, offset.storage.topic), and that the topology's {to} is that cluster"), [], topics);
        var positions = new List<Mm2SourcePosition>();
        var problems = new List<Mm2Problem>();
        foreach (var (partition, offset, key, value) in target.ReadAll(topics.OffsetsTopic, cancellationToken))
        {
            if (!Mm2Records.TryParseSourceOffset(key, value, out var position, out var reason))
                problems.Add(new(null, null, $"{to}'s {topics.OffsetsTopic} partition {partition} offset {offset} is unreadable: {reason}. It is not MM2's Connect offsets topic, " +
                    "or it was written by something else; point offset.storage.topic at the one MM2 used", 3));
            else if (position is not null) positions.Add(position);
        }
        var aliases = import.Document.Regions.Select(r => r.Id).ToList();
        if (problems.Count == 0 && Mm2Takeover.ForeignAliases(from, to, topics.OffsetsTopic, Mm2Takeover.Fold(positions), aliases) is { } foreign)
            return (new Mm2TakeoverPlan(from, to, [], [foreign], []), [], topics);
        if (!syncCluster.Topics.ContainsKey(topics.SyncsTopic))
            return (Refuse($"{syncCluster.Region} has no topic {topics.SyncsTopic}, where MM2 keeps its offset syncs for {from}->{to}: check offset-syncs.topic.location " +
                "and replication.policy.separator, and that the configuration is the one MM2 ran with"), [], topics);
        var syncs = new List<Mm2OffsetSync>();
        foreach (var (partition, offset, key, value) in syncCluster.ReadAll(topics.SyncsTopic, cancellationToken))
        {
            if (Mm2Records.TryDecodeOffsetSync(key, value, out var sync, out var reason)) syncs.Add(sync!);
            else problems.Add(new(null, null, $"{syncCluster.Region}'s {topics.SyncsTopic} partition {partition} offset {offset} is unreadable: {reason}", 3));
        }
        var groups = new Dictionary<(string, string, int), GroupPosition>();
        if (target.Topics.ContainsKey(topics.CheckpointsTopic))
        {
            foreach (var (partition, offset, key, value) in target.ReadAll(topics.CheckpointsTopic, cancellationToken))
            {
                if (value is null) continue;
                if (Mm2Records.TryDecodeCheckpoint(key, value, out var checkpoint, out var reason))
                    groups[(checkpoint!.Group, checkpoint.Topic, checkpoint.Partition)] = new GroupPosition(checkpoint.Group, checkpoint.Topic, checkpoint.Partition, checkpoint.UpstreamOffset, checkpoint.DownstreamOffset);
                else problems.Add(new(null, null, $"{to}'s {topics.CheckpointsTopic} partition {partition} offset {offset} is unreadable: {reason}", 3));
            }
        }
        if (problems.Count > 0) return (new Mm2TakeoverPlan(from, to, [], problems.ToValueList(), []), [], topics);

        var folded = Mm2Takeover.Fold(positions);
        var marks = new List<Mm2PartitionMarks>();
        foreach (var (topic, count) in source.Topics.Where(t => topology.IsReplicable(t.Key, from, to)).OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var remote = topology.RemoteTopicName(from, topic, to);
            var remoteCount = target.Topics.GetValueOrDefault(remote);
            for (var p = 0; p < count; p++)
            {
                var (low, high) = source.Watermarks(topic, p);
                (long Low, long High)? there = p < remoteCount ? target.Watermarks(remote, p) : null;
                marks.Add(new Mm2PartitionMarks(topic, p, low, high, there?.Low, there?.High));
            }
        }
        // What each partition holds between its last offset sync and MM2's last copy, counted a topic at a time.
        var toCount = new Dictionary<string, Dictionary<int, (long, long)>>(StringComparer.Ordinal);
        foreach (var ((cluster, topic, partition), lastCopied) in folded)
        {
            if (cluster != from || !source.Topics.TryGetValue(topic, out var count) || partition >= count) continue;
            if (Mm2Takeover.SyncFor(syncs, topic, partition, lastCopied, out _) is { } sync && lastCopied > sync.UpstreamOffset)
                (toCount.TryGetValue(topic, out var ranges) ? ranges : toCount[topic] = [])[partition] = (sync.UpstreamOffset + 1, lastCopied);
        }
        var after = new Dictionary<(string, int), long>();
        foreach (var (topic, ranges) in toCount)
            foreach (var (partition, records) in source.CountRecords(topic, ranges, cancellationToken))
                after[(topic, partition)] = records;
        var plan = Mm2Takeover.Plan(from, to, topology.Naming, topology.Separator, topics.OffsetsTopic, topics.SyncsTopic, marks, folded,
            aliases, syncs, after, t => topology.IsReplicable(t, from, to));
        var remoteTopics = plan.Partitions.Select(p => p.RemoteTopic).ToHashSet(StringComparer.Ordinal);
        var offsets = import.Document.Offsets;
        var included = (offsets?.Groups ?? [".*"]).Select(Whole).ToList();
        var excluded = (offsets?.GroupsExclude ?? ["console-consumer-.*", "connect-.*", "__.*"]).Select(Whole).ToList();
        var ends = plan.Partitions.ToDictionary(p => (p.RemoteTopic, p.Partition), p => p.TargetEnd);
        var translated = groups.Values.Where(g => remoteTopics.Contains(g.RemoteTopic) && included.Any(r => r.IsMatch(g.Group)) && !excluded.Any(r => r.IsMatch(g.Group)))
            .OrderBy(g => g.Group, StringComparer.Ordinal).ThenBy(g => g.RemoteTopic, StringComparer.Ordinal).ThenBy(g => g.Partition).ToList();
        var beyondEnd = translated.Where(g => g.DownstreamOffset > ends.GetValueOrDefault((g.RemoteTopic, g.Partition))).ToList();
        if (beyondEnd.Count > 0)
            plan = plan with
            {
                Problems = plan.Problems.Concat(beyondEnd.Select(g => new Mm2Problem(g.RemoteTopic, g.Partition,
                    $"{to}'s {topics.CheckpointsTopic}: group {g.Group} at {g.RemoteTopic}/{g.Partition} offset {g.DownstreamOffset}, past the partition's end " +
                    $"({ends.GetValueOrDefault((g.RemoteTopic, g.Partition))}): the checkpoints are of another cluster or the remote topic lost records", 3))).ToValueList(),
            };
        return (plan, translated, topics);
    }

    private static System.Text.RegularExpressions.Regex Whole(string pattern) =>
        new($"^(?:{pattern})$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// Commits in the target, for every group MM2 checkpointed, the offset MM2 translated its source position to, where
    /// the group has nothing committed there yet; a group with its own offset there keeps it.
    /// </summary>
    private static IReadOnlyList<GroupPosition> Groups(MigrationCluster target, IReadOnlyList<GroupPosition> positions, bool dryRun)
    {
        var result = new List<GroupPosition>();
        foreach (var group in positions.GroupBy(p => p.Group))
        {
            var config = MigrationCluster.With(target.Config, new() { ["group.id"] = group.Key, ["enable.auto.commit"] = "false", ["client.id"] = "mesh-migrate" });
            using var consumer = new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build();
            List<TopicPartitionOffset> committed;
            try
            {
                committed = consumer.Committed(group.Select(p => new TopicPartition(p.RemoteTopic, p.Partition)), TimeSpan.FromSeconds(15));
            }
            catch (KafkaException e)
            {
                throw new MigrationClusterException($"{target.Region}: reading the committed offsets of group {group.Key} failed: {e.Error.Reason}", e);
            }
            var toCommit = new List<TopicPartitionOffset>();
            foreach (var position in group)
            {
                var there = committed.FirstOrDefault(c => c.Topic == position.RemoteTopic && c.Partition.Value == position.Partition)?.Offset;
                long? theirs = there is { IsSpecial: false } offset ? offset.Value : null;
                var outcome = theirs is null ? (dryRun ? GroupOutcome.WouldCommit : GroupOutcome.Committed)
                    : theirs == position.DownstreamOffset ? GroupOutcome.Unchanged : GroupOutcome.KeptTargets;
                if (outcome == GroupOutcome.Committed) toCommit.Add(new TopicPartitionOffset(position.RemoteTopic, position.Partition, position.DownstreamOffset));
                result.Add(position with { CommittedInTarget = theirs, Outcome = outcome });
            }
            if (toCommit.Count == 0) continue;
            try
            {
                consumer.Commit(toCommit);
            }
            catch (KafkaException e)
            {
                throw new MigrationClusterException($"{target.Region}: committing group {group.Key}'s translated offsets failed ({e.Error.Reason}): the group may have members " +
                    "in the target; stop them and run this again (the replicators' checkpoints are in place and are not written again)", e);
            }
        }
        return result;
    }

    /// <summary>The latest value per key of a region's checkpoint topic (empty when it has none yet).</summary>
    private static Dictionary<string, string> MeshCheckpoints(MigrationCluster cluster, CancellationToken cancellationToken)
    {
        var latest = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!cluster.Topics.ContainsKey(InternalTopics.Checkpoints)) return latest;
        foreach (var (_, _, key, value) in cluster.ReadAll(InternalTopics.Checkpoints, cancellationToken))
        {
            if (key is null) continue;
            var name = Encoding.UTF8.GetString(key);
            if (value is null) latest.Remove(name);
            else latest[name] = Encoding.UTF8.GetString(value);
        }
        return latest;
    }

    /// <summary>Writes the checkpoints into the region's checkpoint topic (creating it as the silo would when it is missing), every one acknowledged.</summary>
    private static void Write(MigrationCluster cluster, IReadOnlyList<(string Key, string Value)> checkpoints, CancellationToken cancellationToken)
    {
        if (!cluster.Topics.ContainsKey(InternalTopics.Checkpoints)) CreateCheckpointTopic(cluster);
        var config = MigrationCluster.With(cluster.Config, new()
        {
            ["acks"] = "all",
            ["enable.idempotence"] = "true",
            ["client.id"] = "mesh-migrate",
        });
        using var producer = new ProducerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build();
        var partition = new TopicPartition(InternalTopics.Checkpoints, 0);
        foreach (var (key, value) in checkpoints)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                producer.ProduceAsync(partition, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = Encoding.UTF8.GetBytes(value) }, cancellationToken)
                    .GetAwaiter().GetResult();
            }
            catch (ProduceException<byte[], byte[]> e)
            {
                throw new MigrationClusterException($"{cluster.Region}: writing the checkpoint of {key} into {InternalTopics.Checkpoints} failed: {e.Error.Reason}; " +
                    "the checkpoints written before it stay, and running this again writes the rest", e);
            }
        }
        producer.Flush(cancellationToken);
    }

    private static void CreateCheckpointTopic(MigrationCluster cluster)
    {
        using var admin = new AdminClientBuilder(cluster.Config).SetLogHandler((_, _) => { }).Build();
        try
        {
            admin.CreateTopicsAsync([new Confluent.Kafka.Admin.TopicSpecification
            {
                Name = InternalTopics.Checkpoints,
                NumPartitions = InternalTopics.CheckpointPartitions,
                ReplicationFactor = -1,
                Configs = new Dictionary<string, string>(InternalTopics.CheckpointConfigs),
            }]).GetAwaiter().GetResult();
        }
        catch (Confluent.Kafka.Admin.CreateTopicsException e) when (e.Results.All(r => r.Error.Code == Confluent.Kafka.ErrorCode.TopicAlreadyExists))
        {
        }
        catch (KafkaException e)
        {
            throw new MigrationClusterException($"{cluster.Region} has no topic {InternalTopics.Checkpoints} and creating it failed ({e.Error.Reason}): create it with one partition " +
                "and cleanup.policy=compact (kafka-topics.sh --create --topic __mesh_checkpoints --partitions 1 --config cleanup.policy=compact), then run this again", e);
        }
    }
}
