using Mesh.Core.Replication;
using Mesh.Core.Topology;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

/// <summary>
/// Link hub -> c, partition 3, after the route of origin a into c moved from a -> c to the hub: the link
/// carried hub and b, now also a. It had read the hub's log up to offset 8 and goes back to 0 to catch up a's
/// records, which c partly has already (a -> c wrote a's origin offsets up to 1).
/// </summary>
public sealed class CatchUpTests
{
    private const string Hub = "hub";
    private const string C = "c";
    private const string A = "a";
    private const string B = "b";
    private const int P = 3;
    private static readonly OriginSet Before = OriginSet.Of([Hub, B]);
    private static readonly OriginSet After = OriginSet.Of([Hub, A, B]);
    private static readonly ReplicationPolicy Signed = ReplicationPolicy.Default with { Keys = Keys };

    /// <summary>A record of <paramref name="origin"/> that the hub holds (replicated there, trusted).</summary>
    private static SourceRecord Via(long offset, string origin, long originOffset, bool signed = false, params string[] hops)
    {
        var provenance = Prov(origin, P, originOffset, 1000 + originOffset, hops.Length == 0 ? [origin, Hub] : hops);
        return signed ? SignedRecord(offset, provenance, Keys) : Record(offset, ProvenanceHeader(provenance));
    }

    /// <summary>The hub's log: its own records, a's (the gained origin), b's (carried all along), one with a header nobody may believe.</summary>
    private static SourceRecord[] HubLog(bool signed = false) =>
    [
        Record(0),                          // hub's own
        Via(1, A, 0, signed),               // c has it (a -> c wrote it)
        Via(2, B, 0, signed),               // carried all along: forwarded when first read
        Via(3, A, 1, signed),               // c has it
        Record(4, ProvenanceHeader("garbage")), // went as a hub record when first read
        Via(5, A, 2, signed),               // c lacks it
        Via(6, A, 3, signed, A, C, Hub),    // came through c: a loop
        Via(7, A, 4, signed),               // c lacks it
        // ---- read up to here before the route changed
        Record(8),
        Via(9, A, 5, signed),
        Via(10, B, 1, signed),
    ];

    /// <summary>The reassigned link, its vector folded from c's records (a's up to origin offset 1).</summary>
    private static PartitionReplication Reassigned(ReplicationPolicy? policy = null, long lowWatermark = 0)
    {
        var before = new ReplicationCheckpoint(8, new OriginVector(), 40, Inc, Inc2, 0, 0) { Carried = Before };
        before.Vector.Advance(OriginVector.Key(Hub, Inc), 4); // its own records at 0 and 4
        before.Vector.Advance(OriginVector.Key(B, Inc), 0);
        var start = before.Reassign(After, Hub, lowWatermark, out var gained);
        Assert.Equal(OriginSet.Of([A]), gained);
        var link = new PartitionReplication(Hub, C, Topic, Topic, P, NamingPolicy.Identity, After, policy ?? ReplicationPolicy.Default, start);
        link.Vector.Advance(OriginVector.Key(A, Inc), 1);
        return link;
    }

    private static List<DecisionKind> Decisions(PartitionReplication link, IEnumerable<SourceRecord> records) =>
        records.Select(r => link.Decide(r, link.Vector).Kind).ToList();

    [Fact]
    public void The_link_starts_at_the_low_watermark_with_the_catch_up_of_the_gained_origin()
    {
        using var link = Reassigned(lowWatermark: 0);

        Assert.Equal(0L, link.NextSourceOffset);
        Assert.Equal(new CatchUp(8, OriginSet.Of([A])), link.CatchUp);
        Assert.Equal(After, link.Carried);
        Assert.Equal("3;next=0;dest=40;src=1a2b3c4d;dst=5e1f09aa;quarantined=0;expired=0;carried=a,b,hub;catchup=8:a;vector=a@1a2b3c4d:1,b@1a2b3c4d:0,hub@1a2b3c4d:4",
            link.Checkpoint().Encode());
    }

    [Fact]
    public void Inside_the_window_only_the_gained_origins_records_that_c_lacks_are_forwarded()
    {
        using var link = Reassigned();

        Assert.Equal(
        [
            DecisionKind.SkipNotOnRoute,     // hub's own: handled when first read
            DecisionKind.SkipAlreadyApplied, // a's, c has it
            DecisionKind.SkipNotOnRoute,     // b's: handled when first read
            DecisionKind.SkipAlreadyApplied,
            DecisionKind.SkipNotOnRoute,     // untrusted header: went as a hub record when first read
            DecisionKind.Forward,
            DecisionKind.SkipLoop,
            DecisionKind.Forward,
            // Past the window: the link's ordinary rule.
            DecisionKind.Forward,
            DecisionKind.Forward,
            DecisionKind.Forward,
        ], Decisions(link, HubLog()));
    }

    [Fact]
    public void A_plan_over_the_window_forwards_the_gained_origin_and_counts_no_untrusted_header_twice()
    {
        using var link = Reassigned();

        var plan = link.Plan(HubLog());

        Assert.Equal([5L, 7L, 8L, 9L, 10L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal([(A, 2L), (A, 4L), (Hub, 8L), (A, 5L), (B, 1L)], plan.Outbound.Select(o => (o.Provenance.OriginRegion, o.Provenance.OriginOffset)));
        Assert.Equal(Prov(A, P, 2, 1002, A, Hub, C), plan.Outbound[0].Provenance);
        Assert.Equal(6, plan.Skipped);
        Assert.Equal(0, plan.UntrustedHeaders);
        Assert.Null(plan.Held);
        Assert.Equal(11L, plan.NextSourceOffset);
    }

    [Fact]
    public void The_window_ends_when_the_link_reaches_its_end()
    {
        using var link = Reassigned();
        var log = HubLog();

        link.Commit(link.Plan(log[..5]), 40);
        Assert.Equal(new CatchUp(8, OriginSet.Of([A])), link.CatchUp);
        Assert.Contains(";catchup=8:a;", link.Checkpoint().Encode());

        link.Commit(link.Plan(log[..7]), 41);
        Assert.Equal(7L, link.NextSourceOffset);
        Assert.NotNull(link.CatchUp);

        link.Commit(link.Plan(log[..8]), 42);
        Assert.Equal(8L, link.NextSourceOffset);
        Assert.Null(link.CatchUp);
        Assert.Contains(";catchup=;", link.Checkpoint().Encode());
        // Past the window an untrusted header is the link's ordinary business again.
        Assert.Equal(DecisionKind.Forward, link.Decide(Record(12, ProvenanceHeader("garbage")), link.Vector).Kind);
    }

    [Fact]
    public void The_window_survives_a_restart_through_the_checkpoint()
    {
        using var link = Reassigned();
        link.Commit(link.Plan(HubLog()[..6]), 41);

        Assert.True(ReplicationCheckpoint.TryDecode(link.Checkpoint().Encode(), out var checkpoint, out var reason), reason);
        using var restarted = new PartitionReplication(Hub, C, Topic, Topic, P, NamingPolicy.Identity, After, ReplicationPolicy.Default, checkpoint!);

        Assert.Equal(new CatchUp(8, OriginSet.Of([A])), restarted.CatchUp);
        Assert.Equal(6L, restarted.NextSourceOffset);
        Assert.Equal([7L, 8L, 9L, 10L], restarted.Plan(HubLog()).Outbound.Select(o => o.SourceOffset));
    }

    [Fact]
    public void A_catch_up_the_checkpoint_is_already_past_is_over()
    {
        var start = ReplicationCheckpoint.Start(8, Inc, Inc2, After) with { CatchUp = new CatchUp(8, OriginSet.Of([A])) };

        using var link = new PartitionReplication(Hub, C, Topic, Topic, P, NamingPolicy.Identity, After, ReplicationPolicy.Default, start);

        Assert.Null(link.CatchUp);
        Assert.Contains(";catchup=;", link.Checkpoint().Encode());
    }

    [Fact]
    public void Headers_the_mesh_cannot_take_inside_the_window_are_never_quarantined_again()
    {
        // Signed and strict: outside the window each of these would be held for the quarantine.
        using var link = Reassigned(Signed with { StrictProvenance = true });
        SourceRecord[] held =
        [
            Record(1, ProvenanceHeader("garbage")),                                     // untrusted
            Record(2, ProvenanceHeader(Prov(A, P, 7, 1007, A, Hub))),                    // unsigned: unverifiable here
            SignedRecord(3, Prov(A, P, 8, 1008, A, Hub), MeshKeys.Create(OtherKeyText, null)!), // a key this region does not hold
            SignedRecord(4, Prov(A, P, 9, 1009, A, Hub), Keys) with { Value = Utf8("copied") },  // a signature for another record
        ];

        Assert.All(Decisions(link, held), kind => Assert.Equal(DecisionKind.SkipNotOnRoute, kind));
        var plan = link.Plan(held);
        Assert.Null(plan.Held);
        Assert.Equal(4, plan.Skipped);
        Assert.Equal(0, plan.UntrustedHeaders);

        var past = held.Select(r => r with { Offset = r.Offset + 20 }).ToList();
        Assert.All(Decisions(link, past), kind => Assert.Equal(DecisionKind.Quarantine, kind));
    }

    [Fact]
    public void Signed_records_of_the_gained_origin_are_caught_up()
    {
        using var link = Reassigned(Signed);

        var plan = link.Plan(HubLog(signed: true));

        Assert.Equal([5L, 7L, 8L, 9L, 10L], plan.Outbound.Select(o => o.SourceOffset));
    }

    [Fact]
    public void SkipExpired_inside_the_window_moves_past_without_counting()
    {
        using var link = Reassigned();

        Assert.Equal((5L, 5L), link.SkipExpired(0, 5));
        Assert.Equal(0L, link.RecordsExpired);
        Assert.Equal(5L, link.NextSourceOffset);
        Assert.NotNull(link.CatchUp);

        // Only what lies past the window was never read.
        Assert.Equal((8L, 12L), link.SkipExpired(5, 12));
        Assert.Equal(4L, link.RecordsExpired);
        Assert.Equal(12L, link.NextSourceOffset);
        Assert.Null(link.CatchUp);
    }

    [Fact]
    public void SkipExpired_to_the_windows_end_ends_it_without_counting()
    {
        using var link = Reassigned();

        Assert.Equal((8L, 8L), link.SkipExpired(0, 8));

        Assert.Equal(0L, link.RecordsExpired);
        Assert.Null(link.CatchUp);
    }

    [Fact]
    public void A_refusal_inside_the_window_moves_up_to_it_and_a_commit_past_the_end_ends_it()
    {
        using var link = Reassigned();
        var log = HubLog();
        var plan = link.Plan(log);

        link.CommitUpToRefusal(plan, 1, 41, "too large");
        Assert.Equal(7L, link.NextSourceOffset);
        Assert.NotNull(link.CatchUp);
        var again = link.Plan(log);
        Assert.Equal(QuarantineKinds.RefusedByDestination, again.Held!.QuarantineKind);
        Assert.Equal(7L, again.Held.Record.Offset);

        link.CommitWithHoles(again, 41, []);
        Assert.Equal(8L, link.NextSourceOffset);
        Assert.Null(link.CatchUp);
    }

    [Fact]
    public void Inside_the_window_a_gained_origins_record_that_came_through_c_is_still_a_loop()
    {
        using var link = Reassigned();

        Assert.Equal(DecisionKind.SkipLoop, link.Decide(Via(3, A, 50, false, A, C, Hub), link.Vector).Kind);
        // c's own records are no gained origin's: decided when first read.
        Assert.Equal(DecisionKind.SkipNotOnRoute, link.Decide(Via(3, C, 50, false, C, Hub), link.Vector).Kind);
        Assert.Equal(DecisionKind.SkipLoop, link.Decide(Via(30, C, 50, false, C, Hub), link.Vector).Kind);
    }

    [Fact]
    public void Observe_returns_the_trusted_provenance_it_folds_in()
    {
        using var link = Reassigned();
        var written = Prov(A, P, 6, 1006, A, C);

        Assert.Equal(written, link.Observe(Record(50, ProvenanceHeader(written))));
        Assert.Null(link.Observe(Record(51)));
        Assert.Null(link.Observe(Record(52, ProvenanceHeader("garbage"))));
        Assert.Null(link.Observe(Record(53, ProvenanceHeader(Prov(A, P, 99, 1099, A, Hub))))); // last hop is not c

        Assert.Equal(6L, link.Vector.HighestFor(OriginVector.Key(A, Inc)));
        Assert.Equal(54L, link.DestinationEndOffset);
    }
}
