using Mesh.Core.Backup;
using Mesh.Core.Backup.Restore;
using static Mesh.Core.Tests.Backup.Restore.RestoreTestData;

namespace Mesh.Core.Tests.Backup.Restore;

public sealed class PrunePlannerTests
{
    private static readonly BackupStream A = Stream("a");
    private static readonly BackupStream B = Stream("b", partition: 1);
    private const long Cutoff = 10_000;

    private static Task<PrunePlan> Plan(CatalogTopic topic, IReadOnlyDictionary<(BackupStream, long), IReadOnlyList<BackupRecord>>? records = null,
        IReadOnlyList<StoredObject>? orphans = null) =>
        PrunePlanner.PlanAsync([topic], orphans ?? [], Cutoff,
            (stream, entry, _) => Task.FromResult(records?[(stream, entry.Sequence)] ?? throw new InvalidOperationException("read a segment of a retention topic")),
            CancellationToken.None);

    [Fact]
    public void Retention_of_every_config_in_force_from_the_cutoff_on_decides()
    {
        TopicConfigSnapshot[] configs = [Config(0, ("retention.ms", "1000")), Config(5000, ("retention.ms", "3000")), Config(12_000, ("retention.ms", "2000"))];
        Assert.Equal(3000, PrunePlanner.RetentionFrom(configs, Cutoff));
        Assert.Equal(3000, PrunePlanner.RetentionFrom(configs, 4000)); // 1000 in force at 4000, 3000 and 2000 later
        Assert.Null(PrunePlanner.RetentionFrom([.. configs, Config(20_000, ("cleanup.policy", "compact"))], Cutoff));
        Assert.Null(PrunePlanner.RetentionFrom([], Cutoff));
        // A compacted config replaced before the cut-off no longer matters.
        Assert.Equal(1000, PrunePlanner.RetentionFrom([Config(0, ("cleanup.policy", "compact")), Config(100, ("retention.ms", "1000"))], Cutoff));
    }

    [Fact]
    public async Task Retention_topic_loses_leading_segments_wholly_older_than_cutoff_minus_retention_never_the_last()
    {
        var topic = new CatalogTopic(Topic, [Config(0, ("retention.ms", "1000"))],
        [
            new(A, [Entry(0, 0, 9, 100, 8000), Entry(1, 10, 19, 8500, 9000), Entry(2, 20, 29, 8000, 9500), Entry(3, 30, 39, 7000, 8200)]),
            new(B, [Entry(0, 0, 9, 100, 200)]), // its only segment, old as it is: the last stays
        ]);
        var plan = await Plan(topic);
        // Limit 9000: entries 0 (newest 8000) and 1 (newest exactly 9000) go; 2 (newest 9500) stops the prefix, so 3 stays though old.
        Assert.Equal([(A, 0L), (A, 1L)], plan.Segments.Select(s => (s.Stream, s.Entry.Sequence)));
        Assert.Contains("at or before 1970-01-01T00:00:09.000Z", plan.Segments[0].Reason);
    }

    [Fact]
    public async Task Compacted_topic_loses_a_segment_only_when_each_record_is_superseded_in_its_stream_by_the_cutoff()
    {
        var records = new Dictionary<(BackupStream, long), IReadOnlyList<BackupRecord>>
        {
            [(A, 0)] = [Rec(0, 100, "k1", "a"), Rec(1, 200, "k2", "b")],
            [(A, 1)] = [Rec(2, 300, "k1", "c"), Rec(3, 400, "k2", null)],       // supersedes all of 0; a tombstone for k2
            [(A, 2)] = [Rec(4, 500, "k1", "d"), Rec(5, 600, null, "keyless")], // keyless: never superseded
            [(A, 3)] = [Rec(6, 20_000, "k2", "late"), Rec(7, 20_001, "k1", "late")], // after the cut-off: supersedes nothing
        };
        var topic = new CatalogTopic(Topic, [Config(0, ("cleanup.policy", "compact"))],
        [
            new(A, [Entry(0, 0, 1, 100, 200), Entry(1, 2, 3, 300, 400), Entry(2, 4, 5, 500, 600), Entry(3, 6, 7, 20_000, 20_001)]),
        ]);
        var plan = await Plan(topic, records);
        // 0 goes; 1 stays (k2's tombstone at 3 is the latest k2 by the cut-off), so 2 stays too.
        Assert.Equal([0L], plan.Segments.Select(s => s.Entry.Sequence));
    }

    [Fact]
    public async Task Records_of_another_stream_never_supersede()
    {
        var other = Stream("z");
        var records = new Dictionary<(BackupStream, long), IReadOnlyList<BackupRecord>>
        {
            [(A, 0)] = [Rec(0, 100, "k", "a")],
            [(A, 1)] = [Rec(1, 150, "j", "a")],
            [(other, 0)] = [Rec(0, 500, "k", "z")],
            [(other, 1)] = [Rec(1, 600, "x", "z")],
        };
        var topic = new CatalogTopic(Topic, [], [new(A, [Entry(0, 0, 0, 100, 100), Entry(1, 1, 1, 150, 150)]), new(other, [Entry(0, 0, 0, 500, 500), Entry(1, 1, 1, 600, 600)])]);
        Assert.Empty((await Plan(topic, records)).Segments);
    }

    [Fact]
    public async Task Orphans_below_the_first_kept_entry_go_others_stay()
    {
        var topic = new CatalogTopic(Topic, [Config(0, ("retention.ms", "1000"))], [new(A, [Entry(3, 30, 39, 100, 200), Entry(4, 40, 49, 9500, 9600)])]);
        var folder = BackupLayout.StreamFolder(A);
        StoredObject[] orphans =
        [
            new(folder + "segments/0000000002-0000000000000000020-0000000000000000029-old.seg", 10), // a prune's leftover
            new(folder + "segments/0000000005-0000000000000000050-0000000000000000059-live.seg", 10), // an append in flight
            new(folder + "segments/0000000003-0000000000000000030-0000000000000000039-lost.seg", 10), // lost the race for 3: first kept is 4 after this prune
            new("topics/orders/0/elsewhere/segments/junk.seg", 1),
        ];
        var plan = await Plan(topic, orphans: orphans);
        Assert.Equal([3L], plan.Segments.Select(s => s.Entry.Sequence));
        Assert.Equal([orphans[0].Name, orphans[2].Name], plan.Orphans.Select(o => o.Name));
        Assert.Equal(5 + 20, plan.Bytes);
    }

    [Theory]
    [InlineData("topics/t/0/r@i/segments/0000000012-0000000000000000001-0000000000000000002-w.seg", 12L)]
    [InlineData("topics/t/0/r@i/segments/x-1.seg", null)]
    [InlineData("topics/t/0/r@i/manifest/0000000012.json", null)]
    public void Segment_sequence_from_its_name(string name, long? expected) => Assert.Equal(expected, PrunePlanner.SegmentSequence(name));
}
