using System.Text.RegularExpressions;
using Confluent.Kafka;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// Nothing lost in silence. Records the source dropped (the embedded Kafka keeps about 5 MB per
/// partition, as retention would) before a link replicated them are counted, in status and in the
/// log with their offset range, both on a link that had read nothing yet and on one that resumes. A
/// destination that no longer holds what its checkpoint says is stopped with the reason.
/// </summary>
public sealed class GapTests
{
    private static readonly string[] Regions = ["r1", "r2"];
    private const string Topic = "orders";
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Records_the_source_dropped_before_replication_are_counted_on_a_first_start_and_on_a_resume()
    {
        await using var mesh = TestMesh.InNewFolder("gap").WithShortTakeOver("r2"); // r2's silo is killed and restarted
        await mesh.UpAsync(Regions, partitions: 2, Topic);
        var b1 = mesh.Local.Bootstrap("r1");

        // Partition 1 replicates 500 records; partition 0 has read nothing when r2's silo goes down.
        Produce(b1, 1, 500);
        await Eventually.WaitAsync("r2 to hold 500 records", () => Task.FromResult(mesh.RecordCount("r2", Topic)), n => n == 500, Wait);
        await mesh.Local.KillAsync("r2", silo: true, kafka: false);

        // 40,000 records of 200 bytes per partition: more than the embedded Kafka keeps.
        Produce(b1, 0, 40_000);
        Produce(b1, 1, 40_000);
        var (low0, high0) = Watermarks(b1, 0);
        var (low1, high1) = Watermarks(b1, 1);
        Assert.True(low0 > 0 && low1 > 500, $"the source should have dropped records: partition 0 starts at {low0}, partition 1 at {low1}");

        await mesh.Local.StartAsync("r2");
        var expectedExpired = low0 + (low1 - 500);
        var topic = await Eventually.WaitAsync("r1->r2 to catch up and count the expired records",
            async () => (await mesh.StatusAsync("r2")).InboundLinks.Single().Topics.Single(),
            t => t.LagRecords == 0 && t.RecordsExpiredBeforeReplication == expectedExpired, Wait,
            t => $"lag {t.LagRecords}, expired {t.RecordsExpiredBeforeReplication} (want {expectedExpired}), error {t.Error}");
        Assert.Equal(Grains.ReplicationState.Replicating, topic.State);
        Assert.Equal(low0, topic.PartitionDetail.Single(p => p.Partition == 0).RecordsExpiredBeforeReplication);
        Assert.Equal(low1 - 500, topic.PartitionDetail.Single(p => p.Partition == 1).RecordsExpiredBeforeReplication);

        // Everything the source still held arrived, once.
        Assert.Equal(high0 - low0 + 500 + (high1 - low1), mesh.RecordCount("r2", Topic));

        // The log names the ranges; status --json carries the counts.
        var log = await File.ReadAllTextAsync(mesh.Local.Paths.SiloLog("r2", 1));
        Assert.Contains($"r1->r2|orders|0: {low0} records (source offsets 0..{low0 - 1}) expired in r1 before they were replicated", log);
        Assert.Contains($"r1->r2|orders|1: {low1 - 500} records (source offsets 500..{low1 - 1}) expired in r1 before they were replicated", log);
        var status = await MeshProcesses.MeshAsync(Wait, "status", "--json", "--dir", mesh.Dir);
        Assert.Matches($"\"recordsExpiredBeforeReplication\": {expectedExpired}", status.Stdout);
    }

    [Fact]
    public async Task A_destination_that_no_longer_holds_what_its_checkpoint_says_is_never_resumed_as_if_whole()
    {
        await using var mesh = TestMesh.InNewFolder("shrink").WithShortTakeOver("r2");
        await mesh.UpAsync(Regions, partitions: 3, Topic);
        var b1 = mesh.Local.Bootstrap("r1");
        for (var p = 0; p < 3; p++) Produce(b1, p, 100);
        await Eventually.WaitAsync("r2 to hold 300 records", () => Task.FromResult(mesh.RecordCount("r2", Topic)), n => n == 300, Wait);

        // As if the topic had been re-created or the cluster swapped under surviving checkpoints:
        // partition 0's checkpoint claims more than r2 holds, partition 1's names another cluster.
        var b2 = mesh.Local.Bootstrap("r2");
        await Eventually.WaitAsync("checkpoints past the records", () => Task.FromResult(Checkpoints(b2)),
            c => Enumerable.Range(0, 3).All(p => c.TryGetValue($"r1->r2|{Topic}|{p}", out var v) && v.Contains("dest=100;")), Wait,
            c => string.Join("; ", c.Select(e => $"{e.Key}={e.Value}")));
        await mesh.Local.KillAsync("r2", silo: true, kafka: false);
        var checkpoints = Checkpoints(b2);
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = b2 }).Build())
        {
            producer.Produce(new TopicPartition("__mesh_checkpoints", 0), new Message<string, string>
            {
                Key = $"r1->r2|{Topic}|0",
                Value = Regex.Replace(checkpoints[$"r1->r2|{Topic}|0"], "dest=\\d+", "dest=5000"),
            });
            producer.Produce(new TopicPartition("__mesh_checkpoints", 0), new Message<string, string>
            {
                Key = $"r1->r2|{Topic}|1",
                Value = Regex.Replace(checkpoints[$"r1->r2|{Topic}|1"], "dst=[0-9a-z]+", "dst=deadbeef"),
            });
            producer.Flush(TimeSpan.FromSeconds(30));
        }
        await mesh.Local.StartAsync("r2");

        var topic = await Eventually.WaitAsync("partition 0 to stop, partition 1 to be rebuilt and partition 2 to replicate",
            async () => (await mesh.StatusAsync("r2")).InboundLinks.Single().Topics.Single(),
            t => t.PartitionDetail[0].State == Grains.ReplicationState.Stopped
                 && t.PartitionDetail[1] is { State: Grains.ReplicationState.Replicating, Rebuild.CompletedAt: not null }
                 && t.PartitionDetail[2].State == Grains.ReplicationState.Replicating, Wait,
            t => string.Join("; ", t.PartitionDetail.Select(p => $"{p.Partition}: {p.State} {p.Error} {p.Rebuild}")));
        Assert.Contains("ends at offset 100, but the checkpoint says the mesh had written up to 5000", topic.PartitionDetail[0].Error);
        Assert.Contains("mesh region rebuild r2", topic.PartitionDetail[0].Error);
        Assert.True(topic.PartitionDetail[0].NeedsRebuild);
        // Another cluster under the checkpoint: the partition was rebuilt, reading back what r2 holds, so nothing twice.
        Assert.Contains("is a new cluster", topic.PartitionDetail[1].Rebuild!.Reason);
        Assert.Equal((0L, 100L), Watermarks(b2, 1));

        // Partition 2 goes on; the stopped one takes nothing, and status says so with exit code 4.
        Produce(b1, 2, 50);
        await Eventually.WaitAsync("r2 to hold 350 records", () => Task.FromResult(mesh.RecordCount("r2", Topic)), n => n == 350, Wait);
        var status = await MeshProcesses.MeshAsync(Wait, "status", "--dir", mesh.Dir);
        Assert.Equal(4, status.ExitCode);

        // The operator refills it: it reads r2's 100 records back, writes none of them again, and goes on.
        var rebuild = await MeshProcesses.MeshAsync(Wait, "region", "rebuild", "r2", "--dir", mesh.Dir);
        Assert.True(rebuild.ExitCode == 0, rebuild.ToString());
        Assert.Contains("1 partitions re-read from their sources", rebuild.Stdout);
        Produce(b1, 0, 10);
        await Eventually.WaitAsync("r2 to hold 360 records", () => Task.FromResult(mesh.RecordCount("r2", Topic)), n => n == 360, Wait);
        Assert.Equal((0L, 110L), Watermarks(b2, 0));
        var healthy = await MeshProcesses.MeshAsync(Wait, "status", "--dir", mesh.Dir);
        Assert.True(healthy.ExitCode == 0, healthy.ToString());
    }

    private static void Produce(string bootstrap, int partition, int count)
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 20 }).Build();
        var value = new string('v', 200);
        for (var i = 0; i < count; i++)
        {
            while (true)
            {
                try
                {
                    producer.Produce(new TopicPartition(Topic, partition), new Message<string, string> { Key = $"k-{partition}-{i}", Value = value });
                    break;
                }
                catch (ProduceException<string, string> e) when (e.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(50));
                }
            }
        }
        producer.Flush(TimeSpan.FromMinutes(1));
    }

    private static (long Low, long High) Watermarks(string bootstrap, int partition)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "gap-test" }).Build();
        var w = consumer.QueryWatermarkOffsets(new TopicPartition(Topic, partition), TimeSpan.FromSeconds(10));
        return (w.Low.Value, w.High.Value);
    }

    /// <summary>The latest checkpoint per replicator key in a region's checkpoint topic.</summary>
    private static Dictionary<string, string> Checkpoints(string bootstrap)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = "gap-test-checkpoints", EnablePartitionEof = true, EnableAutoCommit = false,
        }).Build();
        var tp = new TopicPartition("__mesh_checkpoints", 0);
        var end = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value;
        var latest = new Dictionary<string, string>();
        if (end == 0) return latest;
        consumer.Assign(new TopicPartitionOffset(tp, Offset.Beginning));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is null) continue;
            if (!r.IsPartitionEOF && r.Message.Key is not null) latest[r.Message.Key] = r.Message.Value;
            if (r.Offset.Value >= end - 1 || r.IsPartitionEOF && r.Offset.Value >= end) break;
        }
        return latest;
    }
}
