using Mesh.Core.Migration;
using Mesh.Core.Replication;
using Mesh.Core.Topology;

namespace Mesh.Core.Tests.Migration;

/// <summary>Where Mesh continues after MirrorMaker 2, partition by partition, and every way the clusters can disagree with MM2's positions.</summary>
public sealed class Mm2TakeoverTests
{
    private const string Offsets = "mm2-offsets.B.internal";
    private const string Syncs = "mm2-offset-syncs.B.internal";

    private static Mm2TakeoverPlan Plan(
        IReadOnlyList<Mm2PartitionMarks> marks,
        Dictionary<(string, string, int), long> positions,
        IReadOnlyList<Mm2OffsetSync>? syncs = null,
        Dictionary<(string, int), long>? after = null,
        NamingPolicy naming = NamingPolicy.Prefix,
        Func<string, bool>? replicated = null) =>
        Mm2Takeover.Plan("A", "B", naming, ".", Offsets, Syncs, marks, positions, ["A", "B"], syncs ?? [], after ?? [], replicated ?? (_ => true));

    [Fact]
    public void A_half_copied_partition_continues_after_the_last_record_mm2_copied()
    {
        // MM2 copied source offsets 0..59 into B's A.orders/0 (0..59); the source has 100.
        var plan = Plan([new("orders", 0, 0, 100, 0, 60)], new() { [("A", "orders", 0)] = 59 }, [new("orders", 0, 0, 0), new("orders", 0, 50, 50)]);

        Assert.False(plan.Refused, string.Join("\n", plan.Problems));
        var p = Assert.Single(plan.Partitions);
        Assert.Equal(new Mm2PartitionTakeover("orders", 0, "A.orders", Mm2Start.AfterMm2, 59, 60, 100, 60), p);
        Assert.Equal(40, p.Remaining);
        Assert.Equal(0, plan.ExitCode);
    }

    [Fact]
    public void Identity_naming_continues_into_the_topic_of_the_same_name()
    {
        var plan = Plan([new("orders", 0, 0, 10, 0, 10)], new() { [("A", "orders", 0)] = 9 }, [new("orders", 0, 0, 0)], naming: NamingPolicy.Identity);
        Assert.Equal("orders", Assert.Single(plan.Partitions).RemoteTopic);
        Assert.Equal(0, Assert.Single(plan.Partitions).Remaining);
    }

    [Fact]
    public void Target_offsets_that_differ_from_the_source_are_checked_through_the_offset_sync()
    {
        // The remote partition had 1,000 records of an earlier copy: source offset 0 landed at 1000.
        var plan = Plan([new("orders", 1, 0, 30, 0, 1020)], new() { [("A", "orders", 1)] = 19 }, [new("orders", 1, 0, 1000), new("orders", 1, 10, 1010)]);
        Assert.Equal(new Mm2PartitionTakeover("orders", 1, "A.orders", Mm2Start.AfterMm2, 19, 20, 30, 1020), Assert.Single(plan.Partitions));
    }

    [Fact]
    public void A_source_with_gaps_is_checked_with_the_records_the_caller_counted()
    {
        // Transaction markers in the source: 8 records, not 9, after the synced offset 10 up to 19.
        var plan = Plan([new("orders", 0, 0, 30, 0, 19)], new() { [("A", "orders", 0)] = 19 }, [new("orders", 0, 10, 10)], after: new() { [("orders", 0)] = 8 });
        Assert.False(plan.Refused, string.Join("\n", plan.Problems));
        Assert.Equal(20, Assert.Single(plan.Partitions).NextSourceOffset);
    }

    [Fact]
    public void Partitions_mm2_never_reached_with_an_empty_remote_partition_start_from_the_source_start()
    {
        var plan = Plan(
            [new("orders", 0, 0, 10, 0, 10), new("orders", 1, 5, 12, 0, 0), new("orders", 2, 0, 0, null, null)],
            new() { [("A", "orders", 0)] = 9 }, [new("orders", 0, 0, 0)]);
        Assert.False(plan.Refused, string.Join("\n", plan.Problems));
        Assert.Equal(
        [
            new("orders", 0, "A.orders", Mm2Start.AfterMm2, 9, 10, 10, 10),
            new("orders", 1, "A.orders", Mm2Start.FromSourceStart, null, 5, 12, 0),
            new("orders", 2, "A.orders", Mm2Start.FromSourceStart, null, 0, 0, 0),
        ], plan.Partitions);
        Assert.Equal([0L, 7L, 0L], plan.Partitions.Select(p => p.Remaining));
    }

    [Fact]
    public void Records_gone_from_the_source_after_mm2s_position_are_a_note_not_a_refusal()
    {
        var plan = Plan([new("orders", 0, 25, 30, 0, 20)], new() { [("A", "orders", 0)] = 19 }, [new("orders", 0, 19, 19)]);
        Assert.False(plan.Refused);
        Assert.Equal(20, Assert.Single(plan.Partitions).NextSourceOffset);
        Assert.Equal(["A orders/0 -> B A.orders/0: 5 records after MM2's position (20 to 24) are gone from A (retention): Mesh counts them as expired"], plan.Notes);
    }

    public static TheoryData<string, Mm2PartitionMarks, long?, Mm2OffsetSync[], string> Disagreements => new()
    {
        {
            "target shorter than the position", new("orders", 3, 0, 100, 0, 50), 59L, [new("orders", 3, 0, 0)],
            "A orders/3 -> B A.orders/3: B's partition ends at offset 50, shorter than MM2's position says (60: source offset 0 landed at 0, and 59 records follow it up to 59). Records MM2 copied are missing in B"
        },
        {
            "target longer than the position", new("orders", 3, 0, 100, 0, 70), 59L, [new("orders", 3, 0, 0)],
            "A orders/3 -> B A.orders/3: B's partition ends at offset 70, past what MM2's position accounts for (60): 10 records were written after MM2 committed 59"
        },
        {
            "a sync past the position", new("orders", 3, 0, 100, 0, 70), 59L, [new("orders", 3, 0, 0), new("orders", 3, 65, 65)],
            "A orders/3 -> B A.orders/3: MM2 wrote source offset 65 (an offset sync in mm2-offset-syncs.B.internal says so) after its committed position 59"
        },
        {
            "no offset sync", new("orders", 3, 0, 100, 0, 60), 59L, [new("orders", 2, 0, 0)],
            "A orders/3 -> B A.orders/3: no offset sync for this partition in mm2-offset-syncs.B.internal"
        },
        {
            "position past the source's end", new("orders", 3, 0, 40, 0, 60), 59L, [new("orders", 3, 0, 0)],
            "A orders/3 -> B A.orders/3: MM2's position is offset 59, but A's partition ends at 40"
        },
        {
            "remote partition missing", new("orders", 3, 0, 100, null, null), 59L, [new("orders", 3, 0, 0)],
            "A orders/3 -> B A.orders/3: MM2's position says it copied up to offset 59, but B has no partition A.orders/3"
        },
        {
            "records without a position", new("orders", 3, 0, 100, 0, 60), null, [],
            "A orders/3 -> B A.orders/3: B holds 60 records (up to offset 60) but mm2-offsets.B.internal has no position for this partition"
        },
        {
            "records without a position, expired since", new("orders", 3, 0, 100, 60, 60), null, [],
            "A orders/3 -> B A.orders/3: B holds 0 records (up to offset 60) but mm2-offsets.B.internal has no position for this partition"
        },
    };

    [Theory]
    [MemberData(nameof(Disagreements))]
    public void Clusters_that_disagree_with_mm2s_position_refuse_naming_the_partition(string why, Mm2PartitionMarks marks, long? position, Mm2OffsetSync[] syncs, string message)
    {
        var positions = new Dictionary<(string, string, int), long>();
        if (position is { } p) positions[("A", marks.Topic, marks.Partition)] = p;
        var plan = Plan([marks], positions, syncs);

        Assert.True(plan.Refused, why);
        Assert.Empty(plan.Partitions);
        var problem = Assert.Single(plan.Problems);
        Assert.StartsWith(message, problem.Message, StringComparison.Ordinal);
        Assert.Equal(("orders", 3, 3), (problem.Topic, problem.Partition, problem.ExitCode));
        Assert.Equal(3, plan.ExitCode);
    }

    [Fact]
    public void A_topic_mm2_never_copied_is_refused_naming_it()
    {
        var plan = Plan([new("payments", 0, 0, 7, null, null), new("payments", 1, 0, 5, null, null)], []);
        var problem = Assert.Single(plan.Problems);
        Assert.Equal(("payments", (int?)null, 3), (problem.Topic, problem.Partition, problem.ExitCode));
        Assert.StartsWith("MM2 never copied A's topic payments (12 records in 2 partitions): mm2-offsets.B.internal has no position for it and B has no topic A.payments.", problem.Message, StringComparison.Ordinal);
        Assert.Contains("topics.exclude", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_topic_mm2_never_copied_starts_from_the_start()
    {
        var plan = Plan([new("quiet", 0, 0, 0, null, null)], []);
        Assert.False(plan.Refused);
        Assert.Equal(Mm2Start.FromSourceStart, Assert.Single(plan.Partitions).Start);
    }

    [Fact]
    public void Positions_of_another_mm2_cluster_alias_are_refused_as_bad_input()
    {
        var plan = Plan([new("orders", 0, 0, 10, 0, 10)], new() { [("primary", "orders", 0)] = 9 });
        Assert.Equal(2, plan.ExitCode);
        Assert.Contains(plan.Problems, p => p.Message.StartsWith("mm2-offsets.B.internal in B holds positions of cluster 'primary', none of 'A'", StringComparison.Ordinal));
    }

    [Fact]
    public void Positions_of_partitions_the_source_does_not_have_are_refused_and_topics_the_topology_leaves_out_are_noted()
    {
        var plan = Plan([new("orders", 0, 0, 10, 0, 10)],
            new() { [("A", "orders", 0)] = 9, [("A", "orders", 4)] = 3, [("A", "gone", 0)] = 1, [("A", "audit", 0)] = 2 },
            [new("orders", 0, 0, 0)], replicated: t => t != "audit");
        Assert.Equal(
        [
            "mm2-offsets.B.internal has a position for A gone/0, but A has no topic gone",
            "mm2-offsets.B.internal has a position for A orders/4, but orders has only 1 partitions in A",
        ], plan.Problems.Select(p => p.Message[..p.Message.IndexOf(':')]));
        Assert.Equal(["MM2 copied A's topic audit, which the topology does not replicate on A -> B: Mesh leaves its copy as it is"], plan.Notes);
    }

    [Fact]
    public void Positions_fold_to_the_latest_and_a_tombstone_removes_one()
    {
        var folded = Mm2Takeover.Fold(
        [
            new("MirrorSourceConnector", "A", "orders", 0, 10),
            new("MirrorSourceConnector", "A", "orders", 1, 4),
            new("MirrorSourceConnector", "A", "orders", 0, 12),
            new("MirrorSourceConnector", "A", "orders", 1, null),
        ]);
        Assert.Equal(new Dictionary<(string, string, int), long> { [("A", "orders", 0)] = 12 }, folded);
    }

    [Fact]
    public void The_seeded_checkpoint_is_what_a_replicator_resumes_from_after_mm2s_last_record()
    {
        var partition = new Mm2PartitionTakeover("orders", 0, "A.orders", Mm2Start.AfterMm2, 59, 60, 100, 60);
        var checkpoint = Mm2Takeover.Checkpoint(partition, "A", "1a2b3c4d", "5e6f7a8b", OriginSet.All);

        Assert.Equal("3;next=60;dest=60;src=1a2b3c4d;dst=5e6f7a8b;quarantined=0;expired=0;carried=*;catchup=;vector=A@1a2b3c4d:59", checkpoint.Encode());
        Assert.True(ReplicationCheckpoint.TryDecode(checkpoint.Encode(), out var read, out var reason), reason);
        Assert.True(read!.Vector.HasApplied(OriginVector.Key("A", "1a2b3c4d"), 59));
        Assert.False(read.Vector.HasApplied(OriginVector.Key("A", "1a2b3c4d"), 60));
        // The link carries what it carried: no catch-up from the source's start.
        var reassigned = read.Reassign(OriginSet.All, "A", 0, out var gained);
        Assert.True(gained.IsEmpty);
        Assert.Equal(60, reassigned.NextSourceOffset);

        Assert.Throws<ArgumentException>(() => Mm2Takeover.Checkpoint(partition with { Start = Mm2Start.FromSourceStart }, "A", "1a2b3c4d", "5e6f7a8b", OriginSet.All));
    }
}
