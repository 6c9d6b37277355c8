using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Clients;

/// <summary>
/// The silo's one producer to its own region's cluster, shared by every replicator and the
/// checkpoint store. Idempotent, so broker retries never duplicate or reorder a partition's records.
/// </summary>
public sealed partial class LocalProducer : IDisposable
{
    private readonly ILogger<LocalProducer> _logger;
    private readonly Dictionary<string, string> _config;
    private readonly object _gate = new();
    private IProducer<byte[]?, byte[]?> _producer;

    public LocalProducer(IOptions<KafkaRegionsOptions> regions, ILogger<LocalProducer> logger)
    {
        _logger = logger;
        var local = regions.Value.Local;
        _config = local.BuildConfig(
            defaults: new Dictionary<string, string>
            {
                ["client.id"] = $"mesh-{regions.Value.LocalRegion}-writer",
                ["linger.ms"] = "5",
                ["batch.num.messages"] = "10000",
                ["compression.type"] = "lz4",
                ["socket.nagle.disable"] = "true",
                ["message.timeout.ms"] = "120000",
            },
            required: new Dictionary<string, string>
            {
                ["enable.idempotence"] = "true",
                ["acks"] = "all",
                // A record that fails must fail every record after it in its partition: recovery
                // finds the highest origin offset in the destination and must be able to trust
                // that nothing below it is missing.
                ["enable.gapless.guarantee"] = "true",
            });
        _producer = Build();
    }

    /// <summary>The current producer; replaced when librdkafka reports a fatal error.</summary>
    public IProducer<byte[]?, byte[]?> Producer => Volatile.Read(ref _producer);

    private IProducer<byte[]?, byte[]?> Build() =>
        new ProducerBuilder<byte[]?, byte[]?>(_config).SetErrorHandler(OnError).Build();

    private void OnError(IProducer<byte[]?, byte[]?> producer, Error error)
    {
        LogClientError(error.Code, error.Reason, error.IsFatal);
        // A fatal error (the idempotence guarantee could not be kept) leaves the producer unusable;
        // every write in flight fails, the replicators recover from their checkpoints, and they
        // write again through a fresh producer.
        if (error.IsFatal) _ = Task.Run(() => Replace(producer));
    }

    private void Replace(IProducer<byte[]?, byte[]?> failed)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_producer, failed)) return;
            Volatile.Write(ref _producer, Build());
        }
        LogReplaced();
        // Disposing skips the delivery handlers of records still queued; flushing first makes every
        // one of them report (a fatal producer fails them at once), so no writer waits forever.
        try { failed.Flush(TimeSpan.FromSeconds(30)); } catch (KafkaException) { }
        failed.Dispose();
    }

    /// <summary>Produces, waiting and retrying while the local queue is full instead of failing.</summary>
    public async ValueTask ProduceAsync(TopicPartition tp, Message<byte[]?, byte[]?> message, Action<DeliveryReport<byte[]?, byte[]?>> onDelivery, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                Producer.Produce(tp, message, onDelivery);
                return;
            }
            catch (ProduceException<byte[]?, byte[]?> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                await Task.Delay(5, cancellationToken);
            }
        }
    }

    public void Dispose()
    {
        IProducer<byte[]?, byte[]?> producer;
        lock (_gate) producer = _producer;
        try { producer.Flush(TimeSpan.FromSeconds(10)); } catch (KafkaException) { }
        producer.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Local Kafka producer: {Code} {Reason} (fatal: {Fatal})")]
    private partial void LogClientError(ErrorCode code, string reason, bool fatal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Local Kafka producer replaced after a fatal error")]
    private partial void LogReplaced();
}
