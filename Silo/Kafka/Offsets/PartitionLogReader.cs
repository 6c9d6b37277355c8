using Confluent.Kafka;
using Mesh.Core.Offsets;
using Mesh.Core.Replication;
using Mesh.Core.Topology;
using Mesh.Kafka.Native;
using ErrorCode = Confluent.Kafka.ErrorCode;
using RecordHeader = Mesh.Core.Replication.RecordHeader;

namespace Mesh.Kafka.Offsets;

/// <summary>A region's Kafka did not answer, or stopped answering while a partition was read.</summary>
public sealed class OffsetRegionUnreachableException(string region, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Region { get; } = region;
}

/// <summary>
/// Reads one region's partitions into <see cref="PartitionIndex"/>es: each record's offset and
/// identity (by <see cref="RecordOrigin"/>), nothing else kept. Incremental: an index is read on from
/// where it ended, trimmed when retention removed its head, and started again when the partition went
/// back (the region's Kafka came back empty). Assign-only consumer: no group joined, nothing committed.
/// Records of aborted transactions are not read (what a read_committed consumer sees). One thread at a time.
/// </summary>
public sealed class PartitionLogReader : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly ProvenanceSigner? _signer;
    private readonly NamingPolicy _naming;
    private readonly TimeSpan _stallTimeout;
    private Error? _lastError;

    private readonly IReadOnlyDictionary<string, string> _config;

    private PartitionLogReader(string region, string incarnation, IReadOnlyDictionary<string, string> config, IConsumer<byte[]?, byte[]?> consumer,
        ProvenanceSigner? signer, NamingPolicy naming, TimeSpan stallTimeout)
    {
        Region = region;
        _config = config;
        Incarnation = incarnation;
        _consumer = consumer;
        _signer = signer;
        _naming = naming;
        _stallTimeout = stallTimeout;
    }

    public string Region { get; }

    /// <summary>The region's incarnation when this reader connected (from its cluster id).</summary>
    public string Incarnation { get; }

    /// <param name="config">librdkafka settings, <c>bootstrap.servers</c> and security included.</param>
    /// <param name="signer">The mesh key, where it is held (the silos); without it the trust rule runs without the signature.</param>
    /// <exception cref="OffsetRegionUnreachableException">The cluster did not answer.</exception>
    public static PartitionLogReader Connect(string region, IReadOnlyDictionary<string, string> config, ProvenanceSigner? signer = null,
        NamingPolicy naming = NamingPolicy.Identity, TimeSpan? stallTimeout = null)
    {
        string incarnation;
        try
        {
            incarnation = Incarnations.FromClusterId(ClusterId.Read(With(config, new() { ["log_level"] = "0" }), RequestTimeout));
        }
        catch (Exception e) when (e is TimeoutException or KafkaException or InvalidOperationException or ArgumentException)
        {
            throw new OffsetRegionUnreachableException(region, $"{region}'s Kafka at {config.GetValueOrDefault("bootstrap.servers")} cannot be reached: {e.Message}", e);
        }
        PartitionLogReader? reader = null;
        var consumer = new ConsumerBuilder<byte[]?, byte[]?>(With(config, new()
            {
                ["group.id"] = "__mesh-offsets",
                ["enable.auto.commit"] = "false",
                ["enable.auto.offset.store"] = "false",
                ["enable.partition.eof"] = "true",
                ["auto.offset.reset"] = "earliest",
                ["isolation.level"] = "read_committed",
                ["queued.max.messages.kbytes"] = "16384",
            }))
            .SetErrorHandler((_, error) => { if (reader is not null) reader._lastError = error; })
            .SetLogHandler((_, _) => { })
            .Build();
        reader = new PartitionLogReader(region, incarnation, config, consumer, signer, naming, stallTimeout ?? TimeSpan.FromSeconds(60));
        return reader;
    }

    private static Dictionary<string, string> With(IReadOnlyDictionary<string, string> config, Dictionary<string, string> required)
    {
        var all = new Dictionary<string, string>(StringComparer.Ordinal) { ["client.id"] = "mesh-offsets", ["log_level"] = "3" };
        foreach (var (key, value) in config) all[key] = value;
        foreach (var (key, value) in required) all[key] = value;
        return all;
    }

    /// <summary>The region's topics now (internal ones included) and their partition counts.</summary>
    /// <exception cref="OffsetRegionUnreachableException">The region did not answer.</exception>
    public Dictionary<string, int> Topics()
    {
        try
        {
            using var admin = new AdminClientBuilder(With(_config, [])).SetLogHandler((_, _) => { }).Build();
            return admin.GetMetadata(RequestTimeout).Topics
                .Where(t => t.Error.Code == ErrorCode.NoError)
                .ToDictionary(t => t.Topic, t => t.Partitions.Count, StringComparer.Ordinal);
        }
        catch (KafkaException e)
        {
            throw new OffsetRegionUnreachableException(Region, $"{Region}: reading its topics failed: {e.Error.Reason}", e);
        }
    }

    /// <summary>The partition's first and end offsets now.</summary>
    /// <exception cref="OffsetRegionUnreachableException">The region did not answer.</exception>
    public (long Low, long High) Watermarks(string topic, int partition)
    {
        try
        {
            var marks = _consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition), RequestTimeout);
            return (marks.Low.Value, marks.High.Value);
        }
        catch (KafkaException e)
        {
            throw new OffsetRegionUnreachableException(Region, $"{Region}: reading the offsets of {topic} partition {partition} failed: {e.Error.Reason}", e);
        }
    }

    /// <summary>
    /// Brings <paramref name="index"/> (null: none yet) up to the partition's end offset now; returns
    /// it, or a new index when the old one no longer describes the partition.
    /// </summary>
    /// <exception cref="OffsetRegionUnreachableException">The region stopped answering.</exception>
    public PartitionIndex Update(PartitionIndex? index, string topic, int partition, CancellationToken cancellationToken)
    {
        var (low, high) = Watermarks(topic, partition);
        // A partition whose end went back is another log (the region's Kafka came back empty); one whose
        // head retention removed past what was read cannot be read on from where it was.
        if (index is null || high < index.End || low > index.End) index = new PartitionIndex(low);
        else index.TrimBefore(low);
        if (index.End >= high) return index;

        var tp = new TopicPartition(topic, partition);
        _consumer.Assign(new TopicPartitionOffset(tp, index.End));
        try
        {
            var lastRecord = DateTime.UtcNow;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                ConsumeResult<byte[]?, byte[]?>? result;
                try
                {
                    result = _consumer.Consume(TimeSpan.FromMilliseconds(200));
                }
                catch (ConsumeException e) when (!e.Error.IsFatal && e.Error.Code != ErrorCode.OffsetOutOfRange)
                {
                    _lastError = e.Error;
                    continue;
                }
                catch (ConsumeException e)
                {
                    throw new OffsetRegionUnreachableException(Region, $"{Region}: reading {topic} partition {partition} failed: {e.Error.Reason}", e);
                }
                if (result is null)
                {
                    if (DateTime.UtcNow - lastRecord > _stallTimeout)
                        throw new OffsetRegionUnreachableException(Region, $"{Region}: no record of {topic} partition {partition} arrived for " +
                            $"{_stallTimeout.TotalSeconds:0} s below its end offset {high}{(_lastError is { } error ? $" (last error: {error.Reason})" : "")}");
                    continue;
                }
                lastRecord = DateTime.UtcNow;
                if (result.IsPartitionEOF)
                {
                    // Read committed: the end may be an open transaction's first offset, below the high watermark.
                    index.Reach(result.Offset.Value);
                    return index;
                }
                if (result.Offset.Value >= index.End)
                {
                    var identity = Identify(result, topic, partition);
                    index.Append(result.Offset.Value, identity.Origin, identity.OriginOffset);
                }
                if (result.Offset.Value >= high - 1)
                {
                    index.Reach(high);
                    return index;
                }
            }
        }
        finally
        {
            _consumer.Unassign();
        }
    }

    private RecordIdentity Identify(ConsumeResult<byte[]?, byte[]?> result, string topic, int partition)
    {
        var message = result.Message;
        RecordHeader[] headers = message.Headers is { Count: > 0 } h ? [.. h.Select(x => new RecordHeader(x.Key, x.GetValueBytes()))] : [];
        var record = new SourceRecord(result.Offset.Value, message.Key, message.Value, message.Timestamp.UnixTimestampMs, headers,
            message.Timestamp.Type == TimestampType.LogAppendTime);
        return RecordOrigin.Of(record, Region, Incarnation, topic, partition, _signer, _naming);
    }

    public void Dispose()
    {
        _consumer.Close();
        _consumer.Dispose();
    }
}
