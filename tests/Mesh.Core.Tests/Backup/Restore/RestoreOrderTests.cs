using Mesh.Core.Backup;
using Mesh.Core.Backup.Restore;
using static Mesh.Core.Tests.Backup.Restore.RestoreTestData;

namespace Mesh.Core.Tests.Backup.Restore;

public sealed class RestoreOrderTests
{
    private static readonly BackupStream A = Stream("a");
    private static readonly BackupStream B = Stream("b");

    private static string Text(PartitionOrder order) => string.Join(" ", order.Records.Select(r => $"{r.Stream.OriginRegion}{r.Record.OriginOffset}"));

    [Fact]
    public void Without_groups_streams_merge_by_timestamp()
    {
        var order = RestoreOrder.Plan([new(A, [Rec(0, 10), Rec(1, 30), Rec(2, 50)]), new(B, [Rec(0, 20), Rec(1, 40)])], []);
        Assert.Equal("a0 b0 a1 b1 a2", Text(order));
        Assert.Empty(order.Groups);
    }

    [Fact]
    public void A_stream_whose_timestamps_go_backwards_keeps_its_order()
    {
        var order = RestoreOrder.Plan([new(A, [Rec(0, 50), Rec(1, 10)]), new(B, [Rec(0, 20), Rec(1, 60)])], []);
        Assert.Equal("b0 a0 a1 b1", Text(order));
    }

    [Fact]
    public void Equal_timestamps_order_by_region_then_incarnation()
    {
        var a2 = Stream("a", "5e1f09aa");
        var order = RestoreOrder.Plan([new(B, [Rec(0, 10)]), new(a2, [Rec(0, 10)]), new(A, [Rec(0, 10)])], []);
        Assert.Equal([A, a2, B], order.Records.Select(r => r.Stream));
    }

    [Fact]
    public void Nested_groups_each_resume_exactly()
    {
        // "fast" processed a0..a2 and b0; "slow" processed a0 only; "idle" nothing; "done" everything.
        OriginRecords[] streams = [new(A, [Rec(0, 10), Rec(1, 30), Rec(2, 50), Rec(3, 70)]), new(B, [Rec(0, 20), Rec(1, 40), Rec(2, 60)])];
        GroupSnapshot[] groups =
        [
            Group("fast", 0, ("a", "1a2b3c4d", 2), ("b", "1a2b3c4d", 0)),
            Group("slow", 0, ("a", "1a2b3c4d", 0)),
            Group("idle", 0),
            Group("done", 0, ("a", "1a2b3c4d", 3), ("b", "1a2b3c4d", 2)),
        ];
        var order = RestoreOrder.Plan(streams, groups);
        // Phases: processed by all but idle (a0), by done+fast (b0 a1 a2), by done only (b1 b2 a3).
        Assert.Equal("a0 b0 a1 a2 b1 b2 a3", Text(order));
        Assert.Equal(
        [
            new GroupPosition("fast", 4, 4, 0),
            new GroupPosition("slow", 1, 1, 0),
            new GroupPosition("idle", 0, 0, 0),
            new GroupPosition("done", 7, 7, 0),
        ], order.Groups);
    }

    [Fact]
    public void Groups_whose_marks_are_not_ordered_resume_at_their_first_unprocessed_record_and_count_the_redelivered()
    {
        OriginRecords[] streams = [new(A, [Rec(0, 10), Rec(1, 30), Rec(2, 50)]), new(B, [Rec(0, 20), Rec(1, 40), Rec(2, 60)])];
        // Each processed one origin only: no order makes both exact. Equal counts: ranked by name, "ga" first.
        GroupSnapshot[] groups = [Group("gb", 0, ("b", "1a2b3c4d", 1)), Group("ga", 0, ("a", "1a2b3c4d", 1))];
        var order = RestoreOrder.Plan(streams, groups);
        Assert.Equal("a0 a1 b0 b1 a2 b2", Text(order));
        Assert.Equal(new GroupPosition("ga", 2, 2, 0), order.Groups.Single(g => g.Group == "ga"));
        Assert.Equal(new GroupPosition("gb", 0, 2, 2), order.Groups.Single(g => g.Group == "gb"));
    }

    [Fact]
    public void Marks_of_another_incarnation_do_not_count()
    {
        var order = RestoreOrder.Plan([new(A, [Rec(0, 10), Rec(1, 20)])], [Group("g", 0, ("a", "5e1f09aa", 9))]);
        Assert.Equal(new GroupPosition("g", 0, 0, 0), order.Groups.Single());
    }

    [Fact]
    public void Group_snapshot_in_force_is_the_latest_at_or_before_time_per_group_and_partition()
    {
        GroupSnapshot[] snapshots =
        [
            Group("g", 100, ("a", "1a2b3c4d", 1)), Group("g", 200, ("a", "1a2b3c4d", 2)), Group("g", 300, ("a", "1a2b3c4d", 3)),
            Group("h", 400), Group("g", 150) with { Partition = 1 }, Group("g", 150) with { Topic = "other" },
        ];
        var atTime = RestoreOrder.GroupsAt(snapshots, Topic, 0, 250);
        Assert.Equal(200, Assert.Single(atTime).TakenAtMs);
        Assert.Equal(["g", "h"], RestoreOrder.GroupsAt(snapshots, Topic, 0, 1000).Select(g => g.Group));
        Assert.Empty(RestoreOrder.GroupsAt(snapshots, Topic, 0, 99));
    }

    [Fact]
    public void Bad_input_is_refused()
    {
        Assert.Throws<ArgumentException>(() => RestoreOrder.Plan([new(A, [Rec(1, 10), Rec(0, 20)])], []));
        Assert.Throws<ArgumentException>(() => RestoreOrder.Plan([new(A, []), new(A, [])], []));
        Assert.Throws<ArgumentException>(() => RestoreOrder.Plan([new(A, [])], [Group("g", 1), Group("g", 2)]));
    }

    public static TheoryData<int> Seeds => [.. Enumerable.Range(0, 40)];

    /// <summary>
    /// Random streams (timestamps sometimes going backwards) and random groups, nested or not: every record once,
    /// every stream in order, each position the first record its group had not processed, with exactly the
    /// processed records after it counted; nested groups always exact; the plan independent of input order.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_interleavings_keep_the_rules(int seed)
    {
        var random = new Random(seed);
        var streams = new List<OriginRecords>();
        var streamCount = random.Next(1, 5);
        for (var s = 0; s < streamCount; s++)
        {
            var stream = Stream(((char)('a' + s)).ToString(), random.Next(2) == 0 ? "1a2b3c4d" : "5e1f09aa");
            if (streams.Any(o => o.Stream == stream)) continue;
            var offset = random.Next(0, 5);
            var records = new List<BackupRecord>();
            var timestamp = random.Next(0, 100);
            for (var i = random.Next(0, 30); i > 0; i--)
            {
                records.Add(Rec(offset, timestamp));
                offset += random.Next(1, 3); // gaps happen
                timestamp += random.Next(5) == 0 ? -random.Next(0, 20) : random.Next(0, 10);
            }
            streams.Add(new OriginRecords(stream, records));
        }
        var nested = random.Next(2) == 0;
        var groups = new List<GroupSnapshot>();
        // The highest mark the next group may have per stream (inclusive).
        var bound = streams.ToDictionary(s => s.Stream, s => s.Records.Count == 0 ? 0L : s.Records[^1].OriginOffset + 1);
        for (var g = random.Next(0, 5); g > 0; g--)
        {
            // Nested: each group's marks at or below the previous one's, per origin.
            var marks = streams
                .Where(_ => nested || random.Next(3) > 0)
                .Select(s => (s.Stream.OriginRegion, s.Stream.OriginIncarnation, Offset: (long)random.Next(-1, (int)bound[s.Stream] + 1)))
                .ToArray();
            if (nested) foreach (var i in Enumerable.Range(0, marks.Length)) bound[streams[i].Stream] = marks[i].Offset;
            groups.Add(Group($"g{g}", 0, marks));
        }

        var order = RestoreOrder.Plan(streams, groups);

        var expected = streams.SelectMany(s => s.Records.Select(r => $"{s.Stream} {r.OriginOffset}")).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, order.Records.Select(r => $"{r.Stream} {r.Record.OriginOffset}").Order(StringComparer.Ordinal).ToList());
        foreach (var stream in streams)
            Assert.Equal(stream.Records.Select(r => r.OriginOffset), order.Records.Where(r => r.Stream == stream.Stream).Select(r => r.Record.OriginOffset));

        foreach (var group in groups)
        {
            bool Processed(PlannedRecord r) =>
                group.Marks.Any(m => m.Region == r.Stream.OriginRegion && m.Incarnation == r.Stream.OriginIncarnation && r.Record.OriginOffset <= m.Offset);
            var position = order.Groups.Single(p => p.Group == group.Group);
            Assert.All(order.Records.Take((int)position.Position), r => Assert.True(Processed(r), $"seed {seed}: {group.Group} did not process a record before its position"));
            if (position.Position < order.Records.Count) Assert.False(Processed(order.Records[(int)position.Position]), $"seed {seed}: position is a processed record");
            Assert.Equal(order.Records.Skip((int)position.Position).Count(Processed), position.Redelivered);
            Assert.Equal(order.Records.Count(Processed), position.Processed);
            if (nested) Assert.True(position.Redelivered == 0, $"seed {seed}: nested groups must be exact, {group.Group} re-delivers {position.Redelivered}");
        }

        if (groups.Count == 0 && streams.All(s => s.Records.Zip(s.Records.Skip(1)).All(p => p.First.TimestampMs <= p.Second.TimestampMs)))
            Assert.True(order.Records.Zip(order.Records.Skip(1)).All(p => p.First.Record.TimestampMs <= p.Second.Record.TimestampMs), $"seed {seed}: not by timestamp");

        var shuffled = streams.OrderBy(_ => random.Next()).ToList();
        var again = RestoreOrder.Plan(shuffled, [.. groups.OrderBy(_ => random.Next())]);
        Assert.Equal(order.Records, again.Records);
    }
}
