using System.Text;
using Mesh.Client.Audit;
using Mesh.Client.Local;
using Mesh.Core.Replication;
using Mesh.Core.Topology;
using Mesh.Grains.Ports;
using RecordHeader = Mesh.Core.Replication.RecordHeader;

namespace Mesh.Integration.Tests;

/// <summary>
/// The audit's pure parts (offset sets, record identity, the comparer, what to compare, the input
/// syntax, the report lines), with plain values: no Kafka, no processes. They live here because
/// only this test project references the client.
/// </summary>
public sealed class AuditComparerTests
{
    private const string Topic = "orders";
    private const string East = "us-east";
    private const string West = "eu-west";
    private const string EastIncarnation = "1e1e1e1e";
    private const string WestIncarnation = "2f2f2f2f";
    private const long Timestamp = 1_800_000_000_000;

    // Records as regions hold them.

    private static SourceRecord Local(long offset, string? key = null, string? value = "v", long timestamp = Timestamp) =>
        new(offset, key is null ? null : Encoding.UTF8.GetBytes(key), value is null ? null : Encoding.UTF8.GetBytes(value), timestamp, []);

    /// <summary>A record replicated from <paramref name="origin"/> into <paramref name="region"/>, with the header the mesh writes.</summary>
    private static SourceRecord Replicated(long offset, string origin, string incarnation, long originOffset, string region, int partition = 0,
        string? key = null, string? value = "v", long timestamp = Timestamp)
    {
        var header = ProvenanceCodec.Encode(new Provenance(origin, incarnation, Topic, partition, originOffset, timestamp, [origin, region]));
        return Local(offset, key, value, timestamp) with { Headers = [new RecordHeader(ProvenanceCodec.HeaderName, header)] };
    }

    private static PartitionTally Tally(string region, IEnumerable<SourceRecord> records, ConflictPolicy policy = ConflictPolicy.None, long logStart = 0)
    {
        var tally = new PartitionTally(region, region == East ? EastIncarnation : WestIncarnation, Topic, 0, policy, logStart: logStart);
        foreach (var record in records) tally.Add(record);
        return tally;
    }

    private static PartitionAudit Compare(PartitionTally? east, PartitionTally? west, ConflictPolicy policy = ConflictPolicy.None,
        Func<string, string, bool>? expects = null) =>
        AuditComparer.Compare(0, policy, [new PartitionCopy(East, Topic, east), new PartitionCopy(West, Topic, west)], expects ?? ((_, _) => true));

    /// <summary>us-east produced 0..count-1 locally; eu-west holds each of them replicated, after <paramref name="westOwn"/> records of its own.</summary>
    private static (List<SourceRecord> East, List<SourceRecord> West) Healthy(int count, int westOwn = 0)
    {
        var east = Enumerable.Range(0, count).Select(i => Local(i)).ToList();
        var west = Enumerable.Range(0, westOwn).Select(i => Local(i))
            .Concat(Enumerable.Range(0, count).Select(i => Replicated(westOwn + i, East, EastIncarnation, i, West)))
            .ToList();
        return (east, west);
    }

    // Offset sets.

    [Theory]
    [InlineData("0-10", "2-3,5-5", "0-1,4-4,6-10")]
    [InlineData("0-10", "", "0-10")]
    [InlineData("0-10", "0-10", "")]
    [InlineData("0-4,10-14", "3-11", "0-2,12-14")]
    [InlineData("5-9", "0-4,10-20", "5-9")]
    public void Except_leaves_what_the_second_set_lacks(string all, string held, string missing) =>
        Assert.Equal(Ranges(missing), OffsetRanges.Except(Ranges(all), Ranges(held)));

    [Fact]
    public void Union_merges_overlapping_and_adjacent_ranges() =>
        Assert.Equal(Ranges("0-12,20-20"), OffsetRanges.Union([Ranges("0-4,10-12"), Ranges("5-9"), Ranges("20-20")]));

    [Fact]
    public void Ranges_are_described_the_way_people_read_offsets()
    {
        Assert.Equal("120, 121, 407", OffsetRanges.Describe(Ranges("120-121,407-407")));
        Assert.Equal("0-999, 1200", OffsetRanges.Describe(Ranges("0-999,1200-1200")));
        Assert.Equal("1, 3, 5, 7, 9, ...", OffsetRanges.Describe(Ranges("1-1,3-3,5-5,7-7,9-9,11-11")));
    }

    [Fact]
    public void Contiguous_origin_offsets_are_one_range_whatever_sits_between_them()
    {
        var offsets = new OriginOffsets();
        // Origin offsets 0..999 at offsets that jump every 10 records (other origins' records between them).
        for (var i = 0; i < 1000; i++) offsets.Add(i, i + i / 10 * 5);
        Assert.Equal(1000, offsets.Count);
        Assert.Equal(Ranges("0-999"), offsets.Ranges());
        Assert.Equal(0, offsets.DuplicateCount);
    }

    [Fact]
    public void A_repeated_origin_offset_is_a_duplicate_with_both_offsets()
    {
        var offsets = new OriginOffsets();
        for (var i = 0; i < 100; i++) offsets.Add(i, 200 + i);
        offsets.Add(55, 300);
        offsets.Add(55, 301);
        Assert.Equal(100, offsets.Count);
        Assert.Equal(2, offsets.DuplicateCount);
        var duplicate = Assert.Single(offsets.Duplicates);
        Assert.Equal(55, duplicate.OriginOffset);
        Assert.Equal([255L, 300L, 301L], duplicate.Offsets);
    }

    [Fact]
    public void Origin_offsets_out_of_order_are_kept_sorted_and_not_mistaken_for_duplicates()
    {
        var offsets = new OriginOffsets();
        foreach (var (origin, at) in new[] { (10L, 0L), (11L, 1L), (3L, 2L), (5L, 3L), (4L, 4L), (12L, 5L) }) offsets.Add(origin, at);
        Assert.Equal(Ranges("3-5,10-12"), offsets.Ranges());
        Assert.Equal(0, offsets.DuplicateCount);
        offsets.Add(4, 6);
        Assert.Equal(4, Assert.Single(offsets.Duplicates).OriginOffset);
        Assert.Equal([4L, 6L], offsets.Duplicates[0].Offsets);
    }

    // Append topics.

    [Fact]
    public void Regions_holding_every_origin_record_once_agree()
    {
        var (east, west) = Healthy(50, westOwn: 7);
        // us-east also holds eu-west's 7 records, replicated after its own.
        east.AddRange(Enumerable.Range(0, 7).Select(i => Replicated(50 + i, West, WestIncarnation, i, East)));

        var audit = Compare(Tally(East, east), Tally(West, west));

        Assert.True(audit.Agree, string.Join("; ", audit.Problems));
        Assert.Equal(57, audit.Regions.Single(r => r.Region == West).Records);
        Assert.Equal(new Dictionary<string, long> { [East] = 50, [West] = 7 }, audit.Regions.Single(r => r.Region == West).RecordsByOrigin);
    }

    [Fact]
    public void Records_a_region_lacks_are_missing_there_with_their_origin_offsets()
    {
        var (east, west) = Healthy(500);
        west.RemoveAll(r => r.Offset is 120 or 121 or 407);

        var problem = Assert.Single(Compare(Tally(East, east), Tally(West, west)).Problems);

        Assert.Equal(ProblemKind.Missing, problem.Kind);
        Assert.Equal(West, problem.Region);
        Assert.Equal(new OriginStream(East, EastIncarnation), problem.Origin);
        Assert.Equal(3, problem.Count);
        Assert.Equal(Ranges("120-121,407-407"), problem.OriginRanges);
    }

    [Fact]
    public void A_record_held_twice_is_a_duplicate_naming_its_origin_offset_and_both_offsets()
    {
        var (east, west) = Healthy(300);
        west.Add(Replicated(300, East, EastIncarnation, 55, West));

        var problem = Assert.Single(Compare(Tally(East, east), Tally(West, west)).Problems);

        Assert.Equal(ProblemKind.Duplicate, problem.Kind);
        Assert.Equal(West, problem.Region);
        Assert.Equal(1, problem.Count);
        Assert.Equal(new DuplicateRecord(55, [55, 300]), problem.Duplicates.Single(), new DuplicateComparer());
    }

    [Fact]
    public void Records_of_an_origin_that_does_not_reach_a_region_are_not_expected_there()
    {
        var (east, _) = Healthy(20);
        // Active-passive with eu-west as primary: us-east's own records go nowhere.
        var audit = Compare(Tally(East, east), Tally(West, []), expects: (origin, region) => origin == region || origin == West);
        Assert.True(audit.Agree, string.Join("; ", audit.Problems));
    }

    [Fact]
    public void A_region_without_the_partition_lacks_every_record_expected_there()
    {
        var (east, _) = Healthy(10);
        var audit = Compare(Tally(East, east), null);
        var problem = Assert.Single(audit.Problems);
        Assert.Equal((ProblemKind.Missing, West, 10L), (problem.Kind, problem.Region, problem.Count));
        Assert.False(audit.Regions.Single(r => r.Region == West).Present);
    }

    [Fact]
    public void Records_before_a_trimmed_log_start_are_not_counted_as_missing()
    {
        // us-east's retention removed its offsets 0..99; eu-west still holds them all.
        var (east, west) = Healthy(200);
        var audit = Compare(Tally(East, east.Skip(100), logStart: 100), Tally(West, west));
        Assert.True(audit.Agree, string.Join("; ", audit.Problems));
        Assert.Equal(100, audit.Regions.Single(r => r.Region == East).NotChecked);

        // Trimmed in eu-west instead, which also lost a record after what it still holds: that one is missing.
        west = [.. west.Skip(100).Where(r => r.Offset != 150)];
        var problem = Assert.Single(Compare(Tally(East, east), Tally(West, west, logStart: 100)).Problems);
        Assert.Equal(Ranges("150-150"), problem.OriginRanges);
    }

    [Fact]
    public void Records_of_an_earlier_incarnation_are_their_own_stream()
    {
        // us-east's Kafka came back empty: its old records live on in eu-west only, and its new offsets start again at 0.
        var east = Enumerable.Range(0, 5).Select(i => Local(i)).ToList();
        var west = Enumerable.Range(0, 5).Select(i => Replicated(i, East, "0bad0bad", i, West))
            .Concat(Enumerable.Range(0, 5).Select(i => Replicated(5 + i, East, EastIncarnation, i, West)))
            .ToList();

        var problem = Assert.Single(Compare(Tally(East, east), Tally(West, west)).Problems);

        Assert.Equal((ProblemKind.Missing, East, 5L), (problem.Kind, problem.Region, problem.Count));
        Assert.Equal(new OriginStream(East, "0bad0bad"), problem.Origin);
        var report = new AuditReport(new Dictionary<string, string> { [East] = EastIncarnation, [West] = WestIncarnation }, NamingPolicy.Identity, []);
        Assert.Contains("  us-east partition 0: 5 records of us-east (earlier incarnation 0bad0bad) missing (origin offsets 0-4)",
            AuditOutput.Lines(report with { Topics = [TopicOf(Compare(Tally(East, east), Tally(West, west)))] }));
    }

    [Fact]
    public void A_header_the_mesh_would_not_believe_makes_the_record_the_regions_own()
    {
        var (east, west) = Healthy(10);
        // An application in eu-west copied a replicated record, header and all, with a new timestamp.
        var copied = Replicated(10, East, EastIncarnation, 3, West) with { TimestampMs = Timestamp + 1 };
        // And wrote a header naming eu-west itself as the origin.
        var own = Local(11) with { Headers = [new RecordHeader(ProvenanceCodec.HeaderName, ProvenanceCodec.Encode(Provenance.Local(West, WestIncarnation, Topic, 0, 99, Timestamp)))] };
        west.AddRange([copied, own]);

        var audit = Compare(Tally(East, east), Tally(West, west));

        var problem = Assert.Single(audit.Problems);
        Assert.Equal((ProblemKind.Missing, East, 2L), (problem.Kind, problem.Region, problem.Count));
        Assert.Equal(new OriginStream(West, WestIncarnation), problem.Origin);
        Assert.Equal(Ranges("10-11"), problem.OriginRanges);
        Assert.Equal(2, audit.Regions.Single(r => r.Region == West).UntrustedHeaders);
    }

    // Last-writer-wins topics.

    [Fact]
    public void Regions_that_end_every_key_on_the_same_record_agree_whatever_came_before()
    {
        var east = new[] { Local(0, "k1", "a"), Local(1, "k2", "b"), Local(2, "k1", "c") };
        // eu-west got the same last records, in another order, after an older value of its own.
        var west = new[]
        {
            Local(0, "k1", "old", Timestamp - 10),
            Replicated(1, East, EastIncarnation, 1, West, key: "k2", value: "b"),
            Replicated(2, East, EastIncarnation, 2, West, key: "k1", value: "c"),
        };
        var audit = Compare(Tally(East, east, ConflictPolicy.Lww), Tally(West, west, ConflictPolicy.Lww), ConflictPolicy.Lww);
        Assert.True(audit.Agree, string.Join("; ", audit.Problems));
        Assert.Equal(2, audit.Regions.Single(r => r.Region == West).Keys);
    }

    [Fact]
    public void Keys_whose_last_record_differs_are_named_with_every_regions_last_record()
    {
        var east = new[] { Local(0, "k1", "a"), Local(1, "k2", "b"), Local(2, "k3", "c"), Local(3, null, "unkeyed") };
        var west = new[]
        {
            Replicated(0, East, EastIncarnation, 0, West, key: "k1", value: "a"),
            Local(1, "k2", "B"),                         // another value
            Local(2, "k3", null),                        // a tombstone
            Local(3, "k4", "only-here"),                 // a key us-east lacks
        };

        var audit = Compare(Tally(East, east, ConflictPolicy.Lww), Tally(West, west, ConflictPolicy.Lww), ConflictPolicy.Lww);

        var problem = Assert.Single(audit.Problems);
        Assert.Equal((ProblemKind.Diverged, null, 3L), (problem.Kind, problem.Region, problem.Count));
        Assert.Equal(["k2", "k3", "k4"], problem.Keys.Select(k => Encoding.UTF8.GetString(k.Key)).Order());
        var k3 = problem.Keys.Single(k => Encoding.UTF8.GetString(k.Key) == "k3");
        Assert.True(k3.Finals[West]!.Value.Tombstone);
        Assert.False(k3.Finals[East]!.Value.Tombstone);
        Assert.Null(problem.Keys.Single(k => Encoding.UTF8.GetString(k.Key) == "k4").Finals[East]);
        Assert.Equal(1, audit.Regions.Single(r => r.Region == East).Unkeyed);
    }

    [Fact]
    public void A_deleted_key_agrees_whether_a_region_keeps_its_tombstone_or_compaction_removed_it()
    {
        var east = new[] { Local(0, "gone", "v"), Local(1, "gone", null), Local(2, "also-gone", null) };
        // eu-west's compaction already dropped both tombstones, and with them the older value; a tombstone of another time is still a delete.
        var west = new[] { Local(0, "also-gone", null, Timestamp + 5) };
        var audit = Compare(Tally(East, east, ConflictPolicy.Lww), Tally(West, west, ConflictPolicy.Lww), ConflictPolicy.Lww);
        Assert.True(audit.Agree, string.Join("; ", audit.Problems));

        var live = Compare(Tally(East, [Local(0, "k", null)], ConflictPolicy.Lww), Tally(West, [Local(0, "k", "v")], ConflictPolicy.Lww), ConflictPolicy.Lww);
        Assert.Equal(ProblemKind.Diverged, Assert.Single(live.Problems).Kind);
    }

    [Fact]
    public void The_same_value_with_another_timestamp_is_another_record()
    {
        var audit = Compare(Tally(East, [Local(0, "k", "v")], ConflictPolicy.Lww), Tally(West, [Local(0, "k", "v", Timestamp + 1)], ConflictPolicy.Lww), ConflictPolicy.Lww);
        Assert.Equal(ProblemKind.Diverged, Assert.Single(audit.Problems).Kind);
    }

    // What to compare.

    private static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> TwoRegions = new Dictionary<string, IReadOnlyDictionary<string, int>>
    {
        [East] = new Dictionary<string, int> { [Topic] = 4, ["payments"] = 2, ["__mesh_checkpoints"] = 1 },
        [West] = new Dictionary<string, int> { [Topic] = 4 },
    };

    private static Topology TopologyOf(string yaml) => Topology.Load(yaml, "t.yaml").Topology ?? throw new InvalidOperationException("invalid test topology");

    [Fact]
    public void Every_non_internal_topic_of_any_region_is_audited_without_a_topology_where_it_is_held()
    {
        var subjects = AuditPlan.Build(TwoRegions, null, []);
        Assert.Equal(["orders", "payments"], subjects.Select(s => s.Topic));
        Assert.Equal([West, East], subjects[0].Members.Select(m => m.Region));
        Assert.Equal([East], subjects[1].Members.Select(m => m.Region));
        Assert.All(subjects, s => Assert.Equal(ConflictPolicy.None, s.Policy));
    }

    [Fact]
    public void With_a_topology_a_region_a_topic_should_reach_is_audited_even_without_it()
    {
        var topology = TopologyOf($"name: t\nversion: 1\npattern: mesh\nregions:\n  {East}: {{}}\n  {West}: {{}}\ntopics:\n  conflict:\n    payments: lww\n");
        var payments = AuditPlan.Build(TwoRegions, topology, ["payments"]).Single();
        Assert.Equal(ConflictPolicy.Lww, payments.Policy);
        Assert.Equal([(West, 0), (East, 2)], payments.Members.Select(m => (m.Region, m.Partitions)));
    }

    [Fact]
    public void Routes_and_topic_selection_decide_which_origins_are_expected_where()
    {
        var topology = TopologyOf($"name: t\nversion: 1\npattern: active-passive\nprimary: {East}\nregions:\n  {East}: {{}}\n  {West}: {{}}\n" +
                                  "topics:\n  exclude: [\"payments\"]\n");
        var subjects = AuditPlan.Build(TwoRegions, topology, []);
        var orders = subjects.Single(s => s.Topic == Topic);
        Assert.True(orders.Expects(East, West));
        Assert.False(orders.Expects(West, East));
        Assert.True(orders.Expects(West, West));
        Assert.False(subjects.Single(s => s.Topic == "payments").Expects(East, West));
    }

    [Fact]
    public void Under_prefix_naming_a_topic_is_compared_with_its_remote_copies()
    {
        var topics = new Dictionary<string, IReadOnlyDictionary<string, int>>
        {
            [East] = new Dictionary<string, int> { [Topic] = 2, [$"{West}.{Topic}"] = 2 },
            [West] = new Dictionary<string, int> { [Topic] = 2, [$"{East}.{Topic}"] = 2 },
        };
        var topology = TopologyOf($"name: t\nversion: 1\nnaming: prefix\npattern: mesh\nregions:\n  {East}: {{}}\n  {West}: {{}}\n");

        var subjects = AuditPlan.Build(topics, topology, []);

        Assert.Equal([$"{Topic} of {West}", $"{Topic} of {East}"], subjects.Select(s => s.Label));
        var ofEast = subjects.Single(s => s.Origin == East);
        Assert.Equal([(East, Topic), (West, $"{East}.{Topic}")], ofEast.Members.Select(m => (m.Region, m.Topic)));
        Assert.True(ofEast.Expects(East, West));
        Assert.False(ofEast.Expects(West, East));
    }

    [Theory]
    [InlineData("__consumer_offsets", "internal topic")]
    [InlineData("nope", "no region holds 'nope'")]
    public void A_topic_that_cannot_be_audited_is_bad_input(string topic, string message)
    {
        var e = Assert.Throws<MeshCommandException>(() => AuditPlan.Build(TwoRegions, null, [topic]));
        Assert.Equal(2, e.ExitCode);
        Assert.Contains(message, e.Message);
    }

    // Where the regions are.

    [Fact]
    public void Bootstrap_names_each_region_with_its_servers()
    {
        var regions = AuditTargets.ParseBootstrap("us-east=b1:9092,b2:9092, eu-west=b3:9092");
        Assert.Equal(new Dictionary<string, string> { [East] = "b1:9092,b2:9092", [West] = "b3:9092" }, regions);
    }

    private static string LwwDocument(long version) => $$"""
        name: lww
        version: {{version}}
        pattern: mesh
        regions:
          us-east: {}
          eu-west: {}
        topics:
          conflict:
            profiles: lww
        """;

    private static StoredTopology Kept(long version, string? document = null) =>
        new(version, document ?? LwwDocument(version), DateTimeOffset.UnixEpoch, [], null);

    [Fact]
    public void Without_a_topology_file_bootstrap_audits_by_the_newest_topology_the_regions_keep()
    {
        var targets = AuditTargets.FromBootstrap("us-east=b1:9092,eu-west=b3:9092", null, regions =>
        [
            new RegionTopology(East, Kept(1)),
            new RegionTopology(West, Kept(3)),
        ]);
        Assert.Equal(3, targets.Topology!.Version);
        Assert.Equal(ConflictPolicy.Lww, targets.Topology.ConflictPolicyFor("profiles"));
        Assert.Equal([East, West], targets.Regions.Select(r => r.Id));
        Assert.Contains(targets.Notes, n => n.Contains("topology version 3, read from eu-west's __mesh_topology"));
        Assert.Contains(targets.Notes, n => n.Contains("older: us-east 1"));
    }

    [Fact]
    public void A_region_that_cannot_be_read_or_keeps_an_invalid_topology_is_noted_and_the_next_newest_is_used()
    {
        var notes = new List<string>();
        var (topology, from) = RegionTopologies.Newest(
        [
            new RegionTopology(East, null, "timed out"),
            new RegionTopology(West, Kept(4, "not: [a topology")),
            new RegionTopology("ap-south", Kept(2)),
        ], notes);
        Assert.Equal(2, topology!.Version);
        Assert.Equal("ap-south", from);
        Assert.Contains(notes, n => n.Contains("us-east's __mesh_topology could not be read: timed out"));
        Assert.Contains(notes, n => n.Contains("eu-west's __mesh_topology holds an invalid topology version 4"));
    }

    [Fact]
    public void Without_any_topology_bootstrap_audits_every_topic_as_append_only_and_says_so()
    {
        var targets = AuditTargets.FromBootstrap("us-east=b1:9092", null, regions => [new RegionTopology(East, null)]);
        Assert.Null(targets.Topology);
        Assert.Contains(targets.Notes, n => n.Contains("no region holds a topology") && n.Contains("--topology FILE"));
    }

    [Theory]
    [InlineData("b1:9092,us-east=b2:9092", "names no region")]
    [InlineData("us-east=", "is not region=host:port")]
    [InlineData("u+s=b1:9092", "u+s")]
    [InlineData("us-east=b1:9092,us-east=b2:9092", "twice")]
    [InlineData(",", "at least one region")]
    public void Bad_bootstrap_syntax_is_bad_input(string value, string message)
    {
        var e = Assert.Throws<MeshCommandException>(() => AuditTargets.ParseBootstrap(value));
        Assert.Equal(2, e.ExitCode);
        Assert.Contains(message, e.Message);
    }

    // The report.

    [Fact]
    public void A_partition_line_names_region_partition_origin_and_offsets()
    {
        var (east, west) = Healthy(500);
        west.RemoveAll(r => r.Offset is 120 or 121 or 407);
        west.Add(Replicated(500, East, EastIncarnation, 55, West));
        var audit = Compare(Tally(East, east), Tally(West, west)) with { Partition = 1 };
        var report = new AuditReport(new Dictionary<string, string> { [East] = EastIncarnation, [West] = WestIncarnation }, NamingPolicy.Identity, [TopicOf(audit)]);

        var lines = AuditOutput.Lines(report).ToList();

        Assert.Contains("  eu-west partition 1: 3 records of us-east missing (origin offsets 120, 121, 407), 1 duplicated (origin offset 55 at offsets 55 and 500)", lines);
        Assert.Equal("regions disagree: 2 problems in 1 partition of 1 topic", lines[^1]);
        Assert.Contains("\"kind\": \"duplicate\"", AuditOutput.Json(report));
        Assert.Contains("\"agree\": false", AuditOutput.Json(report));
    }

    private static TopicAudit TopicOf(PartitionAudit audit) =>
        new(new AuditSubject(Topic, null, ConflictPolicy.None, [new AuditMember(East, Topic, audit.Partition + 1), new AuditMember(West, Topic, audit.Partition + 1)], (_, _) => true),
            [audit], new Dictionary<(string, int, long), byte[]?>());

    private static List<OffsetRange> Ranges(string text) =>
        [.. CommonRanges(text).Select(r => new OffsetRange(r.First, r.Last))];

    private static IEnumerable<(long First, long Last)> CommonRanges(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(part => part.Split('-')).Select(p => (long.Parse(p[0]), long.Parse(p[1])));

    private sealed class DuplicateComparer : IEqualityComparer<DuplicateRecord>
    {
        public bool Equals(DuplicateRecord? x, DuplicateRecord? y) => x!.OriginOffset == y!.OriginOffset && x.Offsets.SequenceEqual(y.Offsets);
        public int GetHashCode(DuplicateRecord obj) => obj.OriginOffset.GetHashCode();
    }
}
