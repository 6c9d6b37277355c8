using Mesh.Core.Replication;
using Mesh.Core.Topology;

namespace Mesh.Core.Migration;

/// <summary>One source partition as the clusters report it now: the source's offsets and the remote partition's (null when the target has no such partition).</summary>
public sealed record Mm2PartitionMarks(string Topic, int Partition, long SourceLow, long SourceHigh, long? TargetLow, long? TargetHigh);

/// <summary>Where Mesh starts in one source partition.</summary>
public enum Mm2Start
{
    /// <summary>Right after the last record MM2 copied.</summary>
    AfterMm2,

    /// <summary>MM2 copied nothing of it and the remote partition is empty: from the source's first record, as a new link does.</summary>
    FromSourceStart,
}

/// <summary>
/// One partition's takeover: Mesh reads the source from <paramref name="NextSourceOffset"/>; the remote partition ends at
/// <paramref name="TargetEnd"/> (MM2's copies, which stay); <see cref="Remaining"/> records are left to copy.
/// </summary>
public sealed record Mm2PartitionTakeover(string Topic, int Partition, string RemoteTopic, Mm2Start Start, long? LastCopied,
    long NextSourceOffset, long SourceHigh, long TargetEnd)
{
    public long Remaining => Math.Max(0, SourceHigh - NextSourceOffset);
}

/// <summary>Why the takeover is refused, naming the topic and partition (null: the whole topic or flow) and the fix.</summary>
/// <param name="ExitCode">2: the input is wrong (configuration, topology); 3: what the clusters hold disagrees.</param>
public sealed record Mm2Problem(string? Topic, int? Partition, string Message, int ExitCode)
{
    public override string ToString() => Message;
}

/// <param name="Notes">What the operator should know that does not stop the takeover.</param>
public sealed record Mm2TakeoverPlan(string Source, string Target, ValueList<Mm2PartitionTakeover> Partitions, ValueList<Mm2Problem> Problems, ValueList<string> Notes)
{
    public bool Refused => Problems.Count > 0;

    /// <summary>The exit code of a refusal: 2 when any problem is in the input, else 3.</summary>
    public int ExitCode => Problems.Count == 0 ? 0 : Problems.Any(p => p.ExitCode == 2) ? 2 : 3;
}

/// <summary>
/// Takes over a MirrorMaker 2 flow S -> T: from what MM2 left behind (its committed source positions and offset syncs)
/// and what the clusters hold now, where Mesh continues in each partition so that no record is copied twice and none is
/// skipped, or why it must not. Pure: the caller reads the clusters and writes the checkpoints.
/// </summary>
public static class Mm2Takeover
{
    /// <summary>
    /// The offset sync a position is checked against: the latest whose upstream offset is at or before
    /// <paramref name="lastCopied"/> (syncs are written as records land, so later ones may exist when MM2 stopped
    /// before it committed its position: <paramref name="beyond"/> is then the highest of those).
    /// </summary>
    public static Mm2OffsetSync? SyncFor(IEnumerable<Mm2OffsetSync> syncs, string topic, int partition, long lastCopied, out long? beyond)
    {
        Mm2OffsetSync? best = null;
        beyond = null;
        foreach (var sync in syncs)
        {
            if (sync.Topic != topic || sync.Partition != partition) continue;
            if (sync.UpstreamOffset > lastCopied)
            {
                if (beyond is not { } b || sync.UpstreamOffset > b) beyond = sync.UpstreamOffset;
                continue;
            }
            if (best is null || sync.UpstreamOffset >= best.UpstreamOffset) best = sync;
        }
        return best;
    }

    /// <summary>
    /// The refusal when the offsets topic holds no position of <paramref name="source"/> but some of aliases the
    /// configuration does not name: an MM2 with other cluster aliases wrote it (bad input, exit code 2). Null otherwise.
    /// </summary>
    public static Mm2Problem? ForeignAliases(string source, string target, string offsetsTopic,
        IReadOnlyDictionary<(string Cluster, string Topic, int Partition), long> positions, IReadOnlyCollection<string> aliases)
    {
        if (positions.Keys.Any(k => k.Cluster == source)) return null;
        var foreign = positions.Keys.Select(k => k.Cluster).Where(c => !aliases.Contains(c)).Distinct().Order(StringComparer.Ordinal).ToList();
        if (foreign.Count == 0) return null;
        return new(null, null, $"{offsetsTopic} in {target} holds positions of cluster {string.Join(", ", foreign.Select(f => $"'{f}'"))}, none of '{source}': " +
            "it was written by an MM2 whose cluster aliases differ from this configuration's. Give the MM2 configuration that ran (its 'clusters' names), " +
            "or the topology whose region ids are those aliases", 2);
    }

    /// <summary>The latest position per source partition: later records win, a tombstone removes the position.</summary>
    public static IReadOnlyDictionary<(string Cluster, string Topic, int Partition), long> Fold(IEnumerable<Mm2SourcePosition> records)
    {
        var latest = new Dictionary<(string, string, int), long>();
        foreach (var record in records)
        {
            var key = (record.Cluster, record.Topic, record.Partition);
            if (record.LastCopied is { } offset) latest[key] = offset;
            else latest.Remove(key);
        }
        return latest;
    }

    /// <param name="source">The source cluster alias (= region id).</param>
    /// <param name="separator">Prefix naming's separator (MM2's replication.policy.separator).</param>
    /// <param name="marks">Every partition of every source topic the flow replicates.</param>
    /// <param name="positions">The folded positions of the target's offsets topic, of every cluster alias.</param>
    /// <param name="aliases">The cluster aliases of the MM2 configuration.</param>
    /// <param name="syncs">The offset syncs of the flow.</param>
    /// <param name="recordsAfterSync">Per partition with a sync: the source records at offsets after the sync's upstream offset up to the position (the caller counts them; without gaps in the source, their offset difference).</param>
    /// <param name="replicated">Whether the flow replicates a source topic (a topic MM2 copied that Mesh will not is a note).</param>
    public static Mm2TakeoverPlan Plan(
        string source,
        string target,
        NamingPolicy naming,
        string separator,
        string offsetsTopic,
        string syncsTopic,
        IReadOnlyList<Mm2PartitionMarks> marks,
        IReadOnlyDictionary<(string Cluster, string Topic, int Partition), long> positions,
        IReadOnlyCollection<string> aliases,
        IReadOnlyList<Mm2OffsetSync> syncs,
        IReadOnlyDictionary<(string Topic, int Partition), long> recordsAfterSync,
        Func<string, bool> replicated)
    {
        var problems = new List<Mm2Problem>();
        var notes = new List<string>();
        var takeovers = new List<Mm2PartitionTakeover>();

        var ours = positions.Where(p => p.Key.Cluster == source).ToDictionary(p => (p.Key.Topic, p.Key.Partition), p => p.Value);
        if (ForeignAliases(source, target, offsetsTopic, positions, aliases) is { } foreign) problems.Add(foreign);

        var byPartition = marks.ToDictionary(m => (m.Topic, m.Partition));
        foreach (var ((topic, partition), _) in ours.OrderBy(o => o.Key.Topic, StringComparer.Ordinal).ThenBy(o => o.Key.Partition))
        {
            if (byPartition.ContainsKey((topic, partition))) continue;
            if (!replicated(topic))
                notes.Add($"MM2 copied {source}'s topic {topic}, which the topology does not replicate on {source} -> {target}: Mesh leaves its copy as it is");
            else if (!marks.Any(m => m.Topic == topic))
                problems.Add(new(topic, partition, $"{offsetsTopic} has a position for {source} {topic}/{partition}, but {source} has no topic {topic}: " +
                    $"the positions are of another cluster, or the topic was deleted. Remove it from MM2's positions (a tombstone for its key in {offsetsTopic}) or point the configuration at the cluster MM2 copied", 3));
            else
                problems.Add(new(topic, partition, $"{offsetsTopic} has a position for {source} {topic}/{partition}, but {topic} has only " +
                    $"{marks.Count(m => m.Topic == topic)} partitions in {source}: the positions are of another cluster", 3));
        }

        foreach (var topicMarks in marks.GroupBy(m => m.Topic).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var topic = topicMarks.Key;
            var remote = TopicNaming.RemoteTopicName(naming, source, topic, separator);
            var anyPosition = topicMarks.Any(m => ours.ContainsKey((m.Topic, m.Partition)));
            var anyRemote = topicMarks.Any(m => m.TargetHigh is not null);
            var sourceRecords = topicMarks.Sum(m => m.SourceHigh - m.SourceLow);
            if (!anyPosition && !anyRemote && sourceRecords > 0)
            {
                problems.Add(new(topic, null, $"MM2 never copied {source}'s topic {topic} ({sourceRecords} records in {topicMarks.Count()} partitions): {offsetsTopic} has no position for it " +
                    $"and {target} has no topic {remote}. Mesh would copy it from its start. Let MM2 copy it before the cut-over, or leave it out of the topology's topics " +
                    "(topics.exclude) for the migration and add it afterwards", 3));
                continue;
            }
            foreach (var m in topicMarks.OrderBy(m => m.Partition))
            {
                var where = $"{source} {topic}/{m.Partition} -> {target} {remote}/{m.Partition}";
                if (!ours.TryGetValue((topic, m.Partition), out var lastCopied))
                {
                    // A remote partition that ever held records (even if retention removed them since) was written by someone.
                    if (m.TargetHigh is { } end && end > 0)
                    {
                        problems.Add(new(topic, m.Partition, $"{where}: {target} holds {end - (m.TargetLow ?? 0)} records (up to offset {end}) but {offsetsTopic} has no position for " +
                            "this partition: nothing says which source records they are. Start MM2 again so that it commits its position, stop it cleanly and run this again", 3));
                        continue;
                    }
                    takeovers.Add(new(topic, m.Partition, remote, Mm2Start.FromSourceStart, null, m.SourceLow, m.SourceHigh, m.TargetHigh ?? 0));
                    continue;
                }

                var next = lastCopied + 1;
                if (next > m.SourceHigh)
                {
                    problems.Add(new(topic, m.Partition, $"{where}: MM2's position is offset {lastCopied}, but {source}'s partition ends at {m.SourceHigh}: the positions are of another " +
                        $"cluster, or {source} lost records. Check which cluster {source} is in the configuration", 3));
                    continue;
                }
                if (m.TargetHigh is not { } targetEnd)
                {
                    problems.Add(new(topic, m.Partition, $"{where}: MM2's position says it copied up to offset {lastCopied}, but {target} has no partition {remote}/{m.Partition}: " +
                        "the remote topic was deleted, or the naming differs from the one MM2 used (check replication.policy.class and the topology's naming)", 3));
                    continue;
                }
                var sync = SyncFor(syncs, topic, m.Partition, lastCopied, out var beyond);
                if (beyond is { } ahead)
                {
                    problems.Add(new(topic, m.Partition, $"{where}: MM2 wrote source offset {ahead} (an offset sync in {syncsTopic} says so) after its committed position {lastCopied}: " +
                        "it was stopped before it committed, or it still runs. Start MM2 again, let it commit (offset.flush.interval.ms), stop it cleanly and run this again", 3));
                    continue;
                }
                if (sync is null)
                {
                    problems.Add(new(topic, m.Partition, $"{where}: no offset sync for this partition in {syncsTopic} (MM2 writes one for every partition it copies), so its position " +
                        $"{lastCopied} cannot be checked against {target}. Check offset-syncs.topic.location and that the configuration is the one MM2 ran with", 3));
                    continue;
                }
                var after = recordsAfterSync.GetValueOrDefault((topic, m.Partition), lastCopied - sync.UpstreamOffset);
                var expectedEnd = sync.DownstreamOffset + 1 + after;
                if (targetEnd < expectedEnd)
                {
                    problems.Add(new(topic, m.Partition, $"{where}: {target}'s partition ends at offset {targetEnd}, shorter than MM2's position says ({expectedEnd}: source offset " +
                        $"{sync.UpstreamOffset} landed at {sync.DownstreamOffset}, and {after} records follow it up to {lastCopied}). Records MM2 copied are missing in {target}; " +
                        "find out why (retention, a re-created topic) before the cut-over", 3));
                    continue;
                }
                if (targetEnd > expectedEnd)
                {
                    problems.Add(new(topic, m.Partition, $"{where}: {target}'s partition ends at offset {targetEnd}, past what MM2's position accounts for ({expectedEnd}): " +
                        $"{targetEnd - expectedEnd} records were written after MM2 committed {lastCopied} (MM2 still runs, was not stopped cleanly, or another producer writes {remote}). " +
                        "Stop every writer of the remote topic, let MM2 commit and stop cleanly, and run this again", 3));
                    continue;
                }
                if (m.SourceLow > next)
                    notes.Add($"{where}: {m.SourceLow - next} records after MM2's position ({next} to {m.SourceLow - 1}) are gone from {source} (retention): Mesh counts them as expired");
                takeovers.Add(new(topic, m.Partition, remote, Mm2Start.AfterMm2, lastCopied, next, m.SourceHigh, targetEnd));
            }
        }
        return new Mm2TakeoverPlan(source, target, takeovers.ToValueList(), problems.ToValueList(), notes.ToValueList());
    }

    /// <summary>
    /// The checkpoint a replicator of S -> T reads at recovery for a partition Mesh takes over after MM2: it reads the
    /// source from the record after MM2's last, holds the source's records up to it as applied (the origin vector the
    /// replicator's idempotent apply checks), and knows the remote partition's end as its own, so MM2's copies are
    /// neither scanned as Mesh's nor reported as lost.
    /// </summary>
    /// <param name="carried">The origins the link carries (as the replicator computes them from the topology).</param>
    public static ReplicationCheckpoint Checkpoint(Mm2PartitionTakeover partition, string source, string sourceIncarnation, string targetIncarnation, OriginSet carried)
    {
        if (partition.Start != Mm2Start.AfterMm2)
            throw new ArgumentException($"{partition.Topic}/{partition.Partition} starts like a new link: its replicator writes its own first checkpoint", nameof(partition));
        var vector = new OriginVector();
        vector.Advance(OriginVector.Key(source, sourceIncarnation), partition.NextSourceOffset - 1);
        return new ReplicationCheckpoint(partition.NextSourceOffset, vector, partition.TargetEnd, sourceIncarnation, targetIncarnation, 0, 0) { Carried = carried };
    }
}
