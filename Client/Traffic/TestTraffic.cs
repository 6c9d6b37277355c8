using System.Text;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Mesh.Core.Replication;

namespace Mesh.Client.Traffic;

/// <summary>
/// Keyed records with application headers, produced into a region the way an application would,
/// and read back for checking. Each record's value is unique (<c>region:sequence</c>), so where it
/// landed can be counted exactly.
/// </summary>
public static class TestTraffic
{
    public const string TraceHeader = "app-trace";
    public const string SourceHeader = "app-source";

    public static string ValueOf(string region, long sequence) => $"{region}:{sequence}";

    /// <summary>Produces <paramref name="count"/> records into <paramref name="topic"/> of one region; reports progress as records are acknowledged.</summary>
    public static async Task ProduceAsync(string bootstrap, string region, string topic, int count, int keys,
        Action<int>? onAcked = null, CancellationToken cancellationToken = default, long firstSequence = 0, int recordsPerSecond = 0)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrap,
            EnableIdempotence = true,
            LingerMs = 5,
            ClientId = $"mesh-traffic-{region}",
        };
        using var producer = new ProducerBuilder<string, string>(config).Build();
        var acked = 0;
        var failed = 0;
        Error? firstError = null;
        for (long i = firstSequence; i < firstSequence + count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (recordsPerSecond > 0)
            {
                // Paced traffic: each record waits for its slot, as a steady application would send it.
                var due = TimeSpan.FromSeconds((double)(i - firstSequence) / recordsPerSecond);
                await Pace.UntilAsync(clock, due, cancellationToken);
            }
            var message = new Message<string, string>
            {
                Key = $"{region}-key-{i % keys}",
                Value = ValueOf(region, i),
                Headers = new Headers
                {
                    { TraceHeader, Encoding.UTF8.GetBytes($"trace-{region}-{i}") },
                    { SourceHeader, Encoding.UTF8.GetBytes(region) },
                },
            };
            while (true)
            {
                try
                {
                    producer.Produce(topic, message, report =>
                    {
                        if (report.Error.IsError) { Interlocked.Increment(ref failed); firstError ??= report.Error; }
                        else onAcked?.Invoke(Interlocked.Increment(ref acked));
                    });
                    break;
                }
                catch (ProduceException<string, string> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(50));
                }
            }
        }
        await Task.Run(() => producer.Flush(cancellationToken), cancellationToken);
        if (failed > 0) throw new InvalidOperationException($"{failed} of {count} records to {region}/{topic} failed: {firstError}");
    }

    /// <summary>Reads every record of <paramref name="topic"/> in one region, up to each partition's end at the time of the call.</summary>
    public static List<LoggedRecord> ReadAll(string bootstrap, string topic, TimeSpan timeout)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "mesh-verify",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        using var consumer = new ConsumerBuilder<string?, string?>(config).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Select(p => p.PartitionId).ToList();
        var ends = partitions.ToDictionary(p => p, p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
        var records = new List<LoggedRecord>();
        var open = ends.Where(e => e.Value > 0).Select(e => e.Key).ToHashSet();
        if (open.Count == 0) return records;
        consumer.Assign(open.Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var deadline = DateTime.UtcNow + timeout;
        while (open.Count > 0)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"reading {topic} at {bootstrap}: partitions {string.Join(",", open)} did not reach their end offsets within {timeout.TotalSeconds} s");
            var r = consumer.Consume(100);
            if (r is null) continue;
            if (!r.IsPartitionEOF)
            {
                var headers = r.Message.Headers?.Select(h => new RecordHeader(h.Key, h.GetValueBytes())).ToList() ?? [];
                Provenance? provenance = null;
                var provenanceHeader = headers.FirstOrDefault(h => h.Name == ProvenanceCodec.HeaderName);
                if (provenanceHeader.Name is not null && ProvenanceCodec.TryDecode(provenanceHeader.Value, out var header, out _))
                    provenance = header!.Provenance;
                records.Add(new LoggedRecord(r.Partition.Value, r.Offset.Value, r.Message.Key, r.Message.Value, r.Message.Timestamp.UnixTimestampMs, headers, provenance));
            }
            if (r.Offset.Value >= ends[r.Partition.Value] - 1 || r.IsPartitionEOF && r.Offset.Value >= ends[r.Partition.Value])
                open.Remove(r.Partition.Value);
        }
        return records;
    }
}

/// <summary>A record as read back from one region.</summary>
public sealed record LoggedRecord(int Partition, long Offset, string? Key, string? Value, long TimestampMs, IReadOnlyList<RecordHeader> Headers, Provenance? Provenance)
{
    public string? Header(string name) =>
        Headers.FirstOrDefault(h => h.Name == name) is { Name: not null, Value: { } v } ? Encoding.UTF8.GetString(v) : null;
}
