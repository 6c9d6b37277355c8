using Mesh.Core.Replication;
using Mesh.Grains.Tests.Hosting;
using Mesh.Grains.Tests.InMemory;
using Mesh.Grains.Tests.Infrastructure;

namespace Mesh.Grains.Tests;

/// <summary>One silo of region c, pulling orders (exactly-once) and audit (default) from regions a and b.</summary>
public sealed class ExactlyOnceCluster() : MeshCluster("c", silos: 1);

/// <summary>
/// Exactly-once topics over in-memory transactions that land records and checkpoint together at a commit and drop
/// both at an abort: every batch of orders is one transaction with its checkpoint, a batch whose commit fails is
/// aborted and, after the recovery, written again once; audit goes the default way, with no transaction.
/// </summary>
public sealed class ExactlyOnceTests(ExactlyOnceCluster mesh) : IClassFixture<ExactlyOnceCluster>
{
    private const string Orders = "orders";
    private const string Audit = "audit";
    private static readonly int[] Partitions = [0, 1];

    [Fact]
    public async Task Records_and_checkpoint_commit_together_and_an_aborted_batch_is_written_again_once()
    {
        var world = mesh.World;
        var kafka = world.Kafka;
        var traffic = new Traffic(kafka);
        foreach (var region in new[] { "a", "b" })
        {
            kafka.CreateTopic(region, Orders, Partitions.Length);
            kafka.CreateTopic(region, Audit, 1);
        }
        void Burst(int records, params string[] regions)
        {
            for (var i = 0; i < records; i++)
            foreach (var region in regions)
            {
                foreach (var p in Partitions) traffic.Produce(region, Orders, p);
                traffic.Produce(region, Audit, 0);
            }
        }
        Burst(20, "a", "b");

        var document = Documents.Of(1, "mesh", ["a", "b", "c"], extra: "topics:\n  exactly-once: [orders]\n");
        var applied = await mesh.Grains.GetGrain<ITopologyGrain>("c").ApplyAsync(new ApplyRequest(document, 0, false));
        Assert.Null(applied.Error);
        Assert.All((await mesh.Grains.GetGrain<ITopologyGrain>("c").GetAsync()).Assignments!, a => Assert.Equal([Orders], a.ExactlyOnceTopics!));
        await WaitExactAsync(traffic, "the first records");

        // Only orders' replicators run transactions, each with its own stable id.
        var ids = world.Journal.OfType<TransactionsInitialised>().Select(t => t.TransactionalId).Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["mesh-c-a-to-c.orders.0", "mesh-c-a-to-c.orders.1", "mesh-c-b-to-c.orders.0", "mesh-c-b-to-c.orders.1"], ids);
        // Every record of orders landed with a commit, and each commit's checkpoint describes what it wrote: its
        // partition's, ending where the commit's records end.
        var events = world.Journal.OfType<PortEvent>();
        foreach (var commit in events.OfType<TransactionCommitted>())
        {
            var write = Assert.Single(commit.Writes);
            Assert.Equal(Orders, write.Topic);
            Assert.EndsWith($"|{Orders}|{write.Partition}", commit.CheckpointKey, StringComparison.Ordinal);
            Assert.True(commit.Checkpoint.DestinationEndOffset == write.FirstOffset + write.Records.Count,
                $"commit {commit.Sequence} of {commit.TransactionalId} wrote offsets {write.FirstOffset}..{write.FirstOffset + write.Records.Count - 1} " +
                $"with a checkpoint ending at {commit.Checkpoint.DestinationEndOffset}");
        }
        var ordersWritten = events.OfType<DestinationWritten>().Where(w => w.Topic == Orders).Sum(w => w.Records.Count);
        Assert.Equal(ordersWritten, events.OfType<TransactionCommitted>().Sum(c => c.Records));
        Assert.Equal(Partitions.Sum(p => kafka.Get("c", Orders, p).End), ordersWritten);

        // The next commit fails: that batch is aborted (nothing of it lands), the replicator recovers and writes it once.
        var mark = world.Journal.Mark;
        world.FailCommits(1);
        Burst(15, "a");
        await WaitExactAsync(traffic, "the records after a failed commit");
        var failed = Assert.Single(world.Journal.OfType<TransactionFailed>(mark));
        var aborted = Assert.Single(world.Journal.OfType<TransactionAborted>(mark));
        Assert.Equal(failed.TransactionalId, aborted.TransactionalId);
        Assert.True(aborted.Records > 0, "the aborted transaction held no records");
        Assert.Contains(world.Journal.OfType<TransactionsInitialised>(aborted.Sequence), t => t.TransactionalId == aborted.TransactionalId);

        var status = await mesh.Grains.GetGrain<ILinkGrain>("a->c").GetStatusAsync();
        var orders = status.Topics.Single(t => t.Topic == Orders).PartitionDetail;
        Assert.All(orders, p => Assert.True(p.Transactions is { Committed: > 0 }, $"partition {p.Partition}: {p.Transactions}"));
        Assert.Equal(1, orders.Sum(p => p.Transactions!.Aborted));
        Assert.All(status.Topics.Single(t => t.Topic == Audit).PartitionDetail, p => Assert.Null(p.Transactions));
    }

    private async Task WaitExactAsync(Traffic traffic, string what)
    {
        var kafka = mesh.World.Kafka;
        IEnumerable<string> Problems() =>
            Partitions.SelectMany(p => ReplicaCheck.Problems(kafka, traffic, "c", Orders, p, "a", "b"))
                .Concat(ReplicaCheck.Problems(kafka, traffic, "c", Audit, 0, "a", "b"));
        await Eventually.WaitAsync($"{what}: c holding every record of a and b once", () => !Problems().Any(), TimeSpan.FromSeconds(60),
            () => string.Join("; ", Problems().Take(5)), mesh.World);
    }
}
