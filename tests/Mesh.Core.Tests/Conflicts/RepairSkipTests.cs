using System.Text;
using Mesh.Core.Conflicts;
using Mesh.Core.Replication;
using Mesh.Core.Topology;
using static Mesh.Core.Tests.Conflicts.ConflictData;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Conflicts;

/// <summary>
/// A link never carries a repair record: the write it copies travels on its own. Only a marker that verifies and
/// fits its record counts; a forged or copied one leaves the record an ordinary record, replicated like any other.
/// </summary>
public sealed class RepairSkipTests
{
    private const string S = "us-east";
    private const string D = "eu-west";
    private const string Other = "ap-south";

    private static PartitionReplication Link(bool signed, params string[] carried) =>
        new(S, D, Topic, Topic, P, NamingPolicy.Identity, OriginSet.Of(carried.Length == 0 ? [S] : carried),
            ReplicationPolicy.Default with { Keys = signed ? Keys : null },
            ReplicationCheckpoint.Start(0, Inc, Inc2, OriginSet.Of(carried.Length == 0 ? [S] : carried)));

    /// <summary>S's log: its winner at 0, an older write of the same key at 1, and the repair S's repairer writes at 2.</summary>
    private static List<SourceRecord> LocalConflict(ProvenanceSigner? signer)
    {
        var repairer = new LwwRepairer(new LwwRule(null), S, Topic, P, signer);
        var log = new List<SourceRecord> { Local(0, "k", "new", 200), Local(1, "k", "old", 100) };
        Assert.Null(repairer.Observe(log[0]));
        var action = repairer.Observe(log[1]);
        Assert.NotNull(action);
        log.Add(repairer.BuildRepair(log[(int)action.WinnerOffset], action.Winner).At(2));
        return log;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_repair_of_the_source_regions_own_write_is_skipped_and_counted(bool signed)
    {
        using var signer = signed ? Keys.CreateSigner() : null;
        var log = LocalConflict(signer);
        using var link = Link(signed);

        var plan = link.Plan(log);

        Assert.Equal([0L, 1L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(1, plan.Skipped);
        Assert.Equal(DecisionKind.SkipRepair, link.Decide(log[2], link.Vector.Clone()).Kind);
        Assert.Equal(3, plan.NextSourceOffset);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_repair_of_a_replicated_write_is_skipped_even_where_the_link_carries_its_origin(bool signed)
    {
        // A hub: the link carries Other's writes too, and its vector has not seen this one, so only the marker keeps it back.
        using var signer = signed ? Keys.CreateSigner() : null;
        var repairer = new LwwRepairer(new LwwRule(null), S, Topic, P, signer);
        var winner = Replicated(0, S, "k", "remote", Other, 40, 300, signer);
        var loser = Local(1, "k", "local", 100);
        repairer.Observe(winner);
        var action = repairer.Observe(loser)!;
        var repair = repairer.BuildRepair(winner, action.Winner).At(2);
        using var link = Link(signed, S, Other);

        Assert.Equal(DecisionKind.SkipRepair, link.Decide(repair, new OriginVector()).Kind);
        Assert.Equal(DecisionKind.Forward, link.Decide(winner, new OriginVector()).Kind);
    }

    public static TheoryData<string, bool, Func<ProvenanceSigner?, SourceRecord>> NotRepairs
    {
        get
        {
            var foreign = MeshKeys.Create(OtherKeyText, null)!.CreateSigner();
            SourceRecord With(SourceRecord record, RepairMarker marker, ProvenanceSigner? signer, byte[]? value = null) =>
                record with { Headers = [.. record.Headers, new RecordHeader(RepairMarker.HeaderName, marker.Encode(record.Key, value ?? record.Value, signer))] };
            return new()
            {
                { "unsigned in a signed mesh", true, _ => With(Local(5, "k", "v", 1), new RepairMarker(S, null, 0), null) },
                { "signed with a foreign key", true, _ => With(Local(5, "k", "v", 1), new RepairMarker(S, null, 0), foreign) },
                { "copied from a record with another value", true, s => With(Local(5, "k", "v", 1), new RepairMarker(S, null, 0), s, Utf8("winner")) },
                { "names a later write of the region", true, s => With(Local(5, "k", "v", 1), new RepairMarker(S, null, 9), s) },
                { "names the record itself", true, s => With(Local(5, "k", "v", 1), new RepairMarker(S, null, 5), s) },
                { "names another region's write without its provenance", true, s => With(Local(5, "k", "v", 1), new RepairMarker(Other, Inc, 4), s) },
                { "names another write than its provenance", true, s => With(Replicated(5, S, "k", "v", Other, 40, 1, s), new RepairMarker(Other, Inc, 41), s) },
                { "names another incarnation than its provenance", true, s => With(Replicated(5, S, "k", "v", Other, 40, 1, s), new RepairMarker(Other, Inc2, 40), s) },
                { "a local write named with an incarnation", true, s => With(Local(5, "k", "v", 1), new RepairMarker(S, Inc, 0), s) },
                { "malformed", true, _ => Local(5, "k", "v", 1, new RecordHeader(RepairMarker.HeaderName, Utf8("1|us-east|-|0"))) },
                { "two markers", true, s => With(With(Local(5, "k", "v", 1), new RepairMarker(S, null, 0), s), new RepairMarker(S, null, 0), s) },
                { "unsigned mesh: names a later write", false, _ => With(Local(5, "k", "v", 1), new RepairMarker(S, null, 6), null) },
                { "unsigned mesh: names another region without provenance", false, _ => With(Local(5, "k", "v", 1), new RepairMarker(Other, Inc, 1), null) },
                { "unsigned mesh: garbage", false, _ => Local(5, "k", "v", 1, new RecordHeader(RepairMarker.HeaderName, Encoding.UTF8.GetBytes("repaired"))) },
            };
        }
    }

    [Theory]
    [MemberData(nameof(NotRepairs))]
    public void A_record_with_a_marker_that_does_not_hold_is_replicated_like_any_record(string name, bool signed, Func<ProvenanceSigner?, SourceRecord> make)
    {
        using var signer = signed ? Keys.CreateSigner() : null;
        var record = make(signer);
        using var link = Link(signed, S, Other);

        var decision = link.Decide(record, new OriginVector());

        Assert.True(decision.Kind == DecisionKind.Forward, $"{name}: {decision.Kind} {decision.Reason}");
        // The marker travels on as an application header would; where it lands it names nothing there.
        Assert.Contains(decision.Outbound!.Headers, h => h.Name == RepairMarker.HeaderName);
    }
}
