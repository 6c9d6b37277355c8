using Confluent.Kafka;
using Mesh.Core.Replication;
using Mesh.Kafka.Native;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Mesh.Client.Migration;

/// <summary>A cluster the migration could not read, naming it and what failed: the takeover stops with exit code 3 and writes nothing.</summary>
public sealed class MigrationClusterException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// One region's Kafka as the migration reads it: its incarnation (from its cluster id, as the silos derive it), its
/// topics and partition counts, offsets, whole topics (MM2's internal ones) and record counts. Partitions are assigned
/// by hand: no consumer group is joined and no offset committed.
/// </summary>
public sealed class MigrationCluster : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(30);

    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly IReadOnlyDictionary<string, string> _config;

    private MigrationCluster(string region, string incarnation, IReadOnlyDictionary<string, int> topics, IReadOnlyDictionary<string, string> config)
    {
        Region = region;
        Incarnation = incarnation;
        Topics = topics;
        _config = config;
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(With(config, new()
        {
            ["group.id"] = "mesh-migrate-unused",
            ["enable.auto.commit"] = "false",
            ["enable.partition.eof"] = "true",
            ["isolation.level"] = "read_committed",
        })).SetLogHandler((_, _) => { }).Build();
    }

    public string Region { get; }
    public string Incarnation { get; }
    public IReadOnlyDictionary<string, int> Topics { get; }

    /// <summary>The librdkafka settings this cluster is reached with (the region's, from the topology).</summary>
    public IReadOnlyDictionary<string, string> Config => _config;

    /// <exception cref="MigrationClusterException">The cluster did not answer.</exception>
    public static MigrationCluster Connect(string region, IReadOnlyDictionary<string, string> settings)
    {
        var config = With(settings, new() { ["client.id"] = "mesh-migrate", ["log_level"] = "0" });
        try
        {
            var incarnation = Incarnations.FromClusterId(ClusterId.Read(config, RequestTimeout));
            using var admin = new AdminClientBuilder(config).SetLogHandler((_, _) => { }).Build();
            var topics = admin.GetMetadata(RequestTimeout).Topics
                .Where(t => t.Error.Code == ErrorCode.NoError)
                .ToDictionary(t => t.Topic, t => t.Partitions.Count, StringComparer.Ordinal);
            return new MigrationCluster(region, incarnation, topics, config);
        }
        catch (Exception e) when (e is TimeoutException or KafkaException or InvalidOperationException or ArgumentException)
        {
            throw new MigrationClusterException($"{region}'s Kafka at {settings.GetValueOrDefault("bootstrap.servers")} cannot be reached: {e.Message}", e);
        }
    }

    public (long Low, long High) Watermarks(string topic, int partition)
    {
        try
        {
            var marks = _consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition), RequestTimeout);
            return (marks.Low.Value, marks.High.Value);
        }
        catch (KafkaException e)
        {
            throw new MigrationClusterException($"{Region}: reading the offsets of {topic}/{partition} failed: {e.Error.Reason}", e);
        }
    }

    /// <summary>Every record of every partition of <paramref name="topic"/>, up to the end each partition had when reading began, in offset order per partition.</summary>
    public List<(int Partition, long Offset, byte[]? Key, byte[]? Value)> ReadAll(string topic, CancellationToken cancellationToken)
    {
        var records = new List<(int, long, byte[]?, byte[]?)>();
        var ranges = new Dictionary<int, (long From, long To)>();
        for (var p = 0; p < Topics.GetValueOrDefault(topic); p++)
        {
            var (low, high) = Watermarks(topic, p);
            ranges[p] = (low, high - 1);
        }
        Read(topic, ranges, r => records.Add((r.Partition.Value, r.Offset.Value, r.Message.Key, r.Message.Value)), cancellationToken);
        return records;
    }

    /// <summary>
    /// For each partition of <paramref name="topic"/> in <paramref name="ranges"/>, the records at offsets From to To (both
    /// included): fewer than the offsets span where the log has gaps (transaction markers, compaction).
    /// </summary>
    public Dictionary<int, long> CountRecords(string topic, IReadOnlyDictionary<int, (long From, long To)> ranges, CancellationToken cancellationToken)
    {
        var counts = ranges.Keys.ToDictionary(p => p, _ => 0L);
        Read(topic, ranges, r => counts[r.Partition.Value]++, cancellationToken);
        return counts;
    }

    /// <summary>
    /// Hands over the records at offsets From to To (both included) of each partition in <paramref name="ranges"/>, in offset
    /// order per partition. Every partition is read at once: a consumer assigned one partition after another waits about
    /// half a second for each first fetch.
    /// </summary>
    private void Read(string topic, IReadOnlyDictionary<int, (long From, long To)> ranges, Action<ConsumeResult<byte[]?, byte[]?>> onRecord,
        CancellationToken cancellationToken)
    {
        var open = ranges.Where(r => r.Value.To >= r.Value.From).Select(r => r.Key).ToHashSet();
        if (open.Count == 0) return;
        _consumer.Assign(open.Select(p => new TopicPartitionOffset(topic, p, ranges[p].From)));
        try
        {
            var lastProgress = DateTime.UtcNow;
            while (open.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                ConsumeResult<byte[]?, byte[]?>? result;
                try { result = _consumer.Consume(TimeSpan.FromMilliseconds(200)); }
                catch (ConsumeException e) when (!e.Error.IsFatal) { continue; }
                catch (ConsumeException e) { throw new MigrationClusterException($"{Region}: reading {topic} failed: {e.Error.Reason}", e); }
                if (result is null)
                {
                    if (DateTime.UtcNow - lastProgress > StallTimeout)
                        throw new MigrationClusterException($"{Region}: {topic} partitions {string.Join(", ", open.Order())} did not reach their offsets " +
                            $"({string.Join(", ", open.Order().Select(p => ranges[p].To))}) within {StallTimeout.TotalSeconds:0} s");
                    continue;
                }
                lastProgress = DateTime.UtcNow;
                var partition = result.Partition.Value;
                if (!open.Contains(partition)) continue;
                var to = ranges[partition].To;
                if (result.IsPartitionEOF || result.Offset.Value > to)
                {
                    open.Remove(partition);
                    continue;
                }
                onRecord(result);
                if (result.Offset.Value >= to) open.Remove(partition);
            }
        }
        finally
        {
            _consumer.Unassign();
        }
    }

    public static Dictionary<string, string> With(IReadOnlyDictionary<string, string> settings, Dictionary<string, string> extra)
    {
        var config = new Dictionary<string, string>(StringComparer.Ordinal) { ["log_level"] = "3" };
        foreach (var (key, value) in settings) config[key] = value;
        foreach (var (key, value) in extra) config[key] = value;
        return config;
    }

    public void Dispose()
    {
        _consumer.Close();
        _consumer.Dispose();
    }
}
