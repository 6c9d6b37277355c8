using System.Collections.Concurrent;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Mesh.Core.Replication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Clients;

/// <summary>
/// A silo's writer into one region's cluster: its own (shared by every replicator, the checkpoint,
/// quarantine and topology stores), or the destination of a push link this region runs. librdkafka compresses per producer, not per record, so there is one producer per codec in
/// use (<see cref="ProducerCompression"/> picks a topic's), each created on first use, and one more for
/// the mesh's internal topics; a topic always goes through the same one, which keeps each partition's
/// records in one producer's order. Every producer is idempotent, so broker retries never duplicate or
/// reorder a partition's records.
/// </summary>
public sealed partial class RegionWriter : IDisposable
{
    private readonly ILogger<RegionWriter> _logger;
    private readonly Dictionary<string, string> _config;
    private readonly string _clientId;
    private readonly ProducerCompressionOptions _compression;
    private readonly KafkaClientStatistics? _statistics;
    private readonly ConcurrentDictionary<string, Lazy<CodecProducer>> _byCodec = new(StringComparer.Ordinal);
    // Topic -> codec, decided once: the policies do not change while the silo runs.
    private readonly ConcurrentDictionary<string, string> _codecByTopic = new(StringComparer.Ordinal);

    public RegionWriter(IOptions<KafkaRegionsOptions> regions, IOptions<ProducerCompressionOptions> compression, ILogger<RegionWriter> logger)
        : this(regions.Value.LocalRegion, regions.Value.Local, $"mesh-{regions.Value.LocalRegion}-writer", compression.Value, logger, regions.Value.WriteTimeout,
            regions.Value.Statistics)
    {
    }

    /// <param name="clientId">The Kafka client id; a push link's writer names both regions.</param>
    /// <param name="writeTimeout">Each record lands or fails within this (message.timeout.ms); fencing counts on it.</param>
    /// <param name="statistics">Where its producers report librdkafka's statistics; null: they do not.</param>
    public RegionWriter(string region, KafkaClusterOptions cluster, string clientId, ProducerCompressionOptions compression, ILogger<RegionWriter> logger,
        TimeSpan writeTimeout, KafkaClientStatistics? statistics = null)
    {
        _statistics = statistics;
        _logger = logger;
        WriteTimeout = writeTimeout;
        _compression = compression;
        Region = region;
        _clientId = clientId;
        _config = cluster.BuildConfig(
            defaults: new Dictionary<string, string>
            {
                ["client.id"] = _clientId,
                ["linger.ms"] = "5",
                ["batch.num.messages"] = "10000",
                ["socket.nagle.disable"] = "true",
            },
            required: new Dictionary<string, string>
            {
                ["enable.idempotence"] = "true",
                ["acks"] = "all",
                // A record that fails must fail every record after it in its partition: recovery
                // finds the highest origin offset in the destination and must be able to trust
                // that nothing below it is missing.
                ["enable.gapless.guarantee"] = "true",
                // A write waits for every record to settle (KafkaDestinationLog.InFlightLimit, longer than
                // this) before anyone recovers the partition; a longer timeout would let recovery run
                // while records are still in flight. A replicator that takes a partition over from one
                // that did not let go waits this long (and a little more) for the other's writes to settle.
                ["message.timeout.ms"] = ((long)writeTimeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
                // Every writer reads only a delivery report's error and offset; by default Confluent.Kafka copies the
                // key, value, headers and timestamp of every record back into managed memory for its report.
                [DeliveryReportFields] = "none",
            });
        // The validator refuses compression in Settings; dropping the alias here makes sure it can
        // never override the codec each producer is built for.
        _config.Remove("compression.codec");
        statistics?.Enable(_config);
    }


    /// <summary>Confluent.Kafka's setting naming what a delivery report carries besides its error, partition and offset.</summary>
    public const string DeliveryReportFields = "dotnet.producer.delivery.report.fields";

    /// <summary>The longest a record takes to land or fail (message.timeout.ms).</summary>
    public TimeSpan WriteTimeout { get; }

    /// <summary>The region whose cluster this writes into.</summary>
    public string Region { get; }

    /// <summary>The codec the records of <paramref name="topic"/> are written with.</summary>
    public string CodecOf(string topic) =>
        _codecByTopic.GetOrAdd(topic, t => ProducerCompression.For(t, _compression.Default, _compression.Topics));

    private CodecProducer For(string codec) =>
        _byCodec.GetOrAdd(codec, c => new Lazy<CodecProducer>(() => new CodecProducer(this, c, c))).Value;

    // The mesh's own topics (checkpoints, quarantine) get a producer of their own: a record a broker
    // refuses is a fatal error for an idempotent, gapless producer, and must not take the writes that
    // would checkpoint past it or quarantine it down with it.
    private const string InternalProducer = "internal";

    private CodecProducer ForInternal() =>
        _byCodec.GetOrAdd(InternalProducer, name => new Lazy<CodecProducer>(() =>
            new CodecProducer(this, name, _compression.Default.ToLowerInvariant()))).Value;

    /// <summary>Produces through the producer of the topic's codec, waiting and retrying while the local queue is full instead of failing.</summary>
    public async ValueTask ProduceAsync(TopicPartition tp, Message<byte[]?, byte[]?> message, Action<DeliveryReport<byte[]?, byte[]?>> onDelivery, CancellationToken cancellationToken)
    {
        var producer = TopicFilter.IsInternal(tp.Topic) ? ForInternal() : For(CodecOf(tp.Topic));
        while (true)
        {
            try
            {
                producer.Current.Produce(tp, message, onDelivery);
                return;
            }
            catch (ProduceException<byte[]?, byte[]?> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                await Task.Delay(5, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Produces one record and waits until it is acknowledged; returns the offset it got. A refusal throws
    /// <see cref="KafkaException"/>.
    /// </summary>
    public async Task<long> ProduceAndWaitAsync(TopicPartition tp, Message<byte[]?, byte[]?> message, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        await ProduceAsync(tp, message, report =>
        {
            if (report.Error.IsError) done.TrySetException(new KafkaException(report.Error));
            else done.TrySetResult(report.Offset.Value);
        }, cancellationToken);
        // Bounded: the producer settles every record within its message timeout.
        return await done.Task.WaitAsync(WriteTimeout + TimeSpan.FromMinutes(1), cancellationToken);
    }

    public void Dispose()
    {
        foreach (var lazy in _byCodec.Values)
            if (lazy.IsValueCreated) lazy.Value.Dispose();
    }

    /// <summary>One codec's producer, with its own fatal-error replacement.</summary>
    private sealed class CodecProducer : IDisposable
    {
        private readonly RegionWriter _owner;
        private readonly string _codec;
        private readonly Dictionary<string, string> _config;
        private readonly object _gate = new();
        private IProducer<byte[]?, byte[]?> _producer;

        public CodecProducer(RegionWriter owner, string name, string codec)
        {
            _owner = owner;
            _codec = name;
            _config = new Dictionary<string, string>(owner._config, StringComparer.Ordinal) { ["compression.type"] = codec };
            // Internal writes are one record at a time, each awaited: no gap to guard against, and a
            // refused record (a quarantine entry too large) must fail alone, not fatally for the producer.
            if (name == InternalProducer) _config["enable.gapless.guarantee"] = "false";
            // Several producers in one process: tell them apart in broker logs and quotas, unless
            // the operator chose the client id.
            if (_config["client.id"] == owner._clientId && name != owner._compression.Default.ToLowerInvariant())
                _config["client.id"] = $"{owner._clientId}-{name}";
            _producer = Build();
            owner.LogProducerCreated(codec);
        }

        public IProducer<byte[]?, byte[]?> Current => Volatile.Read(ref _producer);

        private IProducer<byte[]?, byte[]?> Build() =>
            new ProducerBuilder<byte[]?, byte[]?>(_config).SetErrorHandler(OnError).ReportingTo(_owner._statistics).Build();

        private void OnError(IProducer<byte[]?, byte[]?> producer, Error error)
        {
            _owner.LogClientError(_codec, error.Code, error.Reason, error.IsFatal);
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
            _owner.LogReplaced(_codec);
            // Disposing skips the delivery handlers of records still queued; flushing first makes every
            // one of them report (a fatal producer fails them at once), so no writer waits forever.
            try { failed.Flush(TimeSpan.FromSeconds(30)); } catch (KafkaException) { }
            failed.Dispose();
        }

        public void Dispose()
        {
            IProducer<byte[]?, byte[]?> producer;
            lock (_gate) producer = _producer;
            try { producer.Flush(TimeSpan.FromSeconds(10)); } catch (KafkaException) { }
            producer.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Local Kafka producer ({Codec}): {Code} {Reason} (fatal: {Fatal})")]
    private partial void LogClientError(string codec, ErrorCode code, string reason, bool fatal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Local Kafka producer ({Codec}) replaced after a fatal error")]
    private partial void LogReplaced(string codec);

    [LoggerMessage(Level = LogLevel.Information, Message = "Local Kafka producer for compression.type={Codec} created")]
    private partial void LogProducerCreated(string codec);
}
