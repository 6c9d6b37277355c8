using System.Runtime.InteropServices;
using HdrHistogram;

namespace Mesh.Core.Replication;

/// <summary>How many records took <paramref name="Milliseconds"/> (a histogram bucket's value) end to end.</summary>
public readonly record struct LatencyCount(long Milliseconds, long Count);

/// <summary>The latency percentiles of a set of records, in milliseconds.</summary>
public readonly record struct LatencyPercentiles(double P50Ms, double P99Ms, long Records);

/// <summary>
/// End-to-end replication latencies (origin write to destination acknowledgement) of the records a replicator wrote
/// in the last one to two <see cref="Span"/>s: the current span's counts and the one before, swapped as time passes,
/// so that a status shows how replication is doing now rather than since the replicator started. Counts are kept per
/// HDR histogram bucket (two significant digits, about 1%), but only for the buckets that were hit: a dense histogram
/// of that range is 16 KB, two per partition, which at 10,000 partitions was 320 MB of a silo's memory and as many
/// zeroed pages at its start, for partitions that mostly see a handful of distinct latencies. A snapshot is the
/// buckets (value, count), which merge across partitions exactly, unlike percentiles.
/// </summary>
public sealed class LatencyWindow(TimeProvider time)
{
    /// <summary>How long one span collects before it becomes the previous one.</summary>
    public static readonly TimeSpan Span = TimeSpan.FromSeconds(30);

    // An hour at most (a record older than that counts as an hour), two significant digits: about 1% resolution.
    private const long HighestMs = 3_600_000;
    private const int Digits = 2;

    // Only its bucket arithmetic is used (pure functions of its settings), never its counts: shared by every window.
    private static readonly LongHistogram Geometry = New();

    private Dictionary<long, long> _current = [];
    private Dictionary<long, long> _previous = [];
    private long _currentSince = time.GetTimestamp();

    private static LongHistogram New() => new(HighestMs, Digits);

    /// <summary>Records one record's latency (negative clock skew counts as 0).</summary>
    public void Record(long milliseconds)
    {
        Rotate();
        RecordInBatch(milliseconds);
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
    public void RecordInBatch(long milliseconds)
    {
        var bucket = Geometry.HighestEquivalentValue(Math.Clamp(milliseconds, 0, HighestMs));
        CollectionsMarshal.GetValueRefOrAddDefault(_current, bucket, out _)++;
    }

    /// <summary>The buckets of the current and the previous span together, lowest first; empty when nothing was written in them.</summary>
    public IReadOnlyList<LatencyCount> Snapshot()
    {
        Rotate();
        if (_current.Count == 0 && _previous.Count == 0) return [];
        var merged = new Dictionary<long, long>(_previous);
        foreach (var (bucket, count) in _current) CollectionsMarshal.GetValueRefOrAddDefault(merged, bucket, out _) += count;
        return [.. merged.OrderBy(b => b.Key).Select(b => new LatencyCount(b.Key, b.Value))];
    }

    private void Rotate()
    {
        var elapsed = time.GetElapsedTime(_currentSince);
        if (elapsed < Span) return;
        // Two spans or more without a record: the previous one is too old to show as well.
        if (elapsed >= Span * 2) _current.Clear();
        (_previous, _current) = (_current, _previous);
        // A fresh set rather than a cleared one after a burst: its many buckets are not kept for good.
        if (_current.Count > 64) _current = [];
        else _current.Clear();
        _currentSince = time.GetTimestamp();
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
