using System.Text;
using Mesh.Core.Backup;
using Mesh.Core.Backup.Restore;
using Mesh.Core.Offsets;
using Mesh.Core.Replication;
using Mesh.Core.Tests.Topology;
using TopologyPattern = Mesh.Core.Topology.TopologyPattern;
using NamingPolicy = Mesh.Core.Topology.NamingPolicy;
using static Mesh.Core.Tests.Backup.Restore.RestoreTestData;

namespace Mesh.Core.Tests.Backup.Restore;

/// <summary>
/// Restored records are trusted where they are written, and the mesh's own replication rule carries them to
/// every region exactly once: a restore into one region is replicated from there, a restore into every region
/// is skipped as a loop on every link. Checked with the real <see cref="PartitionReplication"/> over a full mesh
/// and a hub-and-spoke topology, signed and unsigned.
/// </summary>
public sealed class RestoreProvenanceTests
{
    private const string Target = "orders-restored";
    private const int Partition = 2;
    private const string KeyText = "test-key-0000000000000000000000000000000000000000";

    private static string IncarnationOf(string region) => Incarnations.FromClusterId("cluster-of-" + region);

    /// <summary>Two origin streams (one of a region that is no longer in the mesh), with headers, null and empty kept apart.</summary>
    private static IReadOnlyList<PlannedRecord> Planned(string firstOrigin)
    {
        var first = new BackupStream(Topic, Partition, firstOrigin, IncarnationOf(firstOrigin));
        var gone = new BackupStream(Topic, Partition, "gone", "0badf00d");
        OriginRecords[] streams =
        [
            new(first, [Rec(5, 100, "k1", "v1", new RecordHeader("trace", [1, 2])), Rec(9, 300, null, ""), Rec(10, 500, "", null)]),
            new(gone, [Rec(0, 200, "k2", "v2"), Rec(1, 400, "k3", "v3", new RecordHeader("n", null))]),
        ];
        return RestoreOrder.Plan(streams, []).Records;
    }

    public static TheoryData<string, TopologyPattern, string, string?, string, bool> SingleRegionCases => new()
    {
        // case, pattern, regions, hub, restored into, signed
        { "full mesh", TopologyPattern.Mesh, "r1,r2,r3", null, "r2", true },
        { "full mesh, unsigned", TopologyPattern.Mesh, "r1,r2,r3", null, "r2", false },
        { "hub-spoke into a spoke", TopologyPattern.HubSpoke, "a,b,c,hq", "hq", "a", true },
        { "hub-spoke into the hub", TopologyPattern.HubSpoke, "a,b,hq", "hq", "hq", true },
        { "hub-spoke, unsigned", TopologyPattern.HubSpoke, "a,b,hq", "hq", "b", false },
    };

    [Theory]
    [MemberData(nameof(SingleRegionCases))]
    public void A_restore_into_one_region_is_trusted_there_and_replicated_to_each_other_region_once(
        string name, TopologyPattern pattern, string regions, string? hub, string into, bool signed)
    {
        var topology = TopologyBuilder.Build(pattern, regions, hub: hub);
        var keys = signed ? MeshKeys.Create(KeyText, null) : null;
        var restoreId = RestoreIds.RestoreId("directory /b", Topic, Target, 1000);
        var provenance = new RestoreProvenance(RestoreMode.SingleRegion, [into], Target, restoreId);
        var planned = Planned(TopologyBuilder.Ids(regions)[0]);
        using var signer = keys?.CreateSigner();
        var written = planned.Select((r, i) => provenance.Build(r, Topic, Partition, i, into, signer)).ToList();

        var held = Simulate(topology, keys, new() { [into] = written.Select(ToSource).ToList() }, out var decisions);

        foreach (var (record, index) in written.Select((r, i) => (r, i)))
        {
            var reading = ProvenanceTrust.Read(ToSource(record, index), into, Target, Partition, signer, NamingPolicy.Identity, IncarnationOf(into));
            Assert.True(reading.Verdict == ProvenanceVerdict.Trusted, $"{name}: record {index} in {into}: {reading.UntrustedReason}");
            var identity = RecordOrigin.Of(ToSource(record, index), into, IncarnationOf(into), Target, Partition, signer);
            Assert.Equal(new OriginId(into, RestoreIds.SingleRegionIncarnation(restoreId)), identity.Origin);
            Assert.Equal(index, identity.OriginOffset);
        }
        foreach (var region in TopologyBuilder.Ids(regions))
        {
            var restored = held[region].Select(r => RestoredFrom.Find(r.Headers)).ToList();
            Assert.True(written.Count == restored.Count, $"{name}: {region} holds {restored.Count} records, expected {written.Count}");
            Assert.Equal(written.Select(w => w.From).Order(FromOrder.Instance), restored.Order(FromOrder.Instance)!);
            // Byte for byte: key, value, application headers and timestamp as backed up.
            Assert.Equal(written.Select(w => Describe(w.Key, w.Value, w.TimestampMs, w.Headers)).Order(),
                held[region].Select(r => Describe(r.Key, r.Value, r.TimestampMs, r.Headers)).Order());
        }
        var forwarded = decisions.Where(d => d.Kind == DecisionKind.Forward).GroupBy(d => d.Link).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(forwarded.Values.Sum() == written.Count * (TopologyBuilder.Ids(regions).Length - 1), $"{name}: forwarded {string.Join(", ", forwarded)}");
        Assert.DoesNotContain(decisions, d => d.Kind is DecisionKind.Quarantine or DecisionKind.Stop);
    }

    public static TheoryData<string, TopologyPattern, string, string?, string, bool> AllRegionsCases => new()
    {
        // case, pattern, regions, hub, first origin, signed
        { "full mesh, origin among the targets", TopologyPattern.Mesh, "r1,r2,r3", null, "r1", true },
        { "full mesh, unsigned", TopologyPattern.Mesh, "r1,r2", null, "r2", false },
        { "hub-spoke, origin a spoke", TopologyPattern.HubSpoke, "a,b,hq", "hq", "a", true },
        { "hub-spoke, origin the hub", TopologyPattern.HubSpoke, "a,b,c,hq", "hq", "hq", true },
        { "one region", TopologyPattern.Mesh, "solo", null, "solo", true },
    };

    [Theory]
    [MemberData(nameof(AllRegionsCases))]
    public void A_restore_into_every_region_is_trusted_in_each_and_never_replicated(
        string name, TopologyPattern pattern, string regions, string? hub, string firstOrigin, bool signed)
    {
        var topology = TopologyBuilder.Build(pattern, regions, hub: hub);
        var ids = TopologyBuilder.Ids(regions);
        var keys = signed ? MeshKeys.Create(KeyText, null) : null;
        var restoreId = RestoreIds.RestoreId("directory /b", Topic, Target, 1000);
        var provenance = new RestoreProvenance(RestoreMode.AllRegions, ids, Target, restoreId);
        var planned = Planned(firstOrigin);
        using var signer = keys?.CreateSigner();
        var written = ids.ToDictionary(r => r, r => planned.Select((p, i) => provenance.Build(p, Topic, Partition, i, r, signer)).ToList());

        var held = Simulate(topology, keys, written.ToDictionary(e => e.Key, e => e.Value.Select(ToSource).ToList()), out var decisions);

        foreach (var region in ids)
        {
            foreach (var (record, index) in written[region].Select((r, i) => (r, i)))
            {
                var reading = ProvenanceTrust.Read(ToSource(record, index), region, Target, Partition, signer, NamingPolicy.Identity, IncarnationOf(region));
                Assert.True(reading.Verdict == ProvenanceVerdict.Trusted, $"{name}: record {index} in {region}: {reading.UntrustedReason}");
                Assert.Equal(planned[index].Stream.OriginRegion, reading.Trusted!.OriginRegion);
                Assert.Equal(planned[index].Record.OriginOffset, reading.Trusted.OriginOffset);
                Assert.Equal(region, reading.Trusted.LastHop);
                Assert.True(ids.All(reading.Trusted.HasVisited), $"{name}: hops {string.Join(",", reading.Trusted.Hops)} miss a target");
            }
            Assert.Equal(planned.Count, held[region].Count);
        }
        Assert.All(decisions, d => Assert.True(d.Kind == DecisionKind.SkipLoop, $"{name}: {d.Link} decided {d.Kind}"));
        if (ids.Length > 1) Assert.NotEmpty(decisions);
    }

    [Fact]
    public void Restore_names_are_deterministic_and_never_a_real_incarnation()
    {
        var id = RestoreIds.RestoreId("directory /b", Topic, Target, 1000);
        Assert.Equal(id, RestoreIds.RestoreId("directory /b", Topic, Target, 1000));
        Assert.NotEqual(id, RestoreIds.RestoreId("directory /b", Topic, Target, 1001));
        Assert.NotEqual(id, RestoreIds.RestoreId("directory /b", Topic, "other", 1000));
        Assert.NotEqual(id, RestoreIds.RestoreId("directory /c", Topic, Target, 1000));
        Assert.Matches("^[0-9a-f]{16}$", id);
        foreach (var (incarnation, shape, everywhere) in new[] { (RestoreIds.SingleRegionIncarnation(id), "^r[0-9a-f]{8}$", false), (RestoreIds.AllRegionsIncarnation("1a2b3c4d", id), "^a[0-9a-f]{8}$", true) })
        {
            Assert.Matches(shape, incarnation);
            Assert.True(Incarnations.IsValid(incarnation, out var reason), reason);
            Assert.True(RestoreIds.IsRestoreIncarnation(incarnation));
            Assert.Equal(everywhere, Incarnations.IsRestoredEverywhere(incarnation));
        }
        Assert.False(Incarnations.IsRestoredEverywhere(Incarnations.FromClusterId("x")));
        Assert.NotEqual(RestoreIds.AllRegionsIncarnation("1a2b3c4d", id), RestoreIds.AllRegionsIncarnation("5e1f09aa", id));
        Assert.False(RestoreIds.IsRestoreIncarnation(Incarnations.FromClusterId("x")));
    }

    [Theory]
    [InlineData("r1", "r2", "r1,r2,r3", "r1,r3,r2")]
    [InlineData("r1", "r1", "r1,r2,r3", "r1,r2,r3,r1")]
    [InlineData("gone", "r1", "r1,r2", "gone,r2,r1")]
    [InlineData("solo", "solo", "solo", "solo")]
    public void All_region_hops_start_at_the_origin_and_end_where_written(string origin, string writtenTo, string targets, string expected)
    {
        var provenance = new RestoreProvenance(RestoreMode.AllRegions, targets.Split(','), Target, "0123456789abcdef");
        Assert.Equal(expected, string.Join(",", provenance.Hops(origin, writtenTo)));
    }

    [Fact]
    public void Built_record_keeps_application_headers_drops_an_old_provenance_and_adds_restored_then_provenance()
    {
        var provenance = new RestoreProvenance(RestoreMode.SingleRegion, ["r1"], Target, "0123456789abcdef");
        var record = new PlannedRecord(Stream("r9", "00ff00ff"), Rec(7, 123, "k", "v",
            new RecordHeader("a", [1]), new RecordHeader(ProvenanceCodec.HeaderName, [9]), new RecordHeader("b", null)));
        var built = provenance.Build(record, Topic, 0, 4, "r1", signer: null);
        Assert.Equal(["a", "b", RestoredFrom.HeaderName, ProvenanceCodec.HeaderName], built.Headers.Select(h => h.Name));
        Assert.Equal("r9|00ff00ff|orders|0|7|0123456789abcdef", Encoding.UTF8.GetString(built.Headers[2].Value!));
        Assert.Equal(new RestoredFrom("r9", "00ff00ff", Topic, 0, 7, "0123456789abcdef"), RestoredFrom.Find(built.Headers));
        Assert.Equal(123, built.TimestampMs);
        Assert.Throws<ArgumentException>(() => provenance.Build(record, Topic, 0, 4, "r2", signer: null));
    }

    [Theory]
    [InlineData("a|b|c|1")]
    [InlineData("a|b|c|x|1|id")]
    [InlineData("a|b|c|1|-1|id")]
    public void Malformed_restored_headers_read_as_none(string text) => Assert.Null(RestoredFrom.TryDecode(Encoding.UTF8.GetBytes(text)));

    private static SourceRecord ToSource(RestoredRecord record, int offset) =>
        new(offset, record.Key, record.Value, record.TimestampMs, record.Headers);

    private static string Describe(byte[]? key, byte[]? value, long timestamp, IReadOnlyList<RecordHeader> headers) =>
        $"{Hex(key)}/{Hex(value)}/{timestamp}/" + string.Join(";", headers.Where(h => h.Name != ProvenanceCodec.HeaderName).Select(h => $"{h.Name}={Hex(h.Value)}"));

    private static string Hex(byte[]? bytes) => bytes is null ? "null" : "x" + Convert.ToHexString(bytes);

    private sealed record Decision(string Link, DecisionKind Kind);

    /// <summary>Runs every link of the topology, as the mesh would, until nothing more is written; returns what each region holds.</summary>
    private static Dictionary<string, List<SourceRecord>> Simulate(Mesh.Core.Topology.Topology topology, MeshKeys? keys,
        Dictionary<string, List<SourceRecord>> initial, out List<Decision> decisions)
    {
        var held = topology.Regions.ToDictionary(r => r.Id, r => initial.TryGetValue(r.Id, out var records) ? records : []);
        var policy = new ReplicationPolicy(keys, StrictProvenance: false, KeepUntrustedHeader: true, BadRecordAction.Quarantine);
        var links = topology.Links
            .Select(l => (Link: l, Carried: topology.Forwarding.OriginsCarried(l.From, l.To)))
            .Where(l => l.Carried.Count > 0)
            .Select(l =>
            {
                var carried = OriginSet.Of(l.Carried);
                return new PartitionReplication(l.Link.From, l.Link.To, Target, Target, Partition, NamingPolicy.Identity, carried, policy,
                    ReplicationCheckpoint.Start(0, IncarnationOf(l.Link.From), IncarnationOf(l.Link.To), carried));
            })
            .ToList();
        decisions = [];
        try
        {
            for (var moved = true; moved;)
            {
                moved = false;
                foreach (var link in links)
                {
                    var source = held[link.Source];
                    while (link.NextSourceOffset < source.Count)
                    {
                        var record = source[(int)link.NextSourceOffset];
                        var plan = link.Plan([record]);
                        var kind = plan.Outbound.Count == 1 ? DecisionKind.Forward : plan.Held?.Kind ?? link.Decide(record, link.Vector).Kind;
                        decisions.Add(new Decision($"{link.Source}->{link.Destination}", kind));
                        Assert.Null(plan.Held);
                        var destination = held[link.Destination];
                        foreach (var outbound in plan.Outbound)
                            destination.Add(new SourceRecord(destination.Count, outbound.Key, outbound.Value, outbound.TimestampMs, outbound.Headers));
                        link.Commit(plan, destination.Count);
                        moved = true;
                    }
                }
            }
        }
        finally
        {
            foreach (var link in links) link.Dispose();
        }
        return held;
    }

    private sealed class FromOrder : IComparer<RestoredFrom?>
    {
        public static readonly FromOrder Instance = new();

        public int Compare(RestoredFrom? x, RestoredFrom? y) =>
            string.CompareOrdinal($"{x?.OriginRegion}|{x?.OriginIncarnation}|{x?.OriginOffset:D19}", $"{y?.OriginRegion}|{y?.OriginIncarnation}|{y?.OriginOffset:D19}");
    }
}
