using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Mesh.Client.Local;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Mesh.Client.Bench;

/// <summary>
/// The bench's records: a key (one of 1024), a value of text that compresses about as much as typical
/// application payloads (words and numbers, not one repeated byte, not noise) and one header holding the
/// record's sequence number. Each record is exactly the requested raw size, key, value and header together.
/// </summary>
public static class BenchRecords
{
    public const string SequenceHeader = "bench-seq";
    private const int KeyBytes = 5;
    /// <summary>Raw bytes of a record that are not its value: the key and the header's name and value.</summary>
    public const int Overhead = KeyBytes + 9 + sizeof(long);
    private static readonly byte[] Text = MakeText(64 * 1024);

    /// <summary>Produces <paramref name="count"/> records round robin over the partitions; returns how long until the last was acknowledged.</summary>
    /// <exception cref="MeshCommandException">The region refused records.</exception>
    public static TimeSpan Produce(string bootstrap, string topic, int partitions, int count, int recordBytes, CancellationToken cancellationToken,
        int firstSequence = 0)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            Acks = Acks.All,
            EnableIdempotence = true,
            // Large batches: the embedded Kafka counts batches per partition as well as bytes.
            LingerMs = 20,
            BatchSize = 1_000_000,
            QueueBufferingMaxMessages = 500_000,
            ClientId = "mesh-bench",
        }).Build();
        var deliveries = new Deliveries();

        var clock = Stopwatch.StartNew();
        var valueBytes = recordBytes - Overhead;
        for (var i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var message = Record(firstSequence + i, valueBytes);
            Send(producer, new TopicPartition(topic, i % partitions), message, deliveries.Delivered);
        }
        while (producer.Flush(TimeSpan.FromSeconds(1)) > 0) cancellationToken.ThrowIfCancellationRequested();
        deliveries.ThrowIfAnyFailed($"of the {count} bench records were not acknowledged by '{topic}' at {bootstrap}");
        return clock.Elapsed;
    }

    /// <summary>Hands one record to the producer, polling while its queue is full.</summary>
    public static void Send(IProducer<byte[], byte[]> producer, TopicPartition partition, Message<byte[], byte[]> message,
        Action<DeliveryReport<byte[], byte[]>> delivered)
    {
        while (true)
        {
            try
            {
                producer.Produce(partition, message, delivered);
                return;
            }
            catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(20));
            }
        }
    }

    /// <summary>Delivery reports counted: how many failed, and the first failure's reason.</summary>
    public sealed class Deliveries
    {
        private long _failed;
        private string? _firstError;

        public long Failed => Interlocked.Read(ref _failed);

        public void Delivered(DeliveryReport<byte[], byte[]> report)
        {
            if (report.Error.IsError && Interlocked.Increment(ref _failed) == 1) _firstError = report.Error.ToString();
        }

        /// <exception cref="MeshCommandException">Some record was not acknowledged.</exception>
        public void ThrowIfAnyFailed(string what)
        {
            if (Failed > 0) throw new MeshCommandException($"{Failed} {what}: {_firstError}");
        }
    }

    /// <summary>The record's sequence number from its <see cref="SequenceHeader"/>, or -1 when it has none.</summary>
    public static long SequenceOf(Message<byte[], byte[]> message) =>
        message.Headers is { } headers && headers.TryGetLastBytes(SequenceHeader, out var bytes) && bytes.Length == sizeof(long)
            ? BinaryPrimitives.ReadInt64BigEndian(bytes)
            : -1;

    /// <summary>Raw bytes of a record as read back: key, value, and each header's name and value.</summary>
    public static long RawSize(Message<byte[], byte[]> message)
    {
        long size = (message.Key?.Length ?? 0) + (message.Value?.Length ?? 0);
        if (message.Headers is { } headers)
            foreach (var header in headers) size += Encoding.UTF8.GetByteCount(header.Key) + (header.GetValueBytes()?.Length ?? 0);
        return size;
    }

    /// <summary>The record of <paramref name="sequence"/> with a value of <paramref name="valueBytes"/> (the raw size is that plus <see cref="Overhead"/>).</summary>
    public static Message<byte[], byte[]> Record(int sequence, int valueBytes)
    {
        var sequenceBytes = new byte[sizeof(long)];
        BinaryPrimitives.WriteInt64BigEndian(sequenceBytes, sequence);
        var value = new byte[valueBytes];
        var prefix = Encoding.ASCII.GetBytes($"{sequence} ");
        prefix.AsSpan(0, Math.Min(prefix.Length, valueBytes)).CopyTo(value);
        // A window of the text that moves with the sequence: records differ, the text repeats as real payloads do.
        var start = (int)((sequence * 7919L) % (Text.Length - valueBytes));
        if (valueBytes > prefix.Length) Text.AsSpan(start, valueBytes - prefix.Length).CopyTo(value.AsSpan(prefix.Length));
        return new Message<byte[], byte[]>
        {
            Key = Encoding.ASCII.GetBytes($"k{sequence % 1024:D4}"),
            Value = value,
            Headers = new Headers { { SequenceHeader, sequenceBytes } },
        };
    }

    /// <summary>Words from a small vocabulary with numbers among them, fixed by a seed so every run writes the same bytes.</summary>
    private static byte[] MakeText(int length)
    {
        string[] words =
        [
            "order", "customer", "amount", "currency", "EUR", "USD", "status", "shipped", "pending", "warehouse", "item", "quantity",
            "price", "discount", "region", "created", "updated", "address", "street", "city", "country", "payment", "card", "invoice",
        ];
        var random = new Random(13);
        var text = new StringBuilder(length + 32);
        while (text.Length < length)
        {
            text.Append(words[random.Next(words.Length)]).Append('=');
            text.Append(random.Next(3) == 0 ? random.Next(1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture) : words[random.Next(words.Length)]);
            text.Append(random.Next(4) == 0 ? ';' : ' ');
        }
        return Encoding.ASCII.GetBytes(text.ToString(0, length));
    }
}
