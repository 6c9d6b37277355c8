namespace Mesh.Core.Backup.Restore;

/// <summary>The selected records of one origin stream of a partition, in origin order.</summary>
public sealed record OriginRecords(BackupStream Stream, IReadOnlyList<BackupRecord> Records);

/// <summary>A record in the order a restore writes it: its origin stream and what it holds.</summary>
public sealed record PlannedRecord(BackupStream Stream, BackupRecord Record);

/// <summary>
/// Where a group resumes in the restored partition: <paramref name="Position"/> is the index of the first
/// record it had not processed (the offset to commit, counted from the restore's first record).
/// <paramref name="Redelivered"/> counts records it had processed that come after that position (its marks and
/// another group's are not ordered, so no order makes both exact): it gets those again.
/// </summary>
public sealed record GroupPosition(string Group, long Position, long Processed, long Redelivered);

/// <summary>One partition's write order and the groups' positions in it.</summary>
public sealed record PartitionOrder(IReadOnlyList<PlannedRecord> Records, IReadOnlyList<GroupPosition> Groups);

/// <summary>
/// The order a restore writes a partition in. Without groups: a merge of the origin streams by timestamp
/// (then origin, then offset) that never reorders a stream. With groups, in phases, so that what each group
/// had processed is a prefix of the partition and its position is exact: first the records every group had
/// processed, then those only the groups that processed most had (groups ranked by how much they processed),
/// then the rest. A group's marks are per origin stream (everything at or below the mark), so within a
/// stream a record processed by fewer groups never precedes one processed by more: phases keep stream order.
/// </summary>
public static class RestoreOrder
{
    /// <summary>Per group, the latest snapshot of <paramref name="topic"/>/<paramref name="partition"/> taken at or before <paramref name="atMs"/>.</summary>
    public static IReadOnlyList<GroupSnapshot> GroupsAt(IEnumerable<GroupSnapshot> snapshots, string topic, int partition, long atMs) =>
        [.. snapshots
            .Where(s => s.Topic == topic && s.Partition == partition && s.TakenAtMs <= atMs)
            .GroupBy(s => s.Group, StringComparer.Ordinal)
            .Select(g => g.OrderBy(s => s.TakenAtMs).ThenBy(s => s.Region, StringComparer.Ordinal).Last())
            .OrderBy(s => s.Group, StringComparer.Ordinal)];

    public static PartitionOrder Plan(IReadOnlyList<OriginRecords> streams, IReadOnlyList<GroupSnapshot> groups)
    {
        var distinct = groups.Select(g => g.Group).Distinct(StringComparer.Ordinal).Count();
        if (distinct != groups.Count) throw new ArgumentException("one snapshot per group: pick the one in force with GroupsAt", nameof(groups));
        var streamKeys = streams.Select(s => s.Stream).ToList();
        if (streamKeys.Distinct().Count() != streamKeys.Count) throw new ArgumentException("each origin stream once", nameof(streams));

        var marks = groups.Select(Marks).ToArray();
        // Rank groups by how much they processed, most first (ties by name, so every run agrees).
        var processedCount = marks.Select(m => streams.Sum(s => s.Records.LongCount(r => Processed(m, s.Stream, r)))).ToArray();
        var ranked = Enumerable.Range(0, groups.Count)
            .OrderByDescending(i => processedCount[i]).ThenBy(i => groups[i].Group, StringComparer.Ordinal).ToArray();

        // A record's phase: how many of the ranked groups, from the first, all processed it.
        var phases = new List<List<(BackupStream Stream, BackupRecord Record)>>[groups.Count + 1];
        for (var p = 0; p <= groups.Count; p++) phases[p] = [.. streams.Select(_ => new List<(BackupStream, BackupRecord)>())];
        for (var s = 0; s < streams.Count; s++)
        {
            var previous = long.MinValue;
            foreach (var record in streams[s].Records)
            {
                if (record.OriginOffset <= previous)
                    throw new ArgumentException($"{streams[s].Stream}: records must be in origin order ({record.OriginOffset} after {previous})", nameof(streams));
                previous = record.OriginOffset;
                var rank = 0;
                while (rank < ranked.Length && Processed(marks[ranked[rank]], streams[s].Stream, record)) rank++;
                phases[rank][s].Add((streams[s].Stream, record));
            }
        }

        var order = new List<PlannedRecord>(streams.Sum(s => s.Records.Count));
        for (var p = groups.Count; p >= 0; p--) Merge(phases[p], order);

        var positions = new List<GroupPosition>(groups.Count);
        for (var g = 0; g < groups.Count; g++)
        {
            var position = order.FindIndex(r => !Processed(marks[g], r.Stream, r.Record));
            if (position < 0) position = order.Count;
            long redelivered = 0;
            for (var i = position; i < order.Count; i++)
                if (Processed(marks[g], order[i].Stream, order[i].Record)) redelivered++;
            positions.Add(new GroupPosition(groups[g].Group, position, processedCount[g], redelivered));
        }
        return new PartitionOrder(order, positions);
    }

    /// <summary>Merges streams (each in order) by their heads' timestamp, origin and offset.</summary>
    private static void Merge(List<List<(BackupStream Stream, BackupRecord Record)>> streams, List<PlannedRecord> into)
    {
        var queue = new PriorityQueue<int, (long Timestamp, string Region, string Incarnation, long Offset)>(HeadOrder.Instance);
        var next = new int[streams.Count];
        for (var s = 0; s < streams.Count; s++)
            if (streams[s].Count > 0) queue.Enqueue(s, Head(streams[s][0]));
        while (queue.TryDequeue(out var s, out _))
        {
            var (stream, record) = streams[s][next[s]++];
            into.Add(new PlannedRecord(stream, record));
            if (next[s] < streams[s].Count) queue.Enqueue(s, Head(streams[s][next[s]]));
        }
    }

    private static (long, string, string, long) Head((BackupStream Stream, BackupRecord Record) item) =>
        (item.Record.TimestampMs, item.Stream.OriginRegion, item.Stream.OriginIncarnation, item.Record.OriginOffset);

    private static Dictionary<(string Region, string Incarnation), long> Marks(GroupSnapshot snapshot)
    {
        var marks = new Dictionary<(string, string), long>();
        foreach (var mark in snapshot.Marks)
            marks[(mark.Region, mark.Incarnation)] = Math.Max(mark.Offset, marks.GetValueOrDefault((mark.Region, mark.Incarnation), long.MinValue));
        return marks;
    }

    private static bool Processed(Dictionary<(string Region, string Incarnation), long> marks, BackupStream stream, BackupRecord record) =>
        marks.TryGetValue((stream.OriginRegion, stream.OriginIncarnation), out var mark) && record.OriginOffset <= mark;

    private sealed class HeadOrder : IComparer<(long Timestamp, string Region, string Incarnation, long Offset)>
    {
        public static readonly HeadOrder Instance = new();

        public int Compare((long Timestamp, string Region, string Incarnation, long Offset) x, (long Timestamp, string Region, string Incarnation, long Offset) y)
        {
            var c = x.Timestamp.CompareTo(y.Timestamp);
            if (c != 0) return c;
            c = string.CompareOrdinal(x.Region, y.Region);
            if (c != 0) return c;
            c = string.CompareOrdinal(x.Incarnation, y.Incarnation);
            return c != 0 ? c : x.Offset.CompareTo(y.Offset);
        }
    }
}
