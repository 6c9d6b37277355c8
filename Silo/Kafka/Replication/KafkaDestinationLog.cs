using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Mesh.Core.Replication;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Replication;

/// <summary>The destination side of replication into one region: writes through that region's shared
/// writer, and reads back the provenance of recent records (crash recovery) with one shared consumer.</summary>
public sealed class KafkaDestinationLog : IDestinationLog, IDisposable
{
    private static readonly TimeSpan ScanStallLimit = TimeSpan.FromSeconds(30);
    private readonly RegionWriter _producer;
    private readonly IConsumer<byte[]?, byte[]?> _scanner;
    private readonly SemaphoreSlim _scanGate = new(1, 1);
    // Thousands of replicators recovering at once ask their partitions' ends together: a few batched requests.
    private readonly BatchedWatermarks _watermarks;

    /// <param name="runningIn">The region whose silos write (the destination itself, or a push link's source).</param>
    /// <param name="committedOnly">Read back with read_committed: for partitions written in transactions (exactly-once mode).</param>
    public KafkaDestinationLog(RegionWriter producer, KafkaClusterOptions cluster, string runningIn, bool committedOnly = false)
    {
        _producer = producer;
        var name = (producer.Region == runningIn ? runningIn : $"{runningIn}-to-{producer.Region}") + (committedOnly ? "-committed" : "");
        var config = cluster.BuildConfig(
            defaults: new Dictionary<string, string> { ["client.id"] = $"mesh-{name}-recovery" },
            required: new Dictionary<string, string>
            {
                ["group.id"] = $"__mesh-{name}-recovery",
                ["enable.auto.commit"] = "false",
                ["enable.partition.eof"] = "true",
                ["auto.offset.reset"] = "earliest",
                ["fetch.wait.max.ms"] = "50",
                // The high watermark bounds the scan; read_committed would stall behind an open transaction. In
                // exactly-once mode the replicator first re-initialises its transactional id, which (on Apache Kafka)
                // aborts what its predecessor left open, so a committed read-back only waits for other writers' transactions.
                ["isolation.level"] = committedOnly ? "read_committed" : "read_uncommitted",
            });
        _scanner = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        _watermarks = new BatchedWatermarks(_scanner, TimeSpan.FromSeconds(10));
    }

    public async Task<long> GetEndOffsetAsync(string topic, int partition, CancellationToken cancellationToken) =>
        (await GetWatermarksAsync(topic, partition, cancellationToken)).High;

    public async Task<SourceWatermarks> GetWatermarksAsync(string topic, int partition, CancellationToken cancellationToken)
    {
        var marks = await _watermarks.GetAsync(new TopicPartition(topic, partition), cancellationToken);
        return new SourceWatermarks(marks.Low.Value, marks.High.Value);
    }

    public async Task ScanAsync(string topic, int partition, long fromOffset, long toOffset,
        Action<SourceRecord> onRecord, CancellationToken cancellationToken)
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

    private void Scan(TopicPartition tp, long fromOffset, long toOffset, Action<SourceRecord> onRecord, CancellationToken cancellationToken)
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
                onRecord(SourceRecords.From(result));
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
        if (records.Count == 0) throw new ArgumentException("a write needs at least one record", nameof(records));
        var tp = new TopicPartition(topic, partition);
        var reports = new DeliveryReport<byte[]?, byte[]?>?[records.Count];
        var inFlight = new InFlight(records.Count);

        var queued = 0;
        ProduceException<byte[]?, byte[]?>? refusedAtProduce = null;
        try
        {
            for (; queued < records.Count; queued++)
            {
                var index = queued;
                try
                {
                    await _producer.ProduceAsync(tp, ToMessage(records[index]), report => { reports[index] = report; inFlight.Settle(1); }, cancellationToken);
                }
                catch (ProduceException<byte[]?, byte[]?> e) when (KafkaErrors.IsRecordRefusal(e.Error.Code))
                {
                    // Refused before it was queued (larger than the producer accepts): nothing after it is sent.
                    refusedAtProduce = e;
                    break;
                }
            }
        }
        catch (Exception)
        {
            // Records already queued are still delivered; wait for them, so that whoever recovers
            // this partition next sees them in the destination instead of writing them again.
            inFlight.Settle(records.Count - queued);
            await inFlight.Done.WaitAsync(InFlightLimit).ContinueWith(_ => { }, TaskScheduler.Default);
            throw;
        }
        inFlight.Settle(records.Count - queued);
        // Not cancellable: a write in flight must finish (or fail) before anyone recovers this partition.
        await inFlight.Done.WaitAsync(InFlightLimit);

        var end = -1L;
        var firstFailed = -1;
        var lastWritten = -1;
        for (var i = 0; i < queued; i++)
        {
            var report = reports[i]!;
            if (!report.Error.IsError)
            {
                end = Math.Max(end, report.Offset.Value + 1);
                lastWritten = i;
            }
            else if (firstFailed < 0) firstFailed = i;
        }
        // librdkafka's gapless guarantee does not cover records that time out: records written after one
        // that failed leave a hole recovery would step over. Name the failed ones, to be quarantined.
        if (firstFailed >= 0 && lastWritten > firstFailed)
        {
            var failed = Enumerable.Range(0, queued).Where(i => reports[i]!.Error.IsError).ToList();
            if (refusedAtProduce is not null) failed.AddRange(Enumerable.Range(queued, records.Count - queued));
            var error = reports[firstFailed]!.Error;
            throw new WriteHoleException(failed, end, $"{error.Code}: {error.Reason}");
        }
        if (firstFailed >= 0)
        {
            var error = reports[firstFailed]!.Error;
            // A refusal with every record before it written is a record's fault (quarantine it); it is
            // known to be this record's own only when the record was alone in the write.
            if (KafkaErrors.IsRecordRefusal(error.Code) && AllWritten(reports, firstFailed))
                throw new RecordRejectedException(firstFailed, end, $"{error.Code}: {error.Reason}{SizeHint(error)}", exact: records.Count == 1);
            throw ToException(error, tp);
        }
        if (refusedAtProduce is not null)
            throw new RecordRejectedException(queued, end, $"{refusedAtProduce.Error.Code}: {refusedAtProduce.Error.Reason}{SizeHint(refusedAtProduce.Error)}", exact: true);
        return end;
    }

    /// <summary>Counts a write's records down to zero as their delivery reports arrive (or they are never sent).</summary>
    private sealed class InFlight(int count)
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _pending = count;

        public Task Done => _done.Task;

        public void Settle(int records)
        {
            if (records > 0 && Interlocked.Add(ref _pending, -records) == 0) _done.TrySetResult();
        }
    }

    private static bool AllWritten(DeliveryReport<byte[]?, byte[]?>?[] reports, int before)
    {
        for (var i = 0; i < before; i++)
            if (reports[i] is not { Error.IsError: false }) return false;
        return true;
    }

    private static string SizeHint(Error error) => error.Code == ErrorCode.MsgSizeTooLarge
        ? " (larger than the destination accepts: raise the topic's max.message.bytes and the mesh's Mesh:Kafka:Settings:message.max.bytes, then replay it)"
        : "";

    /// <summary>Longer than the producer's message.timeout.ms, after which every queued record has settled.</summary>
    private static readonly TimeSpan InFlightLimit = TimeSpan.FromMinutes(3);

    private static Message<byte[]?, byte[]?> ToMessage(OutboundRecord record) => new()
    {
        Key = record.Key,
        Value = record.Value,
        Timestamp = new Timestamp(record.TimestampMs, TimestampType.CreateTime),
        Headers = SourceRecords.ToHeaders(record.Headers),
    };

    private static Exception ToException(Error error, TopicPartition tp)
    {
        var message = $"writing {tp.Topic}/{tp.Partition}: {error.Code}: {error.Reason}";
        return error.Code is ErrorCode.TopicAuthorizationFailed
            ? new ReplicationFailedException(message)
            : new KafkaException(error);
    }

    // Twice, at a silo's shutdown: the container disposes the local region's log it handed out as a
    // singleton, and KafkaDestinationLogs disposes every log it made. Closing a closed consumer throws.
    private int _disposed;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _watermarks.Dispose();
        _scanner.Close();
        _scanner.Dispose();
    }
}
