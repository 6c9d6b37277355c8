using System.Globalization;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Mesh.Core.Replication;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Replication;

/// <summary>
/// Transactional producers for exactly-once replicators, one per replicator activation (a transaction belongs to one
/// producer, so they cannot share the silo's writer). Only into the silo's own region, which holds the checkpoints.
/// </summary>
public sealed class KafkaDestinationTransactions(IOptions<KafkaRegionsOptions> regions, IOptions<ProducerCompressionOptions> compression)
    : IDestinationTransactions
{
    public ITransactionalDestination Open(string region, string topic, string transactionalId)
    {
        if (region != regions.Value.LocalRegion)
            throw new ReplicationFailedException($"exactly-once writes go into the region that holds the checkpoints ({regions.Value.LocalRegion}), not {region}");
        var codec = ProducerCompression.For(topic, compression.Value.Default, compression.Value.Topics);
        return new KafkaTransactionalDestination(regions.Value.Local, transactionalId, codec, regions.Value.WriteTimeout);
    }
}

/// <summary>One transactional producer. Calls come one at a time from its replicator's turns.</summary>
public sealed class KafkaTransactionalDestination : ITransactionalDestination
{
    // Longer than any write: InitTransactions, commit and abort wait up to this for the coordinator.
    private static readonly TimeSpan CoordinatorTimeout = TimeSpan.FromSeconds(30);

    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly TimeSpan _writeTimeout;
    private bool _open;
    private long _committed, _aborted;

    public KafkaTransactionalDestination(KafkaClusterOptions cluster, string transactionalId, string codec, TimeSpan writeTimeout)
    {
        _writeTimeout = writeTimeout;
        var messageTimeout = (long)writeTimeout.TotalMilliseconds;
        var config = cluster.BuildConfig(
            defaults: new Dictionary<string, string>
            {
                ["client.id"] = transactionalId,
                ["linger.ms"] = "5",
                ["socket.nagle.disable"] = "true",
            },
            required: new Dictionary<string, string>
            {
                ["transactional.id"] = transactionalId,
                ["enable.idempotence"] = "true",
                ["acks"] = "all",
                ["compression.type"] = codec,
                // As the silo's writers: every record lands or fails within the write timeout (fencing counts on it).
                ["message.timeout.ms"] = messageTimeout.ToString(CultureInfo.InvariantCulture),
                // A transaction left open by a producer that died holds back every read_committed reader of its partitions
                // (the checkpoint topic's tail among them) until the coordinator aborts it: keep that short. It must not be
                // below the message timeout.
                ["transaction.timeout.ms"] = (messageTimeout + 5_000).ToString(CultureInfo.InvariantCulture),
                [RegionWriter.DeliveryReportFields] = "none",
            });
        config.Remove("compression.codec");
        _producer = new ProducerBuilder<byte[]?, byte[]?>(config).Build();
    }

    public long Committed => Interlocked.Read(ref _committed);

    public long Aborted => Interlocked.Read(ref _aborted);

    public Task InitAsync(CancellationToken cancellationToken) =>
        Task.Run(() => _producer.InitTransactions(CoordinatorTimeout), cancellationToken);

    public Task BeginAsync(CancellationToken cancellationToken)
    {
        _producer.BeginTransaction();
        _open = true;
        return Task.CompletedTask;
    }

    public async Task<long> WriteAsync(string topic, int partition, IReadOnlyList<OutboundRecord> records, CancellationToken cancellationToken)
    {
        if (records.Count == 0) throw new ArgumentException("a write needs at least one record", nameof(records));
        var tp = new TopicPartition(topic, partition);
        var reports = new Task<DeliveryResult<byte[]?, byte[]?>>[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var completion = new TaskCompletionSource<DeliveryResult<byte[]?, byte[]?>>(TaskCreationOptions.RunContinuationsAsynchronously);
            reports[i] = completion.Task;
            var message = new Message<byte[]?, byte[]?>
            {
                Key = records[i].Key,
                Value = records[i].Value,
                Timestamp = new Timestamp(records[i].TimestampMs, TimestampType.CreateTime),
                Headers = SourceRecords.ToHeaders(records[i].Headers),
            };
            while (true)
            {
                try
                {
                    _producer.Produce(tp, message, report =>
                    {
                        if (report.Error.IsError) completion.TrySetException(new ProduceException<byte[]?, byte[]?>(report.Error, report));
                        else completion.TrySetResult(report);
                    });
                    break;
                }
                catch (ProduceException<byte[]?, byte[]?> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    // The caller's token is the fencing window for handing records over: past it the write fails and the
                    // transaction is aborted.
                    await Task.Delay(5, cancellationToken);
                }
                catch (ProduceException<byte[]?, byte[]?> e) when (KafkaErrors.IsRecordRefusal(e.Error.Code))
                {
                    throw new RecordRejectedException(i, -1, $"{e.Error.Code}: {e.Error.Reason}", exact: true);
                }
            }
        }
        // Not cancellable: what was handed over settles within the message timeout; the transaction is aborted after.
        var settled = Task.WhenAll(reports);
        try
        {
            await settled.WaitAsync(_writeTimeout + TimeSpan.FromMinutes(1));
        }
        catch when (settled.IsFaulted)
        {
            var first = Array.FindIndex(reports, r => r.IsFaulted);
            var error = ((ProduceException<byte[]?, byte[]?>)reports[first].Exception!.InnerException!).Error;
            if (KafkaErrors.IsRecordRefusal(error.Code))
                throw new RecordRejectedException(first, -1, $"{error.Code}: {error.Reason}", exact: records.Count == 1);
            throw new KafkaException(error);
        }
        return reports.Max(r => r.Result.Offset.Value) + 1;
    }

    public async Task CommitAsync(string checkpointKey, ReplicationCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        await _producer.ProduceAsync(KafkaCheckpointStore.Partition, KafkaCheckpointStore.Record(checkpointKey, checkpoint.Encode()), CancellationToken.None).WaitAsync(_writeTimeout + TimeSpan.FromMinutes(1));
        await Task.Run(() => _producer.CommitTransaction(CoordinatorTimeout), CancellationToken.None);
        _open = false;
        Interlocked.Increment(ref _committed);
    }

    public async Task AbortAsync(CancellationToken cancellationToken)
    {
        if (!_open) return;
        _open = false;
        Interlocked.Increment(ref _aborted);
        try { await Task.Run(() => _producer.AbortTransaction(CoordinatorTimeout), CancellationToken.None); }
        catch (KafkaException) { /* a fatal producer: disposed with its activation's recovery, whose successor initialises the id again */ }
    }

    public void Dispose() => _producer.Dispose();
}
