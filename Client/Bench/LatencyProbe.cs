using System.Buffers.Binary;
using System.Diagnostics;
using Confluent.Kafka;
using Mesh.Client.Local;

namespace Mesh.Client.Bench;

/// <summary>
/// The steady measures' traffic: records sent at a fixed rate, each with its send time in a header (this process's
/// <see cref="Stopwatch"/> ticks, which <see cref="Arrivals"/> reads on the same clock), so that a reader of the
/// destination measures each record's end-to-end latency.
/// </summary>
public static class LatencyProbe
{
    public const string SentHeader = "bench-sent";

    /// <summary>Raw bytes the send-time header adds to a record: its name and its 8-byte value.</summary>
    public const int SentHeaderBytes = 10 + sizeof(long);

    /// <summary>The send time a record carries, or null when it has none.</summary>
    public static long? SentOf(Message<byte[], byte[]> message) =>
        message.Headers is { } headers && headers.TryGetLastBytes(SentHeader, out var bytes) && bytes.Length == sizeof(long)
            ? BinaryPrimitives.ReadInt64BigEndian(bytes)
            : null;

    /// <summary>
    /// Has a client fetch <paramref name="topic"/>'s metadata and connect to its broker now, so that the first records a
    /// measure times do not also carry the connection's set-up.
    /// </summary>
    public static void Connect(IClient client, string topic)
    {
        using var admin = new DependentAdminClientBuilder(client.Handle).Build();
        admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
    }

    /// <summary>How many records are due after <paramref name="elapsed"/> at <paramref name="perSecond"/>, never more than <paramref name="count"/>.</summary>
    public static int Due(TimeSpan elapsed, double perSecond, int count) => (int)Math.Min(count, Math.Floor(elapsed.TotalSeconds * perSecond) + 1);

    /// <summary>
    /// Sends <paramref name="count"/> records of <paramref name="recordBytes"/> raw bytes round robin over the partitions at
    /// <paramref name="perSecond"/>; returns how long the sending took, until the last was acknowledged.
    /// </summary>
    /// <exception cref="MeshCommandException">The region refused records.</exception>
    public static TimeSpan Send(string bootstrap, string topic, int partitions, int count, int recordBytes, double perSecond, CancellationToken cancellationToken,
        int firstSequence = 0)
    {
        // An application's producer: the same guarantees the mesh writes with, a short linger.
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 5,
            SocketNagleDisable = true,
            ClientId = "mesh-bench-probe",
        }).Build();
        Connect(producer, topic);
        var deliveries = new BenchRecords.Deliveries();

        var valueBytes = recordBytes - BenchRecords.Overhead - SentHeaderBytes;
        var clock = Stopwatch.StartNew();
        var sent = 0;
        while (sent < count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Whatever is due by now goes out at once; then a millisecond's sleep (a sleep computed from a second reading of
            // the clock could come out negative).
            for (var due = Due(clock.Elapsed, perSecond, count); sent < due; sent++)
            {
                var message = BenchRecords.Record(firstSequence + sent, valueBytes);
                var stamp = new byte[sizeof(long)];
                BinaryPrimitives.WriteInt64BigEndian(stamp, Stopwatch.GetTimestamp());
                message.Headers.Add(SentHeader, stamp);
                BenchRecords.Send(producer, new TopicPartition(topic, sent % partitions), message, deliveries.Delivered);
            }
            producer.Poll(TimeSpan.Zero);
            if (sent < count) Thread.Sleep(1);
        }
        while (producer.Flush(TimeSpan.FromSeconds(1)) > 0) cancellationToken.ThrowIfCancellationRequested();
        deliveries.ThrowIfAnyFailed($"of the {count} steady records were not acknowledged by '{topic}' at {bootstrap}");
        return clock.Elapsed;
    }
}
