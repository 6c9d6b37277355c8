using System.Diagnostics;
using Confluent.Kafka;
using Mesh.Grains;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// An idle partition's replicator sleeps until its feed wakes it: with a thousand idle partitions on one silo, a
/// record in any of them still crosses promptly (the wake-up path, not the idle tick, brings it), and none is forgotten.
/// </summary>
public sealed class IdlePartitionsTests
{
    private const string Source = "us-east";
    private const string Destination = "eu-west";
    private const string Topic = "wide";
    private const int Partitions = 1000;
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_record_in_any_of_a_thousand_idle_partitions_crosses_promptly_and_none_is_forgotten()
    {
        await using var mesh = TestMesh.InNewFolder("idle");
        await mesh.UpAsync([Source, Destination], partitions: 1, "orders");
        await mesh.Local.CreateTopicAsync(Source, Topic, Partitions);
        await Eventually.WaitAsync($"{Source}->{Destination} to replicate every partition of '{Topic}'",
            async () => (await mesh.StatusAsync(Destination)).InboundLinks.Single().Topics.FirstOrDefault(t => t.Topic == Topic),
            t => t is { State: ReplicationState.Replicating } && t.PartitionDetail.Count == Partitions
                 && t.PartitionDetail.All(p => p.State == ReplicationState.Replicating),
            Wait, t => t is null ? "not discovered yet" : $"{t.State}, {t.PartitionDetail.Count(p => p.State == ReplicationState.Replicating)} of {Partitions} partitions replicating");
        // Idle for a few seconds: every replicator is asleep on its feed (its idle tick is 15 s).
        await Task.Delay(TimeSpan.FromSeconds(7));

        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = mesh.Local.Bootstrap(Source), EnableIdempotence = true, Acks = Acks.All, LingerMs = 0,
        }).Build();
        using var watch = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = mesh.Local.Bootstrap(Destination), GroupId = "mesh-test-idle" }).Build();
        long Held(int partition) => watch.QueryWatermarkOffsets(new TopicPartition(Topic, partition), TimeSpan.FromSeconds(5)).High.Value;

        // One record at a time into partitions spread over the topic, each timed from its acknowledgement to its arrival.
        var crossings = new List<TimeSpan>();
        int[] probed = [7, 131, 262, 389, 500, 611, 742, 873, 999, 3];
        foreach (var partition in probed)
        {
            await producer.ProduceAsync(new TopicPartition(Topic, partition), new Message<string, string> { Key = $"probe-{partition}", Value = "x" });
            var clock = Stopwatch.StartNew();
            await Eventually.WaitAsync($"the probe in {Topic}/{partition} to reach {Destination}", () => Task.FromResult(Held(partition)), n => n >= 1, Wait, n => $"{n} records");
            crossings.Add(clock.Elapsed);
        }
        // Woken by its feed, a record crosses in tens of milliseconds; one left to the idle tick would wait 7.5 s on average.
        var median = crossings.Order().ElementAt(crossings.Count / 2);
        Assert.True(median < TimeSpan.FromSeconds(1.5),
            $"median crossing {median.TotalMilliseconds:F0} ms, each: {string.Join(", ", crossings.Select(c => $"{c.TotalMilliseconds:F0}"))} ms");

        // Then one record into every partition at once: each arrives, once.
        foreach (var partition in Enumerable.Range(0, Partitions))
            producer.Produce(new TopicPartition(Topic, partition), new Message<string, string> { Key = $"all-{partition}", Value = "y" });
        producer.Flush(TimeSpan.FromMinutes(1));
        var expected = Enumerable.Range(0, Partitions).ToDictionary(p => p, p => probed.Contains(p) ? 2L : 1L);
        await Eventually.WaitAsync($"every partition of '{Topic}' in {Destination} to hold its records",
            () => Task.FromResult(Enumerable.Range(0, Partitions).Count(p => Held(p) < expected[p])), behind => behind == 0, Wait,
            behind => $"{behind} of {Partitions} partitions short");
        Assert.Equal(expected, Enumerable.Range(0, Partitions).ToDictionary(p => p, Held));
        Assert.Equal(Partitions + probed.Length, mesh.RecordCount(Destination, Topic));
    }
}
