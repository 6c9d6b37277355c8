using HdrHistogram;

namespace Mesh.Core.Replication;

/// <summary>How many records took <paramref name="Milliseconds"/> (a histogram bucket's value) end to end.</summary>
public readonly record struct LatencyCount(long Milliseconds, long Count);

/// <summary>The latency percentiles of a set of records, in milliseconds.</summary>
public readonly record struct LatencyPercentiles(double P50Ms, double P99Ms, long Records);

/// <summary>
/// End-to-end replication latencies (origin write to destination acknowledgement) of the records a replicator wrote
/// in the last one to two <see cref="Span"/>s: two HDR histograms, the current one and the one before, swapped as time
/// passes, so that a status shows how replication is doing now rather than since the replicator started. A snapshot is
/// its buckets (value, count), which merge across partitions exactly, unlike percentiles.
/// </summary>
public sealed class LatencyWindow(TimeProvider time)
{
    /// <summary>How long one histogram collects before it becomes the previous one.</summary>
    public static readonly TimeSpan Span = TimeSpan.FromSeconds(30);

    // An hour at most (a record older than that counts as an hour), two significant digits: about 1% resolution in a few KB.
    private const long HighestMs = 3_600_000;
    private const int Digits = 2;

    private LongHistogram _current = New();
    private LongHistogram _previous = New();
    private long _currentSince = time.GetTimestamp();

    private static LongHistogram New() => new(HighestMs, Digits);

    /// <summary>Records one record's latency (negative clock skew counts as 0).</summary>
    public void Record(long milliseconds)
    {
        Rotate();
        _current.RecordValue(Math.Clamp(milliseconds, 0, HighestMs));
    }

    /// <summary>Records the latency of each record of a batch acknowledged at <paramref name="nowMs"/>: the clock is looked at once per batch, not per record.</summary>
    public void Record(IReadOnlyList<OutboundRecord> written, long nowMs)
    {
        BeginBatch();
        foreach (var record in written) RecordInBatch(nowMs - record.Provenance.OriginTimestampMs);
    }

    /// <summary>Starts recording a batch: the only look at the clock; <see cref="RecordInBatch"/> then takes each record's latency.</summary>
    public void BeginBatch() => Rotate();

    /// <summary>One record of the batch begun with <see cref="BeginBatch"/> (negative clock skew counts as 0).</summary>
    public void RecordInBatch(long milliseconds) => _current.RecordValue(Math.Clamp(milliseconds, 0, HighestMs));

    /// <summary>The buckets of the current and the previous span together; empty when nothing was written in them.</summary>
    public IReadOnlyList<LatencyCount> Snapshot()
    {
        Rotate();
        var merged = New();
        merged.Add(_previous);
        merged.Add(_current);
        return Buckets(merged);
    }

    private void Rotate()
    {
        var elapsed = time.GetElapsedTime(_currentSince);
        if (elapsed < Span) return;
        // Two spans or more without a record: the previous one is too old to show as well.
        if (elapsed >= Span * 2) _current.Reset();
        (_previous, _current) = (_current, _previous);
        _current.Reset();
        _currentSince = time.GetTimestamp();
    }

    private static List<LatencyCount> Buckets(HistogramBase histogram)
    {
        var buckets = new List<LatencyCount>();
        if (histogram.TotalCount == 0) return buckets;
        foreach (var value in histogram.RecordedValues())
            buckets.Add(new LatencyCount(histogram.HighestEquivalentValue(value.ValueIteratedTo), value.CountAtValueIteratedTo));
        return buckets;
    }

    /// <summary>p50 and p99 over every snapshot given (each partition's), or null when none holds a record.</summary>
    public static LatencyPercentiles? Percentiles(IEnumerable<IReadOnlyList<LatencyCount>?> snapshots)
    {
        var merged = New();
        foreach (var snapshot in snapshots)
        {
            if (snapshot is null) continue;
            foreach (var bucket in snapshot)
                if (bucket.Count > 0) merged.RecordValueWithCount(Math.Clamp(bucket.Milliseconds, 0, HighestMs), bucket.Count);
        }
        if (merged.TotalCount == 0) return null;
        return new LatencyPercentiles(merged.GetValueAtPercentile(50), merged.GetValueAtPercentile(99), merged.TotalCount);
    }
}
