using HdrHistogram;
using Mesh.Core.Replication;
using Mesh.Core.Tests.Backup.Archiving;

namespace Mesh.Core.Tests.Replication;

/// <summary>The replicators' recent latencies: percentiles within the histogram's 1%, merged across partitions, and forgotten as time passes.</summary>
public sealed class LatencyWindowTests
{
    private readonly ManualTime _time = new();

    [Fact]
    public void Percentiles_of_one_partition_are_within_one_percent()
    {
        var window = new LatencyWindow(_time);
        for (var ms = 1; ms <= 1000; ms++) window.Record(ms);
        var p = LatencyWindow.Percentiles([window.Snapshot()])!.Value;
        Assert.InRange(p.P50Ms, 495, 506);
        Assert.InRange(p.P99Ms, 985, 1000);
        Assert.Equal(1000, p.Records);
    }

    [Fact]
    public void Partitions_merge_by_their_buckets_not_their_percentiles()
    {
        // Nine partitions at 10 ms, one at 1,000 ms with as many records as the nine together: p50 is 10 ms, p99 1,000 ms.
        var fast = Enumerable.Range(0, 9).Select(_ => new LatencyWindow(_time)).ToList();
        foreach (var w in fast) for (var i = 0; i < 100; i++) w.Record(10);
        var slow = new LatencyWindow(_time);
        for (var i = 0; i < 900; i++) slow.Record(1000);
        var p = LatencyWindow.Percentiles([.. fast.Select(w => w.Snapshot()), slow.Snapshot()])!.Value;
        Assert.InRange(p.P50Ms, 10, 10.2);
        Assert.InRange(p.P99Ms, 990, 1010);
        Assert.Equal(1800, p.Records);
    }

    [Fact]
    public void What_was_written_more_than_two_spans_ago_is_forgotten()
    {
        var window = new LatencyWindow(_time);
        window.Record(5000);
        _time.Advance(LatencyWindow.Span);
        window.Record(20);
        // The previous span still counts.
        Assert.InRange(LatencyWindow.Percentiles([window.Snapshot()])!.Value.P99Ms, 4900, 5100);
        _time.Advance(LatencyWindow.Span);
        Assert.InRange(LatencyWindow.Percentiles([window.Snapshot()])!.Value.P99Ms, 19, 21);
        _time.Advance(LatencyWindow.Span * 2);
        Assert.Empty(window.Snapshot());
        Assert.Null(LatencyWindow.Percentiles([window.Snapshot(), null]));
    }

    [Fact]
    public void A_written_batch_counts_each_record_against_its_origin_time()
    {
        var window = new LatencyWindow(_time);
        var batch = Enumerable.Range(0, 100)
            .Select(i => new OutboundRecord(null, null, 0, [], Provenance.Local("a", "inc", "t", 0, i, 10_000 - 10 * i), i))
            .ToList();
        window.Record(batch, nowMs: 10_000);
        var p = LatencyWindow.Percentiles([window.Snapshot()])!.Value;
        Assert.Equal(100, p.Records);
        Assert.InRange(p.P50Ms, 490, 510);
        Assert.InRange(p.P99Ms, 980, 1000);
    }

    [Fact]
    public void Negative_and_huge_latencies_are_clamped_not_refused()
    {
        var window = new LatencyWindow(_time);
        window.Record(-50);
        window.Record(long.MaxValue);
        var p = LatencyWindow.Percentiles([window.Snapshot()])!.Value;
        Assert.Equal(0, p.P50Ms);
        Assert.InRange(p.P99Ms, 3_500_000, 3_700_000);
    }

    [Fact]
    public void Buckets_are_those_of_a_dense_hdr_histogram_of_the_same_records()
    {
        // Only the buckets hit are kept; what they hold must be exactly what the dense histogram would have held.
        var random = new Random(1729);
        for (var round = 0; round < 20; round++)
        {
            var window = new LatencyWindow(_time);
            var dense = new LongHistogram(3_600_000, 2);
            var records = random.Next(1, 2_000);
            for (var i = 0; i < records; i++)
            {
                // Mostly small latencies, now and then a long one, as replication sees them.
                var ms = random.Next(10) == 0 ? random.NextInt64(0, 3_600_001) : random.Next(0, 500);
                window.Record(ms);
                dense.RecordValue(ms);
            }
            var expected = dense.RecordedValues().Select(v => new LatencyCount(dense.HighestEquivalentValue(v.ValueIteratedTo), v.CountAtValueIteratedTo)).ToList();
            Assert.Equal(expected, window.Snapshot());
        }
    }
}
