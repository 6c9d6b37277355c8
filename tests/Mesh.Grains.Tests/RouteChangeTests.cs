using Mesh.Grains.Tests.Hosting;
using Mesh.Grains.Tests.InMemory;
using Mesh.Grains.Tests.Infrastructure;
using Xunit.Abstractions;
using static Mesh.Grains.Tests.Infrastructure.HubRegions;

namespace Mesh.Grains.Tests;

/// <summary>Two silos of region c, reading regions a and h from the in-memory Kafka.</summary>
public sealed class RegionCCluster() : MeshCluster("c", silos: 2);

/// <summary>
/// Region c's control path on a route change: a full mesh of h, a and c becomes hub-and-spoke around
/// h while records flow, so a's records move from link a -> c to link h -> c. The old carrier stops
/// (every partition checkpointed, its reader closed) before the new one starts learning from c where
/// a's records got to; c ends with every record of a and h exactly once, in each origin's order.
/// A later version that changes a link but not a partition's own assignment leaves that partition running.
/// </summary>
public sealed class RouteChangeTests(RegionCCluster mesh, ITestOutputHelper output) : IClassFixture<RegionCCluster>
{
    [Fact]
    public async Task Full_mesh_to_hub_and_spoke_stops_a_to_c_before_h_to_c_takes_over_and_c_holds_every_record_once()
    {
        var world = mesh.World;
        var kafka = world.Kafka;
        await using var regions = new HubRegions(world);
        var traffic = regions.Traffic;
        for (var i = 0; i < 40; i++) regions.Step();
        for (var i = 0; i < 5; i++) traffic.Produce("h", Audit, 0);

        var topology = mesh.Grains.GetGrain<ITopologyGrain>("c");
        var v1 = await topology.ApplyAsync(new ApplyRequest(Documents.Mesh(1, Regions), 0, false));
        Assert.Equal("c: Applied 0->1; added [a->c, h->c]; removed []; changed []; restarted 0; error none", v1.Line());
        await regions.WaitForEveryRecordAsync("version 1", TimeSpan.FromSeconds(60));
        Assert.Empty(regions.Problems());
        await Eventually.WaitAsync("c to hold h's audit records", () => ReplicaCheck.CountFrom(kafka, "c", Audit, 0, "h") == 5, TimeSpan.FromSeconds(60),
            () => string.Join("; ", ReplicaCheck.Problems(kafka, traffic, "c", Audit, 0, "h")), world);
        Assert.Empty(ReplicaCheck.Problems(kafka, traffic, "c", Audit, 0, "h"));
        // Under the full mesh a's records come straight from a; h -> c skips a's copies as off its route.
        Assert.All(Partitions.SelectMany(p => ReplicaCheck.Read(kafka, "c", Orders, p)).Where(r => r.Origin == "a"),
            r => Assert.Equal(["a", "c"], r.Hops));

        // Records keep flowing through the change.
        regions.StartFlowing();
        var flowing = regions.HeldInC + 20;
        await Eventually.WaitAsync("new records to reach c before the change", () => regions.HeldInC >= flowing,
            TimeSpan.FromSeconds(60), () => $"c holds {regions.HeldInC} records of {Orders}", world);

        var mark = world.Journal.Mark;
        var v2 = await topology.ApplyAsync(new ApplyRequest(Documents.HubSpoke(2, "h", Regions), 1, false));
        var aEndAtApply = Partitions.ToDictionary(p => p, p => kafka.Get("a", Orders, p).End);
        // a -> c's two partitions stopped; h -> c's three (orders and audit) restarted carrying a as well.
        Assert.Equal("c: Applied 1->2; added []; removed [a->c]; changed [h->c]; restarted 5; error none", v2.Line());
        Assert.Equal(["h->c v2: origins [a, h]; paused []"], (await topology.GetAsync()).Assignments!.Select(a => a.Line()));

        // By the time the apply returned, every reader a -> c had is closed.
        var opened = world.Journal.OfType<FeedOpened>().Where(f => f.Source == "a").ToList();
        var closed = world.Journal.OfType<FeedClosed>().Where(f => f.Source == "a").ToList();
        Assert.True(opened.Count > 0, "link a -> c never read a");
        foreach (var p in Partitions)
            Assert.True(opened.Count(f => f.Partition == p) == closed.Count(f => f.Partition == p),
                $"a {Orders}/{p}: {opened.Count(f => f.Partition == p)} readers opened by a -> c, {closed.Count(f => f.Partition == p)} closed when the apply returned");

        // A burst after the change, then everything must arrive exactly once.
        for (var i = 0; i < 100; i++) regions.Step();
        await regions.StopFlowingAsync();
        await regions.WaitForEveryRecordAsync("version 2", TimeSpan.FromSeconds(60));
        Assert.Empty(regions.Problems());

        // The order of the two phases, as the ports saw it: a -> c's last write and last reader closed,
        // then h -> c's first recovery on the new assignment (reading its checkpoint, then c).
        var firstRecovery = world.Journal.OfType<CheckpointRead>(mark).FirstOrDefault(r => r.Key.StartsWith("h->c|", StringComparison.Ordinal));
        Assert.True(firstRecovery is not null, "h -> c never recovered on its new assignment");
        var lastClosed = closed.Max(f => f.Sequence);
        Assert.True(lastClosed < firstRecovery.Sequence,
            $"a -> c closed its last reader at event {lastClosed}, after h -> c began recovering ({firstRecovery.Key}) at event {firstRecovery.Sequence}");
        var directWrites = world.Journal.OfType<DestinationWritten>().Where(w => w.Records.Any(r => r.Hops.SequenceEqual(["a", "c"]))).ToList();
        Assert.True(directWrites.Max(w => w.Sequence) < firstRecovery.Sequence,
            $"a -> c wrote to c at event {directWrites.Max(w => w.Sequence)}, after h -> c began recovering at event {firstRecovery.Sequence}");
        Assert.DoesNotContain(world.Journal.OfType<FeedOpened>(mark), f => f.Source == "a");

        // Each orders partition of h -> c gained a with a catch-up over what it had read of h.
        foreach (var p in Partitions)
        {
            var key = GrainKeys.Partition("h", "c", Orders, p);
            var gained = world.Journal.OfType<CheckpointWritten>(mark).FirstOrDefault(w => w.Key == key && w.Checkpoint.Carried!.Contains("a"));
            Assert.True(gained is not null, $"{key} never checkpointed carrying a");
            Assert.True(gained.Checkpoint.CatchUp is { } catchUp && catchUp.Origins.Contains("a"),
                $"{key} gained a without a catch-up: {gained.Checkpoint.Encode()}");
        }

        // a's records written after the apply came through the hub; h's always straight from h.
        foreach (var p in Partitions)
        {
            var held = ReplicaCheck.Read(kafka, "c", Orders, p);
            var viaHub = held.Where(r => r.Origin == "a" && r.Hops.Count == 3).ToList();
            output.WriteLine($"c {Orders}/{p}: {held.Count(r => r.Origin == "a" && r.Hops.Count == 2)} records of a arrived directly, {viaHub.Count} through h " +
                             $"({viaHub.Count(r => r.OriginOffset < aEndAtApply[p])} of them produced before the apply returned), {held.Count(r => r.Origin == "h")} of h");
            Assert.All(held.Where(r => r.Origin == "a" && r.OriginOffset >= aEndAtApply[p]), r => Assert.Equal(["a", "h", "c"], r.Hops));
            Assert.All(held.Where(r => r.Origin == "h"), r => Assert.Equal(["h", "c"], r.Hops));
            Assert.Contains(held, r => r.Origin == "a" && r.Hops.SequenceEqual(["a", "c"]));
        }

        var status = await mesh.Grains.GetGrain<IRegionGrain>("c").GetStatusAsync();
        Assert.Equal(2, status.TopologyVersion);
        Assert.Equal(["h"], status.InboundLinks.Select(l => l.Source));

        await AssertUnchangedPartitionsKeepRunningAsync(topology);
    }

    /// <summary>
    /// Version 3 excludes audit: link h -> c changes, its audit partition stops, and its orders partitions,
    /// whose own assignment is the same, are not touched (same activation, same AssignedAt).
    /// </summary>
    private async Task AssertUnchangedPartitionsKeepRunningAsync(ITopologyGrain topology)
    {
        var before = await Task.WhenAll(Partitions.Select(p => Replicator(Orders, p).GetStatusAsync()));
        Assert.All(before, s => Assert.Equal((ReplicationState.Replicating, 2L), (s.State, s.TopologyVersion)));
        Assert.All(before, s => Assert.NotNull(s.AssignedAt));
        var mark = mesh.World.Journal.Mark;

        var v3 = await topology.ApplyAsync(new ApplyRequest(Documents.Of(3, "hub-spoke", Regions, hub: "h", extra: "topics:\n  exclude: [\"audit\"]\n"), 2, false));
        Assert.Equal("c: Applied 2->3; added []; removed []; changed [h->c]; restarted 1; error none", v3.Line());

        var after = await Task.WhenAll(Partitions.Select(p => Replicator(Orders, p).GetStatusAsync()));
        Assert.Equal(before.Select(s => (s.Partition, s.AssignedAt)), after.Select(s => (s.Partition, s.AssignedAt)));
        Assert.All(after, s => Assert.Equal(ReplicationState.Replicating, s.State));
        // Untouched: no reader of h's orders was closed or reopened by the change.
        Assert.DoesNotContain(mesh.World.Journal.OfType<FeedOpened>(mark), f => f.Topic == Orders);
        Assert.DoesNotContain(mesh.World.Journal.OfType<FeedClosed>(mark), f => f.Topic == Orders);
        Assert.Contains(mesh.World.Journal.OfType<FeedClosed>(mark), f => (f.Source, f.Topic) == ("h", Audit));
        var link = await mesh.Grains.GetGrain<ILinkGrain>(GrainKeys.Link("h", "c")).GetStatusAsync();
        Assert.Equal([Orders], link.Topics.Select(t => t.Topic));
    }

    private IPartitionReplicatorGrain Replicator(string topic, int partition) =>
        mesh.Grains.GetGrain<IPartitionReplicatorGrain>(GrainKeys.Partition("h", "c", topic, partition));
}
