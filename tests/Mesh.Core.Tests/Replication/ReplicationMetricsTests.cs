using System.Diagnostics.Metrics;
using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Replication;

/// <summary>The replication meter: a written batch's records, bytes and latencies per link and topic, the lag summed over partitions, and no allocation per batch.</summary>
public sealed class ReplicationMetricsTests : IDisposable
{
    private readonly ReplicationMetrics _metrics = new();
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, long> _sums = [];
    private readonly List<(double Ms, string Tags)> _latencies = [];
    private long _records, _bytes, _latencyCount;
    private bool _keepLatencies = true;

    public ReplicationMetricsTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == _metrics.Records.Meter) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument == _metrics.Records) _records += value;
            else if (instrument == _metrics.Bytes) _bytes += value;
            else _sums[$"{instrument.Name} {Describe(tags)}"] = value;
        });
        _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            _latencyCount++;
            if (_keepLatencies) _latencies.Add((value, Describe(tags)));
        });
        _listener.Start();
    }

    private static string Describe(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var parts = new List<string>();
        foreach (var tag in tags) parts.Add($"{tag.Key}={tag.Value}");
        return string.Join(",", parts.Order());
    }

    private static List<OutboundRecord> Batch(int records, long originMs, int valueBytes = 10) =>
        [.. Enumerable.Range(0, records).Select(i =>
            new OutboundRecord([1, 2], new byte[valueBytes], originMs, [], Provenance.Local("us-east", "inc", "orders", 0, i, originMs - i), i))];

    [Fact]
    public void A_written_batch_adds_its_records_and_bytes_and_each_records_latency_under_the_links_tags()
    {
        var partition = _metrics.For("us-east", "eu-west", "orders", 3);
        partition.Written(Batch(5, originMs: 1_000), nowMs: 1_040, sourceEnd: 100, next: 90);

        Assert.Equal(5, _records);
        Assert.Equal(5 * (2 + 10), _bytes);
        Assert.Equal([40.0, 41, 42, 43, 44], _latencies.Select(l => l.Ms));
        Assert.All(_latencies, l => Assert.Equal("destination=eu-west,source=us-east,topic=orders", l.Tags));
        Assert.Equal(10, partition.Lag);
    }

    [Fact]
    public void Lag_is_summed_per_link_and_topic_over_the_partitions_that_wrote()
    {
        _metrics.For("a", "b", "orders", 0).Written(Batch(1, 0), 0, sourceEnd: 50, next: 40);
        _metrics.For("a", "b", "orders", 1).Written(Batch(1, 0), 0, sourceEnd: 7, next: 2);
        _metrics.For("a", "b", "payments", 0).Written(Batch(1, 0), 0, sourceEnd: 3, next: 3);
        _metrics.For("c", "b", "orders", 0); // has not written: no lag yet
        var gone = _metrics.For("a", "b", "orders", 2);
        gone.Written(Batch(1, 0), 0, sourceEnd: 1_000, next: 0);
        gone.Dispose();
        // A handle replaced by a newer one for the same partition leaves the newer one in place when disposed.
        var old = _metrics.For("a", "b", "payments", 1);
        var current = _metrics.For("a", "b", "payments", 1);
        current.Written(Batch(1, 0), 0, sourceEnd: 9, next: 1);
        old.Dispose();

        _listener.RecordObservableInstruments();

        Assert.Equal(new Dictionary<string, long>
        {
            ["mesh_replication_lag destination=b,source=a,topic=orders"] = 15,
            ["mesh_replication_lag destination=b,source=a,topic=payments"] = 8,
        }, _sums);
    }

    [Fact]
    public void An_unknown_source_end_keeps_the_last_lag()
    {
        var partition = _metrics.For("a", "b", "orders", 0);
        partition.Written(Batch(1, 0), 0, sourceEnd: 10, next: 4);
        partition.Written(Batch(1, 0), 0, sourceEnd: null, next: 5);
        Assert.Equal(6, partition.Lag);
    }

    [Fact]
    public void A_written_batch_allocates_nothing()
    {
        _keepLatencies = false;
        var partition = _metrics.For("a", "b", "orders", 0);
        var batch = Batch(100, originMs: 1_000);
        // Warm up past tiered compilation's call counting, then measure three rounds: a per-batch allocation shows in every
        // round (1,000 batches), while the runtime's one-off work (a method promoted to tier 1 mid-round) shows in one at most.
        for (var i = 0; i < 300; i++) partition.Written(batch, 2_000, 10, 5);
        var rounds = new long[3];
        for (var round = 0; round < rounds.Length; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1_000; i++) partition.Written(batch, 2_000, 10, 5);
            rounds[round] = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.True(rounds.Min() == 0, $"bytes allocated per round of 1,000 batches: {string.Join(", ", rounds)}");
        Assert.Equal((300 + 3 * 1_000) * 100, _latencyCount);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _metrics.Dispose();
    }
}
