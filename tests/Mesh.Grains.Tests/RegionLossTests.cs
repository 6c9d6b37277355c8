using Mesh.Grains.Tests.Hosting;
using Mesh.Grains.Tests.InMemory;
using Mesh.Grains.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Mesh.Grains.Tests;

/// <summary>
/// A region that loses its data, with a cluster of silos per region over one in-memory Kafka: a
/// region whose Kafka is replaced by an empty cluster while its silos run is rebuilt from its peers
/// (their records and its own earlier ones, each once, the latter from the peer that holds most of
/// them); a partition that lost records in the same cluster stops until 'mesh region rebuild'.
/// </summary>
public sealed class RegionLossTests(ITestOutputHelper output)
{
    private const string Orders = "orders";
    private static readonly int[] Partitions = [0, 1];
    private static readonly string[] Regions = ["r1", "r2", "r3"];
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_destination_whose_Kafka_is_replaced_while_its_silos_run_is_rebuilt_not_resumed()
    {
        await using var mesh = await RegionClusters.StartAsync(Regions);
        var traffic = await StartMeshAsync(mesh, Regions, records: 30);
        var old = mesh.Kafka.Incarnation("r1");

        // r2 and r3 keep producing while r1's Kafka is replaced: the replicators into r1 are between
        // writes, in the middle of them, or idle when it happens.
        string incarnation;
        await using (var flowing = Flow.Start(traffic, ["r2", "r3"]))
        {
            await flowing.UntilAsync(20);
            incarnation = mesh.Kafka.ReplaceCluster("r1");
            await flowing.UntilAsync(flowing.Steps + 20);
        }
        Assert.NotEqual(old, incarnation);

        var rebuilt = await WaitRebuiltAsync(mesh, "r1", ["r2", "r3"], $"incarnation {incarnation}, was {old}");
        foreach (var status in rebuilt)
        {
            Assert.Equal((ReplicationState.Replicating, false, 0L), (status.State, status.NeedsRebuild, status.Rebuild!.FromSourceOffset));
        }
        await WaitConvergedAsync(mesh, traffic, Regions, "after r1's rebuild");

        // r2 and r3 held all of r1's earlier records: r2, first by id, wrote them back, r3 none.
        foreach (var p in Partitions)
        {
            Assert.Equal("r2", await mesh.Grains("r1").GetGrain<IOwnPastGrain>(GrainKeys.RegionPartition("r1", Orders, p)).CarrierAsync(["r2", "r3"], incarnation));
            var ownPast = ReplicaCheck.Read(mesh.Kafka, "r1", Orders, p).Where(r => r.Origin == "r1" && r.OriginIncarnation == old).ToList();
            Assert.Equal(traffic.ProducedIn("r1", Orders, p, old).Count, ownPast.Count);
            Assert.All(ownPast, r => Assert.Equal(["r1", "r2", "r1"], r.Hops));
        }

        // r1's new records (its new incarnation) reach r2 and r3, once.
        Produce(traffic, 20, "r1");
        await WaitConvergedAsync(mesh, traffic, Regions, "after r1's new records");
        Assert.All(Partitions, p => Assert.Equal(20, traffic.ProducedIn("r1", Orders, p, incarnation).Count));
    }

    [Fact]
    public async Task A_destination_partition_shorter_than_the_checkpoint_stops_and_waits_for_a_rebuild()
    {
        string[] regions = ["r1", "r2"];
        await using var mesh = await RegionClusters.StartAsync(regions);
        var traffic = await StartMeshAsync(mesh, regions, records: 30);
        var lossy = Replicator(mesh, "r2", "r1", 0);
        var wrote = (await lossy.GetStatusAsync()).RecordsReplicated;
        Assert.Equal(30, wrote);

        // r1 orders/0 holds r1's 30 records and r2's 30 replicas; it loses the last 20 of them (same
        // cluster: an unclean leader election, say), and r2 produces on.
        var keep = mesh.Kafka.Get("r1", Orders, 0).End - 20;
        var lostAt = mesh.World("r1").Journal.Mark;
        mesh.Kafka.LoseRecords("r1", Orders, 0, keep);
        var survived = ReplicaCheck.Read(mesh.Kafka, "r1", Orders, 0).Where(r => r.Origin == "r2").Select(r => r.OriginOffset).ToList();
        Assert.Equal(10, survived.Count);
        Produce(traffic, 10, "r2");

        var stopped = await WaitAsync(mesh, "r2->r1 orders/0 to stop for the records r1 lost", lossy.GetStatusAsync,
            s => s.State == ReplicationState.Stopped, s => s.Line());
        Assert.True(stopped.NeedsRebuild, stopped.Line());
        Assert.Contains("mesh region rebuild r1", stopped.Error);
        // The other partition goes on.
        await WaitAsync(mesh, "r2's new records to reach r1 orders/1", () => Task.FromResult(ReplicaCheck.Missing(mesh.Kafka, traffic, "r1", Orders, 1, "r2")),
            missing => missing == 0, missing => $"{missing} of r2's records missing in r1 orders/1");
        Assert.Empty(ReplicaCheck.Problems(mesh.Kafka, traffic, "r1", Orders, 1, "r2"));
        Assert.Equal(ReplicationState.Replicating, (await Replicator(mesh, "r2", "r1", 1).GetStatusAsync()).State);

        var topology = mesh.Grains("r1").GetGrain<ITopologyGrain>("r1");
        var rebuild = await topology.RebuildAsync("r1", null, force: false);
        Assert.Equal(("r1", "r2->r1", 1), (rebuild.Region, string.Join(", ", rebuild.Links), rebuild.PartitionsRebuilding));
        // The write that found the loss landed after the gap, where nothing can move it: r1 holds of r2
        // what survived, that write, and then the rest of r2's records, each once, in r2's order.
        var landed = mesh.World("r1").Journal.OfType<DestinationWritten>(lostAt).First(w => w.Topic == Orders && w.Partition == 0);
        Assert.Equal(keep, landed.FirstOffset);
        List<long> Expected() =>
        [
            .. survived, .. landed.Records.Select(r => r.OriginOffset),
            .. traffic.ProducedIn("r2", Orders, 0).Select(r => r.Offset).Except(survived).Except(landed.Records.Select(r => r.OriginOffset)),
        ];
        List<long> Held() => [.. ReplicaCheck.Read(mesh.Kafka, "r1", Orders, 0).Where(r => r.Origin == "r2").Select(r => r.OriginOffset)];
        var refilled = await WaitAsync(mesh, "r2->r1 orders/0 to refill r1", async () => (Status: await lossy.GetStatusAsync(), Held: Held()),
            s => s.Status.Rebuild?.CompletedAt is not null && s.Held.SequenceEqual(Expected()),
            s => $"{s.Status.Line()}; rebuild {s.Status.Rebuild}; r1 holds r2@[{string.Join(",", s.Held)}], expected r2@[{string.Join(",", Expected())}]");
        Assert.Equal((ReplicationState.Replicating, false), (refilled.Status.State, refilled.Status.NeedsRebuild));
        Assert.Contains("r1 lost records", refilled.Status.Rebuild!.Reason);

        // r1 is whole again: asked again without force, nothing needs it and nothing changes.
        var again = await topology.RebuildAsync("r1", null, force: false);
        Assert.Equal(0, again.PartitionsRebuilding);
        Produce(traffic, 10, "r2");
        await WaitAsync(mesh, "r2's last records to reach r1", () => Task.FromResult(Partitions.Sum(p => ReplicaCheck.Missing(mesh.Kafka, traffic, "r1", Orders, p, "r2"))),
            missing => missing == 0, missing => $"{missing} of r2's records missing in r1");
        Assert.Equal(Expected(), Held());
        Assert.Empty(ReplicaCheck.Problems(mesh.Kafka, traffic, "r1", Orders, 1, "r2"));
    }

    [Fact]
    public async Task The_peer_that_holds_most_of_a_lost_regions_past_writes_it_back_and_the_others_converge_through_it()
    {
        await using var mesh = await RegionClusters.StartAsync(Regions);
        var traffic = await StartMeshAsync(mesh, Regions, records: 30);
        var old = mesh.Kafka.Incarnation("r1");

        // r2 falls behind on r1 (its link from r1 paused), r3 does not: r3 holds r1's last 20 records per
        // partition, r2 does not, although r2 sorts first.
        var r2Topology = mesh.Grains("r2").GetGrain<ITopologyGrain>("r2");
        Assert.True((await r2Topology.SetPausedAsync("r1", null, paused: true)).Changed);
        Produce(traffic, 20, Regions);
        await WaitAsync(mesh, "r3 to hold all of r1's records", () => Task.FromResult(Partitions.Sum(p => ReplicaCheck.Missing(mesh.Kafka, traffic, "r3", Orders, p, "r1"))),
            missing => missing == 0, missing => $"{missing} of r1's records missing in r3");
        Assert.All(Partitions, p => Assert.Equal(30, ReplicaCheck.CountFrom(mesh.Kafka, "r2", Orders, p, "r1")));

        // Every link into r1 settles (idle, checkpointed) before r1's Kafka is replaced: with nothing to write, each
        // must still notice that its destination's cluster is a new one.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var incarnation = mesh.Kafka.ReplaceCluster("r1");
        Assert.True((await r2Topology.SetPausedAsync("r1", null, paused: false)).Changed);

        await WaitRebuiltAsync(mesh, "r1", ["r2", "r3"], $"incarnation {incarnation}, was {old}");
        await WaitConvergedAsync(mesh, traffic, Regions, "after r1's rebuild");
        foreach (var p in Partitions)
        {
            Assert.Equal("r3", await mesh.Grains("r1").GetGrain<IOwnPastGrain>(GrainKeys.RegionPartition("r1", Orders, p)).CarrierAsync(["r2", "r3"], incarnation));
            Assert.All(ReplicaCheck.Read(mesh.Kafka, "r1", Orders, p).Where(r => r.Origin == "r1" && r.OriginIncarnation == old),
                r => Assert.Equal(["r1", "r3", "r1"], r.Hops));
            // r2 took what it lacked of r1's past from the rebuilt r1.
            var r2Held = ReplicaCheck.Read(mesh.Kafka, "r2", Orders, p).Where(r => r.Origin == "r1" && r.OriginIncarnation == old).ToList();
            Assert.Equal([.. Enumerable.Repeat<string[]>(["r1", "r2"], 30), .. Enumerable.Repeat<string[]>(["r1", "r3", "r1", "r2"], 20)],
                r2Held.Select(r => r.Hops.ToArray()));
        }
        Assert.Contains(mesh.World("r1").Log, line => line.Contains("r1|orders|0: r3 writes back the region's earlier records", StringComparison.Ordinal));
        output.WriteLine(string.Join(Environment.NewLine, mesh.World("r1").Log.Where(l => l.Contains("OwnPast", StringComparison.Ordinal) || l.Contains("rebuil", StringComparison.OrdinalIgnoreCase))));
    }

    /// <summary>Creates orders in every region, produces <paramref name="records"/> per region and partition, applies a full mesh everywhere and waits until it converged.</summary>
    private static async Task<Traffic> StartMeshAsync(RegionClusters mesh, string[] regions, int records)
    {
        var traffic = new Traffic(mesh.Kafka);
        foreach (var region in regions) mesh.Kafka.CreateTopic(region, Orders, Partitions.Length);
        Produce(traffic, records, regions);
        foreach (var region in regions)
        {
            var applied = await mesh.Grains(region).GetGrain<ITopologyGrain>(region).ApplyAsync(new ApplyRequest(Documents.Mesh(1, regions), 0, false));
            Assert.True(applied.Outcome == ApplyOutcome.Applied, applied.Line());
        }
        await WaitConvergedAsync(mesh, traffic, regions, "version 1");
        return traffic;
    }

    private static void Produce(Traffic traffic, int records, params string[] regions)
    {
        for (var i = 0; i < records; i++)
        foreach (var region in regions)
        foreach (var p in Partitions)
            traffic.Produce(region, Orders, p);
    }

    /// <summary>
    /// Waits until every region holds every record of every region (its own earlier incarnations'
    /// included) and then checks each is held exactly once, in its origin's order, unaltered.
    /// </summary>
    private static async Task WaitConvergedAsync(RegionClusters mesh, Traffic traffic, string[] regions, string when)
    {
        List<string> Problems() =>
            [.. regions.SelectMany(region => Partitions.SelectMany(p => ReplicaCheck.Problems(mesh.Kafka, traffic, region, Orders, p, regions)))];
        await WaitAsync(mesh, $"every region to hold every record ({when})",
            () => Task.FromResult(regions.Sum(region => Partitions.Sum(p => ReplicaCheck.Missing(mesh.Kafka, traffic, region, Orders, p, regions)))),
            missing => missing == 0, missing => $"{missing} records missing: {string.Join("; ", Problems().Take(8))}");
        Assert.Empty(Problems());
    }

    /// <summary>
    /// Waits until every inbound partition of <paramref name="region"/> from <paramref name="sources"/>
    /// reports a finished rebuild whose reason says <paramref name="why"/> (each also reports the rebuild
    /// of its first start, which must not pass for this one).
    /// </summary>
    private static async Task<PartitionStatus[]> WaitRebuiltAsync(RegionClusters mesh, string region, string[] sources, string why) =>
        await WaitAsync(mesh, $"every partition into {region} to report a finished rebuild because '{why}'",
            () => Task.WhenAll(sources.SelectMany(source => Partitions.Select(p => Replicator(mesh, source, region, p).GetStatusAsync()))),
            all => all.All(s => s.Rebuild is { CompletedAt: not null } rebuild && rebuild.Reason.Contains(why, StringComparison.Ordinal)),
            all => string.Join("; ", all.Select(s => $"{s.Line()}, rebuild {s.Rebuild?.ToString() ?? "none"}")));

    private static IPartitionReplicatorGrain Replicator(RegionClusters mesh, string source, string destination, int partition) =>
        mesh.Grains(destination).GetGrain<IPartitionReplicatorGrain>(GrainKeys.Partition(source, destination, Orders, partition));

    /// <summary><see cref="Eventually.WaitAsync{T}"/>, failing with what every region's grains last logged.</summary>
    private static async Task<T> WaitAsync<T>(RegionClusters mesh, string what, Func<Task<T>> probe, Func<T, bool> done, Func<T, string> describe)
    {
        try
        {
            return await Eventually.WaitAsync(what, probe, done, Within, describe);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}{Environment.NewLine}grains last logged:{Environment.NewLine}{mesh.RecentLog()}", e);
        }
    }

    /// <summary>Records produced in some regions every few milliseconds until disposed.</summary>
    private sealed class Flow : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _producing = Task.CompletedTask;
        private int _steps;

        public int Steps => Volatile.Read(ref _steps);

        public static Flow Start(Traffic traffic, string[] regions)
        {
            var flow = new Flow();
            var stop = flow._stop.Token;
            flow._producing = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    Produce(traffic, 1, regions);
                    Interlocked.Increment(ref flow._steps);
                    await Task.Delay(3, CancellationToken.None);
                }
            }, CancellationToken.None);
            return flow;
        }

        public Task UntilAsync(int steps) =>
            Eventually.WaitAsync($"{steps} steps of traffic", () => Steps >= steps, TimeSpan.FromSeconds(30), () => $"{Steps} steps");

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _producing;
            _stop.Dispose();
        }
    }
}
