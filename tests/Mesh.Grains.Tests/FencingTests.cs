using Mesh.Grains.Tests.Hosting;
using Mesh.Grains.Tests.InMemory;
using Mesh.Grains.Tests.Infrastructure;
using Orleans.TestingHost;

namespace Mesh.Grains.Tests;

/// <summary>
/// A forced double activation: two independent Orleans clusters of the same region over one in-memory
/// Kafka (and so one checkpoint topic), each sure it owns every partition replicator of the link r2 -> r1.
/// The one that claims later fences the other; the destination holds each source record exactly once.
/// </summary>
public sealed class FencingTests : IAsyncLifetime
{
    private const string Orders = "orders";
    private const int Partitions = 3;
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(60);
    private readonly MeshWorld _world = MeshWorld.Create("r1");
    private readonly List<TestCluster> _clusters = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var cluster in _clusters)
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
        _world.Forget();
    }

    [Fact]
    public async Task Two_clusters_running_the_same_replicators_write_each_record_once_and_one_is_fenced()
    {
        var traffic = new Traffic(_world.Kafka);
        foreach (var region in new[] { "r1", "r2" }) _world.Kafka.CreateTopic(region, Orders, Partitions);
        Produce(traffic, 40);

        var first = await StartClusterAsync();
        var applied = await first.GrainFactory.GetGrain<ITopologyGrain>("r1").ApplyAsync(new ApplyRequest(Documents.Mesh(1, "r1", "r2"), 0, false));
        Assert.True(applied.Outcome == ApplyOutcome.Applied, applied.Line());
        await WaitAsync("the first cluster to replicate r2's first records", () => Task.FromResult(Missing(traffic)), m => m == 0, m => $"{m} missing");

        // The second cluster starts while r2 produces: its topology grain finds version 1 persisted and runs the
        // same links, so every replicator of r2 -> r1 now has an activation in each cluster. r2 goes on producing
        // until the second cluster's replicators have taken over and a while after, so both activations of each
        // replicator have records to write for as long as both run.
        using var stop = new CancellationTokenSource();
        var producing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Produce(traffic, 1);
                await Task.Delay(10);
            }
        });
        var second = await StartClusterAsync();
        Assert.Equal(1, (await second.GrainFactory.GetGrain<ITopologyGrain>("r1").GetAsync()).Version);
        await WaitAsync("the second cluster's replicators to take over", () => StatusesAsync(second),
            s => s.All(p => p.State == ReplicationState.Replicating && p.RecordsReplicated > 0), s => string.Join("; ", s.Select(Describe)));
        await Task.Delay(TimeSpan.FromSeconds(2)); // traffic while both clusters run, not a wait for a condition
        await stop.CancelAsync();
        await producing;

        var statuses = await WaitAsync("one cluster's replicators to be fenced and the other's to replicate everything",
            async () => (First: await StatusesAsync(first), Second: await StatusesAsync(second), Missing: Missing(traffic)),
            s => s.Missing == 0 && Enumerable.Range(0, Partitions).All(p => IsFenced(s.First[p]) != IsFenced(s.Second[p])
                                                                          && (IsFenced(s.First[p]) ? s.Second[p] : s.First[p]).State == ReplicationState.Replicating),
            s => $"{s.Missing} missing, {Problems(traffic).FirstOrDefault() ?? "no other problem"}; first cluster: {string.Join("; ", s.First.Select(Describe))}; second: {string.Join("; ", s.Second.Select(Describe))}");

        // Exactly once, in r2's order, in every partition; nothing else replicated.
        for (var p = 0; p < Partitions; p++)
            Assert.Empty(ReplicaCheck.Problems(_world.Kafka, traffic, "r1", Orders, p, "r2"));
        // The later claims won: the first cluster's activations were fenced, and the second waited for their writes to settle.
        Assert.All(statuses.First, s => Assert.True(IsFenced(s), Describe(s)));
        Assert.Contains(_world.Log, l => l.Contains("was not released", StringComparison.Ordinal) && l.Contains("waiting 5.0 s", StringComparison.Ordinal));
        Assert.Contains(_world.Log, l => l.Contains(": fenced by epoch", StringComparison.Ordinal));

        // A fenced activation stays fenced: a new topology version does not start it again.
        var reapplied = await first.GrainFactory.GetGrain<ITopologyGrain>("r1").ApplyAsync(new ApplyRequest(Documents.Mesh(2, "r1", "r2"), 1, false));
        Assert.True(reapplied.Outcome == ApplyOutcome.Applied, reapplied.Line());
        Produce(traffic, 10);
        await WaitAsync("r2's last records", () => Task.FromResult(Missing(traffic)), m => m == 0, m => $"{m} missing");
        Assert.All(await StatusesAsync(first), s => Assert.True(IsFenced(s), Describe(s)));
        for (var p = 0; p < Partitions; p++)
            Assert.Empty(ReplicaCheck.Problems(_world.Kafka, traffic, "r1", Orders, p, "r2"));

        // The second cluster shuts down cleanly: its activations checkpoint and release their claims. The first
        // cluster's fenced activations step aside, fresh ones claim after a released claim (no wait) and go on.
        // Counted before the stop: the first cluster may claim while the second is still stopping.
        var afterRelease = _world.Log.Count;
        await second.StopAllSilosAsync();
        Produce(traffic, 10);
        await WaitAsync("the first cluster to replicate again after the second released its claims",
            async () => (Statuses: await StatusesAsync(first), Missing: Missing(traffic)),
            s => s.Missing == 0 && s.Statuses.All(p => p.State == ReplicationState.Replicating),
            s => $"{s.Missing} missing; first cluster: {string.Join("; ", s.Statuses.Select(Describe))}");
        for (var p = 0; p < Partitions; p++)
            Assert.Empty(ReplicaCheck.Problems(_world.Kafka, traffic, "r1", Orders, p, "r2"));
        var since = _world.Log.Skip(afterRelease).ToList();
        Assert.Contains(since, l => l.Contains("previous claim: epoch", StringComparison.Ordinal) && l.Contains("released", StringComparison.Ordinal));
        Assert.DoesNotContain(since, l => l.Contains("was not released", StringComparison.Ordinal));
    }

    private async Task<TestCluster> StartClusterAsync()
    {
        var cluster = await MeshCluster.StartClusterAsync(_world, 1);
        _clusters.Add(cluster);
        return cluster;
    }

    private static bool IsFenced(PartitionStatus status) =>
        status.State == ReplicationState.Stopped && status.Error?.StartsWith("fenced by epoch", StringComparison.Ordinal) == true;

    private static string Describe(PartitionStatus s) => $"{s.Partition}: {s.State} {s.RecordsReplicated} replicated, {s.Error}";

    private static Task<PartitionStatus[]> StatusesAsync(TestCluster cluster) =>
        Task.WhenAll(Enumerable.Range(0, Partitions).Select(p =>
            cluster.GrainFactory.GetGrain<IPartitionReplicatorGrain>(GrainKeys.Partition("r2", "r1", Orders, p)).GetStatusAsync()));

    private List<string> Problems(Traffic traffic) =>
        [.. Enumerable.Range(0, Partitions).SelectMany(p => ReplicaCheck.Problems(_world.Kafka, traffic, "r1", Orders, p, "r2"))];

    private int Missing(Traffic traffic) => Enumerable.Range(0, Partitions).Sum(p => ReplicaCheck.Missing(_world.Kafka, traffic, "r1", Orders, p, "r2"));

    private static void Produce(Traffic traffic, int records)
    {
        for (var i = 0; i < records; i++)
        for (var p = 0; p < Partitions; p++)
            traffic.Produce("r2", Orders, p);
    }

    private Task<T> WaitAsync<T>(string what, Func<Task<T>> probe, Func<T, bool> done, Func<T, string> describe) =>
        Eventually.WaitAsync(what, probe, done, Within, describe, _world);
}
