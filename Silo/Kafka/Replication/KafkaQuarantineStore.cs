using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Mesh.Core.Replication;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Replication;

/// <summary>
/// The quarantine in the region's own Kafka: one partition, written through the silo's producer
/// (a write completes once the record is acknowledged), read back whole when an operator asks.
/// </summary>
public sealed partial class KafkaQuarantineStore(
    RegionWriter producer,
    IOptions<KafkaRegionsOptions> regions,
    TimeProvider time,
    ILogger<KafkaQuarantineStore> logger) : IQuarantineStore
{
    public const string Topic = InternalTopics.Quarantine;
    private static readonly TopicPartition Partition = new(Topic, 0);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(60);

    public async Task WriteAsync(QuarantineEntry entry, CancellationToken cancellationToken)
    {
        try
        {
            await ProduceAsync(ToMessage(entry), cancellationToken);
        }
        catch (KafkaException e) when (KafkaErrors.IsRecordRefusal(e.Error.Code))
        {
            // This region's Kafka refusing the record is often why it is here: keep where it is and why,
            // and let a replay fetch the record itself from the source.
            LogKeptWithoutRecord(entry.Source, entry.Topic, entry.Partition, entry.SourceOffset, e.Error.Code);
            try
            {
                await ProduceAsync(ToMessage(entry.WithoutRecord($"{InternalTopics.Quarantine} refused the record itself ({e.Error.Code}: {e.Error.Reason})")), cancellationToken);
            }
            catch (KafkaException again) when (KafkaErrors.IsRecordRefusal(again.Error.Code))
            {
                throw new ReplicationFailedException($"cannot quarantine {entry.Source} {entry.Topic}/{entry.Partition} offset {entry.SourceOffset} ({entry.Reason}): " +
                    $"{InternalTopics.Quarantine} refuses even a record of where it is ({again.Error.Code}: {again.Error.Reason}); replication of this partition stopped at it.");
            }
        }
    }

    // Stamped with the time it is quarantined (the source record's own timestamp is in the header), so
    // a broker that limits how old a new record may be accepts it.
    private Message<byte[]?, byte[]?> ToMessage(QuarantineEntry entry) => new()
    {
        Key = entry.Record.Key,
        Value = entry.Record.Value,
        Timestamp = new Timestamp(time.GetUtcNow().ToUnixTimeMilliseconds(), TimestampType.CreateTime),
        Headers = SourceRecords.ToHeaders(QuarantineCodec.Headers(entry)),
    };

    public Task MarkReplayedAsync(long quarantineOffset, long writtenOffset, CancellationToken cancellationToken) =>
        ProduceAsync(new Message<byte[]?, byte[]?>
        {
            Headers = SourceRecords.ToHeaders([QuarantineCodec.ReplayedMarker(quarantineOffset, writtenOffset, time.GetUtcNow().ToUnixTimeMilliseconds())]),
        }, cancellationToken);

    // A record refused before it is queued (too large for the producer) throws as a KafkaException too.
    private Task ProduceAsync(Message<byte[]?, byte[]?> message, CancellationToken cancellationToken) =>
        producer.ProduceAndWaitAsync(Partition, message, cancellationToken);

    public Task<IReadOnlyList<StoredQuarantineEntry>> ReadAllAsync(CancellationToken cancellationToken) =>
        Task.Run<IReadOnlyList<StoredQuarantineEntry>>(() => ReadAll(cancellationToken), cancellationToken);

    private List<StoredQuarantineEntry> ReadAll(CancellationToken cancellationToken)
    {
        var config = regions.Value.Local.BuildConfig(
            defaults: new Dictionary<string, string> { ["client.id"] = $"mesh-{regions.Value.LocalRegion}-quarantine" },
            required: new Dictionary<string, string>
            {
                ["group.id"] = $"__mesh-{regions.Value.LocalRegion}-quarantine",
                ["enable.auto.commit"] = "false",
                ["auto.offset.reset"] = "earliest",
                ["enable.partition.eof"] = "true",
            });
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        var end = consumer.QueryWatermarkOffsets(Partition, TimeSpan.FromSeconds(10)).High.Value;
        var entries = new List<(long Offset, QuarantineEntry Entry)>();
        var replayed = new Dictionary<long, DateTimeOffset>();
        if (end > 0)
        {
            consumer.Assign(new TopicPartitionOffset(Partition, Offset.Beginning));
            var deadline = DateTime.UtcNow + ReadTimeout;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"reading {Topic} up to offset {end} took longer than {ReadTimeout.TotalSeconds} s");
                var result = consumer.Consume(100);
                if (result is null) continue;
                if (result.IsPartitionEOF)
                {
                    if (result.Offset.Value >= end) break;
                    continue;
                }
                var record = SourceRecords.From(result);
                if (QuarantineCodec.TryDecodeReplayed(record.Headers, out var of, out var atMs))
                    replayed[of] = DateTimeOffset.FromUnixTimeMilliseconds(atMs);
                else if (QuarantineCodec.TryDecode(record.Key, record.Value, record.TimestampMs, record.Headers, out var entry, out var reason))
                    entries.Add((record.Offset, entry!));
                else
                    LogUnreadable(record.Offset, reason);
                if (result.Offset.Value >= end - 1) break;
            }
            consumer.Close();
        }
        return [.. entries.Select(e => new StoredQuarantineEntry(e.Offset, e.Entry, replayed.TryGetValue(e.Offset, out var at) ? at : null))];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Quarantining {Source} {Topic}/{Partition} offset {Offset}: the quarantine topic refused the record itself ({Code}); keeping where it is and why")]
    private partial void LogKeptWithoutRecord(string source, string topic, int partition, long offset, ErrorCode code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Record at offset {Offset} of the quarantine topic is not a quarantine entry and is ignored: {Reason}")]
    private partial void LogUnreadable(long offset, string reason);
}
