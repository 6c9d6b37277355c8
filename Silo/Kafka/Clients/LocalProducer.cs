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

    public LocalProducer(IOptions<KafkaRegionsOptions> regions, ILogger<LocalProducer> logger)
    {
        _logger = logger;
        var local = regions.Value.Local;
        var config = local.BuildConfig(
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
            });
        Producer = new ProducerBuilder<byte[]?, byte[]?>(config)
            .SetErrorHandler((_, e) => LogClientError(e.Code, e.Reason, e.IsFatal))
            .Build();
    }

    public IProducer<byte[]?, byte[]?> Producer { get; }

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
        try { Producer.Flush(TimeSpan.FromSeconds(10)); } catch (KafkaException) { }
        Producer.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Local Kafka producer: {Code} {Reason} (fatal: {Fatal})")]
    private partial void LogClientError(ErrorCode code, string reason, bool fatal);
}
