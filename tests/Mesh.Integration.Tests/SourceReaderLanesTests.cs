using Confluent.Kafka;
using Mesh.Core.Replication;
using Mesh.Integration.Tests.Infrastructure;
using Mesh.Kafka.Clients;
using Mesh.Kafka.Replication;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Integration.Tests;

/// <summary>
/// The shared source reader's two lanes against a real (embedded) Kafka: partitions with nothing to read go cold (a
/// long fetch wait) and hand over what trickles in from there; a partition that turns busy moves back hot; through every
/// move each partition's records reach its feed exactly once, in order; a feed closed and reopened while the lanes trade
/// partitions reads from where it asks.
/// </summary>
public sealed class SourceReaderLanesTests
{
    private const string Topic = "lanes";
    private const int Partitions = 120;
    private const int Busy = 10; // partitions 0..9 get a burst
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan CoolAfter = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Idle_partitions_go_cold_busy_ones_come_back_and_every_record_arrives_once_in_order()
    {
        await using var kafka = await LoneKafka.StartAsync("lanes");
        await kafka.CreateTopicAsync(Topic, Partitions);
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.Bootstrap, EnableIdempotence = true, LingerMs = 5 }).Build();
        var produced = new long[Partitions];
        void Produce(IEnumerable<int> partitions, int each)
        {
            foreach (var p in partitions)
                for (var i = 0; i < each; i++)
                {
                    producer.Produce(new TopicPartition(Topic, p), new Message<byte[]?, byte[]?> { Key = BitConverter.GetBytes(p), Value = BitConverter.GetBytes(produced[p]) });
                    produced[p]++;
                }
            producer.Flush(Wait);
        }
        var all = Enumerable.Range(0, Partitions).ToArray();

        using var reader = new SharedSourceReader("source", new KafkaClusterOptions { BootstrapServers = kafka.Bootstrap }, "here", NullLogger.Instance,
            coolAfter: CoolAfter);
        var feeds = all.Select(p => reader.Open(Topic, p, 0)).ToArray();
        var read = all.Select(_ => new List<long>()).ToArray();
        void DrainAll()
        {
            var into = new List<SourceRecord>();
            foreach (var p in all)
            {
                into.Clear();
                feeds[p].Drain(into, 100_000, out var gap);
                Assert.Null(gap);
                read[p].AddRange(into.Select(r => r.Offset));
            }
        }
        async Task ReadAll(string what) =>
            await Eventually.WaitAsync(what, () => { DrainAll(); return Task.FromResult(all.Count(p => read[p].Count < produced[p])); }, behind => behind == 0,
                Wait, behind => $"{behind} of {Partitions} partitions short");
        Task AllCold(string what) =>
            Eventually.WaitAsync(what, () => Task.FromResult(reader.ColdPartitions), n => n == Partitions, CoolAfter + Wait, n => $"{n} cold");

        Produce(all, 3);
        await ReadAll("the first three records of every partition");
        Assert.Equal(0, reader.ColdPartitions); // read just now: hot

        await AllCold("every idle partition to go cold");
        Assert.Equal(Partitions, reader.Moves.Cooled);

        // A trickle into every cold partition is read there; no partition moves for it.
        Produce(all, 2);
        await ReadAll("two more records of every (cold) partition");
        Assert.Equal(Partitions, reader.ColdPartitions);
        Assert.Equal(0, reader.Moves.Warmed);

        // A burst into a few: they turn busy and move back hot, the others stay cold.
        Produce(Enumerable.Range(0, Busy), SharedSourceReader.WarmRecords * 3);
        await ReadAll("the burst");
        await Eventually.WaitAsync("the busy partitions to move back to the hot lane", () => Task.FromResult(reader.Moves.Warmed), n => n >= Busy, Wait,
            n => $"{n} warmed");
        Assert.True(reader.ColdPartitions >= Partitions - Busy, $"{reader.ColdPartitions} cold");

        // While the lanes trade partitions: half the feeds closed and reopened at offset 3, records everywhere around it.
        await AllCold("the busy partitions to go cold again");
        Produce(all, 1);
        for (var p = 0; p < Partitions; p += 2)
        {
            feeds[p].Dispose();
            feeds[p] = reader.Open(Topic, p, 3);
            read[p].RemoveRange(3, read[p].Count - 3);
        }
        Produce(all, 1);
        Produce(Enumerable.Range(0, Busy), SharedSourceReader.WarmRecords * 2);
        await ReadAll("every record of every partition");
        DrainAll();
        foreach (var p in all)
            Assert.Equal(Enumerable.Range(0, (int)produced[p]).Select(i => (long)i), read[p]);

        // Settled positions follow into whichever lane holds the partition: past every record, never back.
        await Eventually.WaitAsync("every feed's position to settle at its end", () => Task.FromResult(all.Count(p => feeds[p].Position != produced[p])), n => n == 0,
            Wait, n => $"{n} not settled, e.g. " + string.Join(", ", all.Where(p => feeds[p].Position != produced[p]).Take(6)
                .Select(p => $"{p}: {feeds[p].Position?.ToString() ?? "none"} of {produced[p]}")));
        foreach (var feed in feeds) feed.Dispose();
    }
}
