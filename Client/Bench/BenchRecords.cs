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
    public static TimeSpan Produce(string bootstrap, string topic, int partitions, int count, int recordBytes, CancellationToken cancellationToken)
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
        long failed = 0;
        string? firstError = null;
        void Delivered(DeliveryReport<byte[], byte[]> report)
        {
            if (report.Error.IsError && Interlocked.Increment(ref failed) == 1) firstError = report.Error.ToString();
        }

        var clock = Stopwatch.StartNew();
        var valueBytes = recordBytes - Overhead;
        for (var i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var message = Record(i, valueBytes);
            var partition = new TopicPartition(topic, i % partitions);
            while (true)
            {
                try
                {
                    producer.Produce(partition, message, Delivered);
                    break;
                }
                catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(20));
                }
            }
        }
        while (producer.Flush(TimeSpan.FromSeconds(1)) > 0) cancellationToken.ThrowIfCancellationRequested();
        if (Interlocked.Read(ref failed) > 0)
            throw new MeshCommandException($"{failed} of the {count} bench records were not acknowledged by '{topic}' at {bootstrap}: {firstError}");
        return clock.Elapsed;
    }

    /// <summary>Raw bytes of a record as read back: key, value, and each header's name and value.</summary>
    public static long RawSize(Message<byte[], byte[]> message)
    {
        long size = (message.Key?.Length ?? 0) + (message.Value?.Length ?? 0);
        if (message.Headers is { } headers)
            foreach (var header in headers) size += Encoding.UTF8.GetByteCount(header.Key) + (header.GetValueBytes()?.Length ?? 0);
        return size;
    }

    private static Message<byte[], byte[]> Record(int sequence, int valueBytes)
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
