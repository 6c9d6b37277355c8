using System.Globalization;
using System.Text;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>
/// A record as an application sees it, in a form that compares by value: key and value as base64 (null
/// kept apart from empty), the application's headers in order (the mesh's own left out), and the id each
/// test record carries in its <c>id</c> header (<c>origin:sequence</c>).
/// </summary>
public sealed record RawRecord(int Partition, long Offset, string? Key, string? Value, long TimestampMs, IReadOnlyList<string> ApplicationHeaders, string Id)
{
    public string Origin => Id[..Id.IndexOf(':')];
    public long Sequence => long.Parse(Id[(Id.IndexOf(':') + 1)..], CultureInfo.InvariantCulture);
}

/// <summary>
/// Produces records that exercise what a backup must keep byte for byte: null and empty keys and values,
/// binary values, headers with null and empty values, repeated header names; and reads them back.
/// </summary>
public static class RawTraffic
{
    private static readonly string[] MeshHeaders = ["mesh.provenance", "mesh.restored"];

    /// <summary>
    /// Produces <paramref name="count"/> records (sequences from <paramref name="first"/>) spread over the topic's partitions; returns them
    /// as acknowledged (the embedded Kafka's acknowledgement does not carry the stored timestamp: read the topic back for it).
    /// </summary>
    public static async Task<List<RawRecord>> ProduceAsync(string bootstrap, string topic, string origin, long first, int count, int partitions = 2)
    {
        var config = new ProducerConfig { BootstrapServers = bootstrap, EnableIdempotence = true, LingerMs = 20, ClientId = $"raw-{origin}" };
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(config).Build();
        var pending = new List<Task<DeliveryResult<byte[]?, byte[]?>>>(count);
        for (var i = first; i < first + count; i++)
        {
            var message = new Message<byte[]?, byte[]?> { Key = KeyOf(i), Value = ValueOf(origin, i), Headers = HeadersOf(origin, i) };
            pending.Add(producer.ProduceAsync(new TopicPartition(topic, (int)(i % partitions)), message));
        }
        var results = await Task.WhenAll(pending);
        return [.. results.Select(r => From(r.Partition.Value, r.Offset.Value, r.Message.Key, r.Message.Value, r.Message.Timestamp.UnixTimestampMs, r.Message.Headers))];
    }

    /// <summary>Every record of the topic in one region, up to each partition's end at the time of the call.</summary>
    public static List<RawRecord> ReadAll(string bootstrap, string topic)
    {
        var config = new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "mesh-raw-read", EnableAutoCommit = false, AutoOffsetReset = AutoOffsetReset.Earliest };
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single();
        if (metadata.Error.Code != ErrorCode.NoError) return [];
        var ends = metadata.Partitions.ToDictionary(p => p.PartitionId, p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p.PartitionId), TimeSpan.FromSeconds(10)).High.Value);
        var records = new List<RawRecord>();
        var open = ends.Where(e => e.Value > 0).Select(e => e.Key).ToHashSet();
        consumer.Assign(open.Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (open.Count > 0)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"reading {topic} at {bootstrap}: partitions {string.Join(",", open)} did not reach their ends");
            var r = consumer.Consume(100);
            if (r is null || r.IsPartitionEOF) continue;
            records.Add(From(r.Partition.Value, r.Offset.Value, r.Message.Key, r.Message.Value, r.Message.Timestamp.UnixTimestampMs, r.Message.Headers));
            if (r.Offset.Value >= ends[r.Partition.Value] - 1) open.Remove(r.Partition.Value);
        }
        return records;
    }

    private static byte[]? KeyOf(long i) => (i % 7) switch
    {
        0 => null,
        1 => [],
        _ => Encoding.UTF8.GetBytes($"k{i % 13}"),
    };

    private static byte[]? ValueOf(string origin, long i) => (i % 11) switch
    {
        0 => null,
        1 => [],
        // Binary, not text: every byte value appears.
        _ => [.. Encoding.UTF8.GetBytes($"{origin}:{i}:"), .. Enumerable.Range(0, 40 + (int)(i % 60)).Select(b => (byte)((b * 37 + i) % 256))],
    };

    private static Headers HeadersOf(string origin, long i)
    {
        var headers = new Headers { { "id", Encoding.UTF8.GetBytes($"{origin}:{i}") } };
        if (i % 3 == 0) headers.Add("empty", []);
        if (i % 5 == 0) headers.Add("nothing", null);
        if (i % 4 == 0)
        {
            headers.Add("dup", [1]);
            headers.Add("dup", [2]);
        }
        return headers;
    }

    private static RawRecord From(int partition, long offset, byte[]? key, byte[]? value, long timestampMs, Headers? headers)
    {
        var all = headers?.Select(h => (h.Key, Value: h.GetValueBytes())).ToList() ?? [];
        var application = all.Where(h => !MeshHeaders.Contains(h.Key))
            .Select(h => $"{h.Key}={(h.Value is null ? "<null>" : Convert.ToBase64String(h.Value))}").ToList();
        var id = all.FirstOrDefault(h => h.Key == "id").Value is { } bytes ? Encoding.UTF8.GetString(bytes) : throw new InvalidOperationException($"a record at {partition}/{offset} has no id header");
        return new RawRecord(partition, offset, B64(key), B64(value), timestampMs, application, id);
    }

    private static string? B64(byte[]? bytes) => bytes is null ? null : Convert.ToBase64String(bytes);
}

/// <summary>A consumer group that processes a prefix of each partition and commits, then resumes elsewhere.</summary>
public static class GroupConsumer
{
    /// <summary>Reads each partition up to (not including) the offset given, commits there, and returns the ids processed.</summary>
    public static HashSet<string> ProcessAndCommit(string bootstrap, string topic, string group, IReadOnlyDictionary<int, long> upTo)
    {
        var config = new ConsumerConfig { BootstrapServers = bootstrap, GroupId = group, EnableAutoCommit = false, AutoOffsetReset = AutoOffsetReset.Earliest };
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        var processed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (partition, end) in upTo)
        {
            consumer.Assign(new TopicPartitionOffset(topic, partition, Offset.Beginning));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            var next = 0L;
            while (next < end)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"group {group} reading {topic}/{partition}: reached {next} of {end}");
                var r = consumer.Consume(100);
                if (r is null || r.IsPartitionEOF) continue;
                if (r.Offset.Value >= end) break;
                processed.Add(Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("id")));
                next = r.Offset.Value + 1;
            }
            consumer.Commit([new TopicPartitionOffset(topic, partition, end)]);
        }
        return processed;
    }

    /// <summary>Resumes the group in <paramref name="topic"/> from its committed offsets and returns the ids of every record after them.</summary>
    public static List<string> ReadFromCommitted(string bootstrap, string topic, string group, int partitions)
    {
        var config = new ConsumerConfig { BootstrapServers = bootstrap, GroupId = group, EnableAutoCommit = false, AutoOffsetReset = AutoOffsetReset.Error };
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        var positions = consumer.Committed(Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)), TimeSpan.FromSeconds(10));
        var ids = new List<string>();
        foreach (var position in positions)
        {
            if (position.Offset == Offset.Unset) throw new InvalidOperationException($"group {group} has no committed offset in {topic}/{position.Partition.Value}");
            var end = consumer.QueryWatermarkOffsets(position.TopicPartition, TimeSpan.FromSeconds(10)).High.Value;
            if (position.Offset.Value >= end) continue;
            consumer.Assign(position);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"group {group} resuming {topic}/{position.Partition.Value}");
                var r = consumer.Consume(100);
                if (r is null || r.IsPartitionEOF) continue;
                ids.Add(Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("id")));
                if (r.Offset.Value >= end - 1) break;
            }
        }
        return ids;
    }
}
