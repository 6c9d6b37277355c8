using Mesh.Core.Replication;
using Mesh.Core.Tests.Topology;
using Mesh.Core.Topology;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

/// <summary>
/// A region that lost its Kafka (eu-west, now incarnation <see cref="Inc2"/>; before it was
/// <see cref="Old"/>) gets its own earlier records back from a peer that holds them as replicas, over
/// exactly one link per partition; its current records never come back to it.
/// </summary>
public sealed class OwnPastTests
{
    private const string S = "us-east";
    private const string D = "eu-west";
    private const string Other = "ap-south";
    private const string Old = "0bad0bad";
    private const int P = 3;

    private static PartitionReplication Link(bool carriesOwnPast, OriginVector? vector = null)
    {
        var carried = carriesOwnPast ? OriginSet.Of([S, D]) : OriginSet.Of([S]);
        var start = ReplicationCheckpoint.Start(0, Inc, Inc2, carried);
        if (vector is not null) start = start with { Vector = vector };
        return new(S, D, Topic, Topic, P, NamingPolicy.Identity, carried, ReplicationPolicy.Default, start);
    }

    /// <summary>A record of <paramref name="origin"/>@<paramref name="incarnation"/> read in us-east after <paramref name="hops"/>.</summary>
    private static SourceRecord Held(long offset, string origin, string incarnation, long originOffset, params string[] hops) =>
        Record(offset, ProvenanceHeader(Prov(origin, incarnation, Topic, P, originOffset, 1_700_000_000_000 + originOffset, hops)));

    public static TheoryData<string, SourceRecord, bool, DecisionKind> Decisions => new()
    {
        { "its own earlier record, on the link that writes the past back", Held(5, D, Old, 40, D, S), true, DecisionKind.Forward },
        { "its own earlier record, on another link", Held(5, D, Old, 40, D, S), false, DecisionKind.SkipLoop },
        { "its own current record comes back", Held(5, D, Inc2, 40, D, S), true, DecisionKind.SkipLoop },
        { "its own current record on another link", Held(5, D, Inc2, 40, D, S), false, DecisionKind.SkipLoop },
        { "a third region's record that passed through it", Held(5, Other, Inc, 7, Other, D, S), true, DecisionKind.SkipLoop },
        { "a record written back once already, relayed again", Held(5, D, Old, 40, D, Other, D, S), true, DecisionKind.Forward },
        { "the source's own record", Record(5), true, DecisionKind.Forward },
        // A restore into every region wrote it into eu-west itself: writing it back would race the restore and write it twice.
        { "its record restored into every region", Held(5, D, "a0123abcd", 40, D, S), true, DecisionKind.SkipLoop },
        // A restore into eu-west alone writes it there itself, and a killed restore run again writes the rest: a link
        // writing the peer's replicas back at the same time wrote them twice (found by a restore killed partway).
        { "its record restored into it alone", Held(5, D, "r0123abcd", 40, D, S), true, DecisionKind.SkipLoop },
    };

    [Theory]
    [MemberData(nameof(Decisions))]
    public void Only_the_link_that_carries_the_past_writes_back_the_destinations_earlier_records(string description, SourceRecord record, bool carriesOwnPast,
        DecisionKind expected)
    {
        var decision = Link(carriesOwnPast).Decide(record, new OriginVector());
        Assert.True(expected == decision.Kind, $"{description}: expected {expected}, got {decision.Kind} ({decision.Reason})");
    }

    [Fact]
    public void An_earlier_record_written_back_keeps_its_identity_and_adds_the_destination_to_its_hops()
    {
        var outbound = Assert.Single(Link(carriesOwnPast: true).Plan([Held(5, D, Old, 40, D, S)]).Outbound);
        Assert.Equal(Prov(D, Old, Topic, P, 40, 1_700_000_000_040, D, S, D), outbound.Provenance);
    }

    [Fact]
    public void Earlier_records_the_destination_holds_already_are_not_written_again()
    {
        var vector = new OriginVector();
        vector.Advance(OriginVector.Key(D, Old), 40);
        var link = Link(carriesOwnPast: true, vector);
        var plan = link.Plan([Held(5, D, Old, 39, D, S), Held(6, D, Old, 40, D, S), Held(7, D, Old, 41, D, S)]);
        Assert.Equal([41L], plan.Outbound.Select(o => o.Provenance.OriginOffset));
    }

    [Fact]
    public void A_written_back_record_found_in_the_destination_is_believed_there_and_moves_the_vector()
    {
        var link = Link(carriesOwnPast: true);
        var back = Record(12, ProvenanceHeader(Prov(D, Old, Topic, P, 40, 1_700_000_000_040, D, S, D)));
        Assert.NotNull(link.Observe(back));
        Assert.True(link.Vector.HasApplied(OriginVector.Key(D, Old), 40));

        // A header naming the destination's current incarnation as origin was not written by the mesh.
        var forged = Record(13, ProvenanceHeader(Prov(D, Inc2, Topic, P, 90, 1_700_000_000_090, D, S, D)));
        Assert.Null(link.Observe(forged));
        Assert.False(link.Vector.HasApplied(OriginVector.Key(D, Inc2), 90));
    }

    public static TheoryData<string?, string, ProvenanceVerdict> TrustTable => new()
    {
        { null, Old, ProvenanceVerdict.Untrusted },
        { Inc2, Inc2, ProvenanceVerdict.Untrusted },
        { Inc2, Old, ProvenanceVerdict.Trusted },
    };

    [Theory]
    [MemberData(nameof(TrustTable))]
    public void A_region_believes_a_header_naming_itself_as_origin_only_for_an_earlier_incarnation(string? current, string origin, ProvenanceVerdict expected)
    {
        var record = Record(12, ProvenanceHeader(Prov(D, origin, Topic, P, 40, 1_700_000_000_040, D, S, D)));
        Assert.Equal(expected, ProvenanceTrust.Read(record, D, Topic, P, signer: null, readFromIncarnation: current).Verdict);
    }

    [Fact]
    public void In_a_signed_mesh_an_earlier_record_of_the_region_is_believed_only_when_signed()
    {
        using var signer = Keys.CreateSigner();
        var provenance = Prov(D, Old, Topic, P, 40, 1_700_000_000_040, D, S, D);
        var signed = SignedRecord(12, provenance, Keys);
        Assert.Equal(ProvenanceVerdict.Trusted, ProvenanceTrust.Read(signed, D, Topic, P, signer, readFromIncarnation: Inc2).Verdict);
        // Written by hand (no signature): the region's own record, as any header naming it would be.
        var unsigned = Record(12, ProvenanceHeader(provenance));
        var reading = ProvenanceTrust.Read(unsigned, D, Topic, P, signer, readFromIncarnation: Inc2);
        Assert.Equal(ProvenanceVerdict.Untrusted, reading.Verdict);
        Assert.Contains("names 'eu-west', where it was read, as its origin", reading.UntrustedReason);
    }

    [Fact]
    public void The_source_that_holds_the_most_of_the_past_carries_it_and_ties_go_to_the_first_by_id()
    {
        Assert.Equal("r3", OwnPast.Carrier(new Dictionary<string, long> { ["r2"] = 119, ["r3"] = 559 }));
        Assert.Equal("r2", OwnPast.Carrier(new Dictionary<string, long> { ["r3"] = -1, ["r2"] = -1 }));
        Assert.Equal("r2", OwnPast.Carrier(new Dictionary<string, long> { ["r3"] = 10, ["r2"] = 10, ["r1"] = 9 }));
        Assert.Null(OwnPast.Carrier(new Dictionary<string, long>()));
    }

    [Fact]
    public void Offset_of_names_only_the_destinations_earlier_records()
    {
        Assert.Equal(40L, OwnPast.OffsetOf(Held(5, D, Old, 40, D, S), S, Inc, Topic, P, null, D, Inc2));
        Assert.Null(OwnPast.OffsetOf(Held(5, D, Inc2, 40, D, S), S, Inc, Topic, P, null, D, Inc2));
        Assert.Null(OwnPast.OffsetOf(Held(5, Other, Old, 40, Other, S), S, Inc, Topic, P, null, D, Inc2));
        Assert.Null(OwnPast.OffsetOf(Record(5), S, Inc, Topic, P, null, D, Inc2));
        Assert.Null(OwnPast.OffsetOf(Held(5, D, "r0123abcd", 40, D, S), S, Inc, Topic, P, null, D, Inc2));
    }

    public static TheoryData<string, TopologyPattern, string?, string?, string, string> Sources => new()
    {
        { "full mesh: every peer", TopologyPattern.Mesh, null, null, "a", "b,c" },
        { "hub and spoke, a spoke: the hub", TopologyPattern.HubSpoke, null, "a", "b", "a" },
        { "hub and spoke, the hub: every spoke", TopologyPattern.HubSpoke, null, "a", "a", "b,c" },
        { "active-passive, a standby: the primary does not hold its records (it has none)", TopologyPattern.ActivePassive, "a", null, "b", "" },
        { "active-passive, the primary: no link into it", TopologyPattern.ActivePassive, "a", null, "a", "" },
    };

    [Theory]
    [MemberData(nameof(Sources))]
    public void The_candidates_are_the_sources_of_links_into_the_region_that_hold_its_records(string description, TopologyPattern pattern, string? primary,
        string? hub, string region, string expected)
    {
        var topology = TopologyBuilder.Build(pattern, "a,b,c", primary, hub);
        Assert.True(expected == string.Join(",", RegionPlan.OwnPastSources(topology, region)), description);
        foreach (var plan in RegionPlan.For(topology, region).Where(p => p.To == region))
            Assert.Equal(RegionPlan.OwnPastSources(topology, region).Contains(plan.From), plan.OwnPast);
    }

    [Fact]
    public void Under_prefix_naming_no_link_carries_a_regions_past()
    {
        var topology = Mesh.Core.Topology.Topology.FromDocument(TopologyBuilder.Document(TopologyPattern.Mesh, "a,b,c") with { Naming = NamingPolicy.Prefix });
        Assert.Empty(RegionPlan.OwnPastSources(topology, "a"));
    }
}
