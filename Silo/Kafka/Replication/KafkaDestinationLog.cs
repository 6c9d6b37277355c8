using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Mesh.Core.Replication;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Options;
using CoreHeader = Mesh.Core.Replication.RecordHeader;

namespace Mesh.Kafka.Replication;

/// <summary>The destination side of replication: writes through the shared producer, and reads
/// back the provenance of recent records (crash recovery) with one shared consumer.</summary>
public sealed class KafkaDestinationLog : IDestinationLog, IDisposable
{
    private static readonly TimeSpan ScanStallLimit = TimeSpan.FromSeconds(30);
    private readonly LocalProducer _producer;
    private readonly IConsumer<byte[]?, byte[]?> _scanner;
    private readonly SemaphoreSlim _scanGate = new(1, 1);

    public KafkaDestinationLog(LocalProducer producer, IOptions<KafkaRegionsOptions> regions)
    {
        _producer = producer;
        var config = regions.Value.Local.BuildConfig(
            defaults: new Dictionary<string, string> { ["client.id"] = $"mesh-{regions.Value.LocalRegion}-recovery" },
            required: new Dictionary<string, string>
            {
                ["group.id"] = $"__mesh-{regions.Value.LocalRegion}-recovery",
                ["enable.auto.commit"] = "false",
                ["enable.partition.eof"] = "true",
                ["auto.offset.reset"] = "earliest",
                ["fetch.wait.max.ms"] = "50",
                // The high watermark bounds the scan; read_committed would stall behind an open transaction.
                ["isolation.level"] = "read_uncommitted",
            });
        _scanner = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
    }

    public Task<long> GetEndOffsetAsync(string topic, int partition, CancellationToken cancellationToken) =>
        Task.Run(() => _scanner.QueryWatermarkOffsets(new TopicPartition(topic, partition), TimeSpan.FromSeconds(10)).High.Value, cancellationToken);

    public async Task ScanProvenanceAsync(string topic, int partition, long fromOffset, long toOffset,
        Action<Provenance, long> onRecord, CancellationToken cancellationToken)
    {
        if (fromOffset >= toOffset) return;
        await _scanGate.WaitAsync(cancellationToken);
        try
        {
            await Task.Run(() => Scan(new TopicPartition(topic, partition), fromOffset, toOffset, onRecord, cancellationToken), cancellationToken);
        }
        finally
        {
            _scanGate.Release();
        }
    }

    private void Scan(TopicPartition tp, long fromOffset, long toOffset, Action<Provenance, long> onRecord, CancellationToken cancellationToken)
    {
        _scanner.Assign(new TopicPartitionOffset(tp, new Offset(fromOffset)));
        try
        {
            var lastProgress = DateTime.UtcNow;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var result = _scanner.Consume(100);
                if (result is null || result.IsPartitionEOF)
                {
                    if (result is not null && result.Offset.Value >= toOffset) return;
                    if (DateTime.UtcNow - lastProgress > ScanStallLimit)
                        throw new TimeoutException($"reading back {tp.Topic}/{tp.Partition} offsets {fromOffset}..{toOffset} stalled");
                    continue;
                }
                lastProgress = DateTime.UtcNow;
                var header = result.Message.Headers?.FirstOrDefault(h => h.Key == ProvenanceCodec.HeaderName);
                if (header is not null && ProvenanceCodec.TryDecode(header.GetValueBytes(), out var provenance, out _))
                    onRecord(provenance!, result.Offset.Value);
                if (result.Offset.Value >= toOffset - 1) return;
            }
        }
        finally
        {
            _scanner.Unassign();
        }
    }

    public async Task<long> WriteAsync(string topic, int partition, IReadOnlyList<OutboundRecord> records, CancellationToken cancellationToken)
    {
        var tp = new TopicPartition(topic, partition);
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = records.Count;
        long lastOffset = -1;
        Error? firstError = null;
        void Settle()
        {
            if (firstError is not null) done.TrySetException(ToException(firstError, tp));
            else done.TrySetResult(lastOffset + 1);
        }
        void OnDelivery(DeliveryReport<byte[]?, byte[]?> report)
        {
            if (report.Error.IsError) Interlocked.CompareExchange(ref firstError, report.Error, null);
            else InterlockedMax(ref lastOffset, report.Offset.Value);
            if (Interlocked.Decrement(ref pending) == 0) Settle();
        }

        var queued = 0;
        try
        {
            foreach (var record in records)
            {
                await _producer.ProduceAsync(tp, ToMessage(record), OnDelivery, cancellationToken);
                queued++;
            }
        }
        catch (Exception e)
        {
            // Records already queued are still delivered; wait for them, so that whoever recovers
            // this partition next sees them in the destination instead of writing them again.
            if (Interlocked.Add(ref pending, queued - records.Count) == 0) Settle();
            await done.Task.WaitAsync(InFlightLimit).ContinueWith(_ => { }, TaskScheduler.Default);
            if (e is ProduceException<byte[]?, byte[]?> pe && !pe.Error.IsFatal && pe.Error.Code is ErrorCode.MsgSizeTooLarge)
                throw new ReplicationFailedException($"writing {topic}/{partition}: a record is larger than the destination accepts ({pe.Error.Reason}); raise the topic's max.message.bytes or the client's message.max.bytes.");
            throw;
        }
        // Not cancellable: a write in flight must finish (or fail) before anyone recovers this partition.
        return await done.Task.WaitAsync(InFlightLimit);
    }

    /// <summary>Longer than the producer's message.timeout.ms, after which every queued record has settled.</summary>
    private static readonly TimeSpan InFlightLimit = TimeSpan.FromMinutes(3);

    private static Message<byte[]?, byte[]?> ToMessage(OutboundRecord record)
    {
        var headers = new Headers();
        foreach (CoreHeader header in record.Headers) headers.Add(header.Name, header.Value);
        return new Message<byte[]?, byte[]?>
        {
            Key = record.Key,
            Value = record.Value,
            Timestamp = new Timestamp(record.TimestampMs, TimestampType.CreateTime),
            Headers = headers,
        };
    }

    private static Exception ToException(Error error, TopicPartition tp)
    {
        var message = $"writing {tp.Topic}/{tp.Partition}: {error.Code}: {error.Reason}";
        return error.Code is ErrorCode.TopicAuthorizationFailed or ErrorCode.MsgSizeTooLarge or ErrorCode.InvalidRecord
            ? new ReplicationFailedException(message)
            : new KafkaException(error);
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current) return;
            current = seen;
        }
    }

    public void Dispose()
    {
        _scanner.Close();
        _scanner.Dispose();
    }
}
