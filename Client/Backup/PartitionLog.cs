using Confluent.Kafka;
using Mesh.Client.Local;
using Mesh.Core.Replication;

namespace Mesh.Client.Backup;

/// <summary>A record as read back from a region's partition.</summary>
public sealed record LoggedRecord(long Offset, byte[]? Key, byte[]? Value, long TimestampMs, bool LogAppendTime, IReadOnlyList<RecordHeader> Headers)
{
    public SourceRecord ToSource() => new(Offset, Key, Value, TimestampMs, Headers, LogAppendTime);
}

/// <summary>
/// Reads one region's partitions from their first offset to the end they had when reading began: assigned by
/// hand, no group joined, nothing committed. One thread at a time.
/// </summary>
public sealed class PartitionLog : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(30);
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly string _region;

    public PartitionLog(BackupRegion region)
    {
        _region = region.Id;
        var config = new Dictionary<string, string>(region.Kafka)
        {
            ["group.id"] = "__mesh-backup",
            ["enable.auto.commit"] = "false",
            ["enable.auto.offset.store"] = "false",
            ["enable.partition.eof"] = "true",
            ["auto.offset.reset"] = "earliest",
            ["isolation.level"] = "read_committed",
            // It reads to an end it knows and then moves to the next partition: a fetch that finds nothing new would be held
            // for this long (the embedded Kafka holds an empty fetch for all of it), and the next partition's first fetch
            // waits behind it. At the default 500 ms, reading back 64 partitions of a restore cost about half a minute.
            ["fetch.wait.max.ms"] = "10",
            ["log_level"] = "3",
        };
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).SetLogHandler((_, _) => { }).Build();
    }

    /// <summary>The partition's first and end offsets.</summary>
    public (long Low, long High) Watermarks(string topic, int partition)
    {
        try
        {
            var marks = _consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition), RequestTimeout);
            return (marks.Low.Value, marks.High.Value);
        }
        catch (KafkaException e)
        {
            throw new MeshCommandException($"{_region}: reading the offsets of {topic}/{partition} failed: {e.Error.Reason}.", 3);
        }
    }

    /// <summary>Every record of the partition from its first offset to its end offset now.</summary>
    public IEnumerable<LoggedRecord> Read(string topic, int partition, CancellationToken cancellationToken)
    {
        var (low, high) = Watermarks(topic, partition);
        if (high <= low) yield break;
        var tp = new TopicPartition(topic, partition);
        _consumer.Assign(new TopicPartitionOffset(tp, low));
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
                catch (ConsumeException e) when (!e.Error.IsFatal)
                {
                    throw new MeshCommandException($"{_region}: reading {topic}/{partition} failed: {e.Error.Reason}.", 3);
                }
                if (result is null)
                {
                    if (DateTime.UtcNow - lastRecord > StallTimeout)
                        throw new MeshCommandException($"{_region}: reading {topic}/{partition} stalled for {StallTimeout.TotalSeconds:0} s.", 3);
                    continue;
                }
                lastRecord = DateTime.UtcNow;
                if (result.IsPartitionEOF)
                {
                    if (result.Offset.Value >= high) yield break;
                    continue;
                }
                var message = result.Message;
                var headers = message.Headers?.Select(h => new RecordHeader(h.Key, h.GetValueBytes())).ToList() ?? [];
                yield return new LoggedRecord(result.Offset.Value, message.Key, message.Value, message.Timestamp.UnixTimestampMs,
                    message.Timestamp.Type == TimestampType.LogAppendTime, headers);
                if (result.Offset.Value + 1 >= high) yield break;
            }
        }
        finally
        {
            _consumer.Unassign();
        }
    }

    public void Dispose()
    {
        _consumer.Close();
        _consumer.Dispose();
    }
}
