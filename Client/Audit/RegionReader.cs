using Confluent.Kafka;
using Mesh.Client.Local;
using Mesh.Core.Replication;
using Mesh.Core.Topology;
using Mesh.Kafka.Native;
using ErrorCode = Confluent.Kafka.ErrorCode;
using RecordHeader = Mesh.Core.Replication.RecordHeader;

namespace Mesh.Client.Audit;

/// <summary>How to reach one region's Kafka: librdkafka settings, <c>bootstrap.servers</c> included.</summary>
public sealed record AuditRegion(string Id, IReadOnlyDictionary<string, string> Kafka)
{
    public string Bootstrap => Kafka.GetValueOrDefault("bootstrap.servers") ?? "";
}

/// <summary>A region's Kafka could not be reached, or stopped answering while it was read.</summary>
public sealed class RegionUnreachableException(string region, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Region { get; } = region;
}

/// <summary>
/// Reads one region's copies of the audited topics with one consumer: partitions assigned by hand,
/// no consumer group joined and no offsets committed, each partition read from its first offset to
/// the end offset it had when its reading began. Records are handed to a <see cref="PartitionTally"/>
/// one by one and not kept. One thread at a time.
/// </summary>
public sealed class RegionReader : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);

    // How long partitions may stay silent below their end offsets before the region counts as unreachable.
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(60);

    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private long _recordsRead;
    private Error? _lastError;

    private RegionReader(AuditRegion region, string incarnation, IReadOnlyDictionary<string, int> topics, IConsumer<byte[]?, byte[]?> consumer)
    {
        Region = region.Id;
        Incarnation = incarnation;
        Topics = topics;
        _consumer = consumer;
    }

    public string Region { get; }

    /// <summary>From the region's Kafka cluster id, as the mesh derives it: the identity of records produced there.</summary>
    public string Incarnation { get; }

    /// <summary>The region's topics (internal ones included) and their partition counts.</summary>
    public IReadOnlyDictionary<string, int> Topics { get; }

    /// <summary>Records read so far, over every topic; safe to read from another thread.</summary>
    public long RecordsRead => Interlocked.Read(ref _recordsRead);

    /// <exception cref="RegionUnreachableException">The cluster did not answer.</exception>
    public static RegionReader Connect(AuditRegion region)
    {
        if (region.Bootstrap.Length == 0)
            throw new RegionUnreachableException(region.Id, $"{region.Id}: no bootstrap servers are known");
        string incarnation;
        IReadOnlyDictionary<string, int> topics;
        try
        {
            // librdkafka logs to standard error unless told otherwise; what went wrong is in the exception.
            incarnation = Incarnations.FromClusterId(ClusterId.Read(Config(region, new Dictionary<string, string> { ["log_level"] = "0" }), RequestTimeout));
            using var admin = new AdminClientBuilder(Config(region, new Dictionary<string, string>())).SetLogHandler((_, _) => { }).Build();
            topics = admin.GetMetadata(RequestTimeout).Topics
                .Where(t => t.Error.Code == ErrorCode.NoError)
                .ToDictionary(t => t.Topic, t => t.Partitions.Count, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is TimeoutException or KafkaException or InvalidOperationException or ArgumentException)
        {
            throw new RegionUnreachableException(region.Id, $"{region.Id}'s Kafka at {region.Bootstrap} cannot be reached: {e.Message}", e);
        }
        RegionReader? reader = null;
        var consumer = new ConsumerBuilder<byte[]?, byte[]?>(Config(region, new Dictionary<string, string>
            {
                // Assign-only: the group is never joined and nothing is committed to it.
                ["group.id"] = "__mesh-audit",
                ["enable.auto.commit"] = "false",
                ["enable.auto.offset.store"] = "false",
                ["enable.partition.eof"] = "true",
                // What retention removes while the audit reads is simply not there to compare.
                ["auto.offset.reset"] = "earliest",
                // What a consumer of the topic sees: records of aborted transactions are not data.
                ["isolation.level"] = "read_committed",
            }))
            .SetErrorHandler((_, error) => { if (reader is not null) reader._lastError = error; })
            .SetLogHandler((_, _) => { })
            .Build();
        reader = new RegionReader(region, incarnation, topics, consumer);
        return reader;
    }

    private static Dictionary<string, string> Config(AuditRegion region, IReadOnlyDictionary<string, string> required)
    {
        var config = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["client.id"] = "mesh-audit",
            ["log_level"] = "3",
            // Records are tallied as fast as they arrive; librdkafka's default 64 MB read-ahead buys nothing here.
            ["queued.max.messages.kbytes"] = "16384",
        };
        foreach (var (key, value) in region.Kafka) config[key] = value;
        foreach (var (key, value) in required) config[key] = value;
        return config;
    }

    /// <summary>Reads every partition of <paramref name="topic"/> from its first to its end offset into one tally per partition.</summary>
    /// <exception cref="RegionUnreachableException">The region stopped answering.</exception>
    public PartitionTally[] Read(string topic, ConflictPolicy policy, NamingPolicy naming, CancellationToken cancellationToken, string separator = TopicNaming.DefaultSeparator)
    {
        var own = Topics.GetValueOrDefault(topic);
        var marks = new WatermarkOffsets[own];
        try
        {
            for (var p = 0; p < own; p++) marks[p] = _consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), RequestTimeout);
        }
        catch (KafkaException e)
        {
            throw new RegionUnreachableException(Region, $"{Region}: reading the offsets of {topic} failed: {e.Error.Reason}", e);
        }
        var tallies = Enumerable.Range(0, own)
            .Select(p => new PartitionTally(Region, Incarnation, topic, p, policy, naming, marks[p].Low.Value, separator))
            .ToArray();
        var open = Enumerable.Range(0, own).Where(p => marks[p].High.Value > marks[p].Low.Value).ToHashSet();
        if (open.Count == 0) return tallies;

        _consumer.Assign(open.Select(p => new TopicPartitionOffset(topic, p, marks[p].Low)));
        // A pause (see Close) outlives the unassign that follows it.
        _consumer.Resume(open.Select(p => new TopicPartition(topic, p)));
        try
        {
            var lastRecord = DateTime.UtcNow;
            while (open.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                ConsumeResult<byte[]?, byte[]?>? result;
                try
                {
                    result = _consumer.Consume(TimeSpan.FromMilliseconds(200));
                }
                catch (ConsumeException e) when (!e.Error.IsFatal)
                {
                    _lastError = e.Error;
                    continue;
                }
                catch (ConsumeException e)
                {
                    throw new RegionUnreachableException(Region, $"{Region}: reading {topic} failed: {e.Error.Reason}", e);
                }
                if (result is null)
                {
                    if (DateTime.UtcNow - lastRecord > StallTimeout)
                        throw new RegionUnreachableException(Region, $"{Region}: no record of {topic} partitions {string.Join(", ", open.Order())} arrived for " +
                            $"{StallTimeout.TotalSeconds:0} s before their end offsets{(_lastError is { } error ? $" (last error: {error.Reason})" : "")}");
                    continue;
                }
                lastRecord = DateTime.UtcNow;
                var partition = result.Partition.Value;
                if (!open.Contains(partition)) continue;
                var end = marks[partition].High.Value;
                if (result.IsPartitionEOF || result.Offset.Value >= end)
                {
                    Close(open, result.TopicPartition);
                    continue;
                }
                tallies[partition].Add(ToSourceRecord(result));
                Interlocked.Increment(ref _recordsRead);
                if (result.Offset.Value >= end - 1) Close(open, result.TopicPartition);
            }
        }
        finally
        {
            _consumer.Unassign();
        }
        return tallies;
    }

    private void Close(HashSet<int> open, TopicPartition partition)
    {
        open.Remove(partition.Partition.Value);
        _consumer.Pause([partition]);
    }

    /// <summary>The values at a few offsets (examples to show); an offset no longer there is left out.</summary>
    public Dictionary<(int Partition, long Offset), byte[]?> ReadValues(string topic, IEnumerable<(int Partition, long Offset)> offsets)
    {
        var values = new Dictionary<(int, long), byte[]?>();
        foreach (var (partition, offset) in offsets.Distinct())
        {
            _consumer.Assign(new TopicPartitionOffset(topic, partition, offset));
            _consumer.Resume([new TopicPartition(topic, partition)]);
            try
            {
                var deadline = DateTime.UtcNow + RequestTimeout;
                while (DateTime.UtcNow < deadline)
                {
                    ConsumeResult<byte[]?, byte[]?>? result;
                    try { result = _consumer.Consume(TimeSpan.FromMilliseconds(200)); }
                    catch (ConsumeException) { continue; }
                    if (result is null) continue;
                    if (!result.IsPartitionEOF && result.Offset.Value == offset) values[(partition, offset)] = result.Message.Value;
                    break;
                }
            }
            finally
            {
                _consumer.Unassign();
            }
        }
        return values;
    }

    private static SourceRecord ToSourceRecord(ConsumeResult<byte[]?, byte[]?> result)
    {
        var message = result.Message;
        RecordHeader[] headers = message.Headers is { Count: > 0 } h ? [.. h.Select(x => new RecordHeader(x.Key, x.GetValueBytes()))] : [];
        return new SourceRecord(result.Offset.Value, message.Key, message.Value, message.Timestamp.UnixTimestampMs, headers,
            message.Timestamp.Type == TimestampType.LogAppendTime);
    }

    public void Dispose()
    {
        _consumer.Close();
        _consumer.Dispose();
    }
}
