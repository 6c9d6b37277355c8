using Mesh.Grains.Tests.Hosting;
using Mesh.Grains.Tests.InMemory;
using Mesh.Grains.Tests.Infrastructure;

namespace Mesh.Grains.Tests;

/// <summary>One silo of region c, reading regions a and b from the in-memory Kafka.</summary>
public sealed class PauseCluster() : MeshCluster("c", silos: 1);

/// <summary>
/// Pausing and resuming an inbound link or one of its topics through region c's topology grain: a
/// paused partition writes nothing while the rest of the region goes on, and resumes from its
/// checkpoint so every record arrives exactly once.
/// </summary>
public sealed class PauseTests(PauseCluster mesh) : IClassFixture<PauseCluster>
{
    private const string Orders = "orders";
    private const string Audit = "audit";
    private static readonly int[] Partitions = [0, 1];

    [Fact]
    public async Task Paused_partitions_write_nothing_and_after_resume_every_record_arrives_once()
    {
        var world = mesh.World;
        var kafka = world.Kafka;
        var traffic = new Traffic(kafka);
        foreach (var region in new[] { "a", "b" }) kafka.CreateTopic(region, Orders, Partitions.Length);
        kafka.CreateTopic("a", Audit, 1);
        void Burst(int records, params string[] regions)
        {
            for (var i = 0; i < records; i++)
            {
                foreach (var region in regions)
                foreach (var p in Partitions)
                    traffic.Produce(region, Orders, p);
                if (regions.Contains("a")) traffic.Produce("a", Audit, 0);
            }
        }
        Burst(20, "a", "b");

        var topology = mesh.Grains.GetGrain<ITopologyGrain>("c");
        var applied = await topology.ApplyAsync(new ApplyRequest(Documents.Mesh(1, "a", "b", "c"), 0, false));
        Assert.Equal("c: Applied 0->1; added [a->c, b->c]; removed []; changed []; restarted 0; error none", applied.Line());
        await WaitExactAsync(traffic, "version 1");
        var bAssigned = await AssignedAtAsync("b", Orders);

        // One topic of a link.
        var auditPaused = await topology.SetPausedAsync("a", Audit, paused: true);
        Assert.Equal("c a->c audit: paused True, changed True; error none", auditPaused.Line());
        Assert.Equal(["a/audit"], (await topology.GetAsync()).Paused);
        var link = await mesh.Grains.GetGrain<ILinkGrain>("a->c").GetStatusAsync();
        Assert.Equal([(Audit, ReplicationState.Paused), (Orders, ReplicationState.Replicating)], link.Topics.Select(t => (t.Topic, t.State)));
        Assert.All(link.Topics.Single(t => t.Topic == Audit).PartitionDetail, p => Assert.Equal(ReplicationState.Paused, p.State));

        // The whole link: every partition of a -> c pauses, b -> c goes on untouched.
        var linkPaused = await topology.SetPausedAsync("a", null, paused: true);
        Assert.Equal("c a->c *: paused True, changed True; error none", linkPaused.Line());
        var pausedTopology = await topology.GetAsync();
        Assert.Equal(["a", "a/audit"], pausedTopology.Paused);
        Assert.Equal(["a->c v1: origins [a]; paused [*]", "b->c v1: origins [b]; paused []"], pausedTopology.Assignments!.Select(a => a.Line()));
        Assert.Equal("c a->c *: paused True, changed False; error none", (await topology.SetPausedAsync("a", null, paused: true)).Line());
        link = await mesh.Grains.GetGrain<ILinkGrain>("a->c").GetStatusAsync();
        Assert.All(link.Topics.SelectMany(t => t.PartitionDetail), p => Assert.True(p.State == ReplicationState.Paused, p.Line()));
        Assert.Equal(["a", "a/audit"], world.Topologies["c"].Paused);

        var pausedAt = world.Journal.Mark;
        var heldOfA = Partitions.ToDictionary(p => p, p => ReplicaCheck.CountFrom(kafka, "c", Orders, p, "a"));
        Burst(30, "a", "b");
        // b's records are the witness: once they are all in c, a's would have been too had a -> c run.
        await Eventually.WaitAsync("b's new records to reach c while a -> c is paused",
            () => Partitions.All(p => ReplicaCheck.CountFrom(kafka, "c", Orders, p, "b") == traffic.ProducedIn("b", Orders, p).Count),
            TimeSpan.FromSeconds(60), () => string.Join("; ", Partitions.Select(p => $"c {Orders}/{p} holds {ReplicaCheck.CountFrom(kafka, "c", Orders, p, "b")} of b's {traffic.ProducedIn("b", Orders, p).Count}")),
            world);
        var written = world.Journal.OfType<DestinationWritten>(pausedAt).SelectMany(w => w.Records).Where(r => r.OriginRegion == "a").ToList();
        Assert.True(written.Count == 0, $"paused a -> c wrote {written.Count} records, e.g. a@{written.FirstOrDefault()?.OriginOffset}");
        Assert.Equal(heldOfA, Partitions.ToDictionary(p => p, p => ReplicaCheck.CountFrom(kafka, "c", Orders, p, "a")));
        Assert.DoesNotContain(world.Journal.OfType<FeedOpened>(pausedAt), f => f.Source == "a");
        Assert.Equal(bAssigned, await AssignedAtAsync("b", Orders));

        // Resuming the link resumes its topics too.
        var resumed = await topology.SetPausedAsync("a", null, paused: false);
        Assert.Equal("c a->c *: paused False, changed True; error none", resumed.Line());
        Assert.Empty((await topology.GetAsync()).Paused);
        await WaitExactAsync(traffic, "after resuming");
        link = await mesh.Grains.GetGrain<ILinkGrain>("a->c").GetStatusAsync();
        Assert.All(link.Topics.SelectMany(t => t.PartitionDetail), p => Assert.True(p.State == ReplicationState.Replicating, p.Line()));

        var unknown = await topology.SetPausedAsync("x", null, paused: true);
        Assert.Equal("c x->c *: paused True, changed False; error region c runs no link from x (topology version 1); its inbound links come from a, b", unknown.Line());
        Assert.Empty((await topology.GetAsync()).Paused);

        // A version that drops a link drops its pause (the link must not come back paused later); the pauses of the links it keeps stay.
        await topology.SetPausedAsync("b", null, paused: true);
        await topology.SetPausedAsync("a", Audit, paused: true);
        var hub = await topology.ApplyAsync(new ApplyRequest(Documents.HubSpoke(2, "a", "a", "b", "c"), 1, false));
        Assert.Equal("c: Applied 1->2; added []; removed [b->c]; changed [a->c]; restarted 5; error none", hub.Line());
        Assert.Equal(["a/audit"], (await topology.GetAsync()).Paused);
        Assert.Equal(["a/audit"], world.Topologies["c"].Paused);
    }

    private async Task<DateTimeOffset?[]> AssignedAtAsync(string source, string topic) =>
    [
        .. (await Task.WhenAll(Partitions.Select(p =>
            mesh.Grains.GetGrain<IPartitionReplicatorGrain>(GrainKeys.Partition(source, "c", topic, p)).GetStatusAsync()))).Select(s => s.AssignedAt),
    ];

    /// <summary>Waits until c holds every record of a and b, then checks that it holds each exactly once and in order.</summary>
    private async Task WaitExactAsync(Traffic traffic, string when)
    {
        List<string> Problems() =>
        [
            .. Partitions.SelectMany(p => ReplicaCheck.Problems(mesh.World.Kafka, traffic, "c", Orders, p, "a", "b")),
            .. ReplicaCheck.Problems(mesh.World.Kafka, traffic, "c", Audit, 0, "a"),
        ];
        var kafka = mesh.World.Kafka;
        await Eventually.WaitAsync($"c to hold every record of a and b ({when})",
            () => Partitions.All(p => ReplicaCheck.Missing(kafka, traffic, "c", Orders, p, "a", "b") == 0) && ReplicaCheck.Missing(kafka, traffic, "c", Audit, 0, "a") == 0,
            TimeSpan.FromSeconds(60), () => string.Join("; ", Problems()), mesh.World);
        Assert.Empty(Problems());
    }
}
