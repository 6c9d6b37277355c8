using System.Diagnostics;
using Confluent.Kafka;
using Mesh.Client.Local;

namespace Mesh.Client.Bench;

/// <summary>What a plain consumer read: records, their raw bytes, and how long from connecting to the end of the last partition.</summary>
public sealed record BareReadResult(long Records, long RawBytes, TimeSpan Elapsed);

/// <summary>
/// The yardstick for the backup: a plain Confluent consumer, no group, every partition assigned from the
/// beginning and read to the end offsets it had when it started, nothing done with the records but counting.
/// </summary>
public static class BareRead
{
    public static BareReadResult Run(string bootstrap, string topic, int partitions, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            // Assigned, never subscribed: the group id is only a name, nothing is committed.
            GroupId = "mesh-bench-bare-read",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            ClientId = "mesh-bench-bare-read",
        }).Build();
        var ends = Enumerable.Range(0, partitions)
            .ToDictionary(p => p, p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
        var open = ends.Where(e => e.Value > 0).Select(e => e.Key).ToHashSet();
        consumer.Assign(open.Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        long records = 0, bytes = 0;
        while (open.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (clock.Elapsed > timeout)
                throw new MeshCommandException($"The bare read of '{topic}' at {bootstrap} did not reach the end of partitions {string.Join(",", open.Order())} " +
                                               $"within {timeout.TotalSeconds:0} s ({records} records read).");
            var result = consumer.Consume(100);
            if (result is null) continue;
            if (!result.IsPartitionEOF)
            {
                records++;
                bytes += BenchRecords.RawSize(result.Message);
            }
            if (result.Offset.Value >= ends[result.Partition.Value] - 1) open.Remove(result.Partition.Value);
        }
        var elapsed = clock.Elapsed;
        consumer.Close();
        return new BareReadResult(records, bytes, elapsed);
    }

    /// <summary>Records a region's topic holds: the sum of its partitions' end offsets (the bench's topics start empty and are never trimmed).</summary>
    public static long Count(IConsumer<byte[], byte[]> watermarks, string topic, int partitions) =>
        Enumerable.Range(0, partitions).Sum(p => watermarks.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);

    public static IConsumer<byte[], byte[]> Watermarks(string bootstrap) =>
        new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "mesh-bench-watermarks", ClientId = "mesh-bench-watermarks" }).Build();
}
