using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Mesh.Core.Replication;

/// <summary>
/// The silo's replication meter, <see cref="MeterName"/>: what its replicators wrote, how long records took end to end,
/// and how far behind their sources they are, per link (source, destination) and topic. Counters are this silo's own
/// (a partition that moves to another silo counts there from then on): sum them over a region's silos.
/// A replicator holds one <see cref="PartitionMetrics"/>, whose tags are built once, so a written batch costs two
/// counter adds and a histogram record per record, and nothing allocates.
/// </summary>
public sealed class ReplicationMetrics : IDisposable
{
    public const string MeterName = "Mesh.Replication";

    /// <summary>Latency histogram buckets (upper bounds, ms): a millisecond to a minute, about 2 to 2.5 times apart.</summary>
    public static readonly IReadOnlyList<double> LatencyBucketsMs = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000];

    private readonly Meter _meter;
    private readonly ConcurrentDictionary<(string Source, string Destination, string Topic, int Partition), PartitionMetrics> _partitions = new();

    public ReplicationMetrics(IMeterFactory? meters = null)
    {
        _meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        Records = _meter.CreateCounter<long>("mesh_records_replicated", "{record}",
            "Records this silo's replicators wrote into the destination (tags: source, destination, topic).");
        // No unit: Prometheus would name it mesh_bytes_replicated_bytes_total.
        Bytes = _meter.CreateCounter<long>("mesh_bytes_replicated", unit: null,
            "Key and value bytes of the records this silo's replicators wrote (tags: source, destination, topic).");
        Latency = _meter.CreateHistogram("mesh_replication_latency", "ms",
            "End-to-end latency of each replicated record, origin write to destination acknowledgement (tags: source, destination, topic).",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBucketsMs });
        _meter.CreateObservableGauge("mesh_replication_lag", ObserveLag, "{record}",
            "Source records not yet replicated by this silo's replicators, as of each one's latest write (tags: source, destination, topic).");
    }

    internal Counter<long> Records { get; }
    internal Counter<long> Bytes { get; }
    internal Histogram<double> Latency { get; }

    /// <summary>
    /// The handle of one replicated partition, registered until it is disposed (a later call for the same partition
    /// replaces it). Its lag counts in <c>mesh_replication_lag</c> from its first <see cref="PartitionMetrics.Written"/>.
    /// </summary>
    public PartitionMetrics For(string source, string destination, string topic, int partition)
    {
        var key = (source, destination, topic, partition);
        var handle = new PartitionMetrics(this, key, new TagList { { "source", source }, { "destination", destination }, { "topic", topic } });
        _partitions[key] = handle;
        return handle;
    }

    internal void Forget(PartitionMetrics handle) => _partitions.TryRemove(new(handle.Key, handle));

    /// <summary>The lag of every partition that reported one, summed per link and topic; runs once per scrape.</summary>
    private IEnumerable<Measurement<long>> ObserveLag()
    {
        var sums = new Dictionary<(string, string, string), (long Lag, TagList Tags)>();
        foreach (var partition in _partitions.Values)
        {
            var lag = partition.Lag;
            if (lag < 0) continue;
            var link = (partition.Key.Source, partition.Key.Destination, partition.Key.Topic);
            sums[link] = sums.TryGetValue(link, out var sum) ? (sum.Lag + lag, sum.Tags) : (lag, partition.Tags);
        }
        return sums.Values.Select(s => new Measurement<long>(s.Lag, s.Tags));
    }

    public void Dispose() => _meter.Dispose();
}

/// <summary>One partition's share of <see cref="ReplicationMetrics"/>; used by its replicator only.</summary>
public sealed class PartitionMetrics : IDisposable
{
    private readonly ReplicationMetrics _metrics;
    private long _lag = -1;

    internal PartitionMetrics(ReplicationMetrics metrics, (string Source, string Destination, string Topic, int Partition) key, TagList tags)
    {
        _metrics = metrics;
        Key = key;
        Tags = tags;
    }

    internal (string Source, string Destination, string Topic, int Partition) Key { get; }
    internal TagList Tags { get; }

    /// <summary>Records not yet replicated as of the latest write; -1 before the first.</summary>
    public long Lag => Volatile.Read(ref _lag);

    /// <summary>
    /// A batch acknowledged at <paramref name="nowMs"/> (the clock read once for the batch), and the partition's lag after
    /// it: <paramref name="sourceEnd"/> (the source's high watermark, when known) less <paramref name="next"/>. Each record's
    /// latency goes into <paramref name="window"/> too, when given, in the same pass over the batch.
    /// </summary>
    public void Written(IReadOnlyList<OutboundRecord> written, long nowMs, long? sourceEnd, long next, LatencyWindow? window = null)
    {
        long bytes = 0;
        var tags = Tags;
        var latency = _metrics.Latency;
        var recordLatency = latency.Enabled;
        window?.BeginBatch();
        for (var i = 0; i < written.Count; i++)
        {
            var record = written[i];
            bytes += (record.Key?.Length ?? 0) + (record.Value?.Length ?? 0);
            var ms = Math.Max(0, nowMs - record.Provenance.OriginTimestampMs);
            window?.RecordInBatch(ms);
            if (recordLatency) latency.Record(ms, in tags);
        }
        _metrics.Records.Add(written.Count, in tags);
        _metrics.Bytes.Add(bytes, in tags);
        if (sourceEnd is long end) Volatile.Write(ref _lag, Math.Max(0, end - next));
    }

    /// <summary>Takes the partition out of the lag gauge (its replicator left this silo).</summary>
    public void Dispose() => _metrics.Forget(this);
}
