using Confluent.Kafka;
using Mesh.Core.Replication;

namespace Mesh.Client.Traffic;

/// <summary>
/// Tails a topic in one region and, for every replicated record (one that carries provenance),
/// notes how long after its origin timestamp it arrived: the end-to-end replication latency.
/// </summary>
public sealed class ArrivalProbe : IDisposable
{
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(long OriginTimestampMs, double LatencyMs)> _arrivals = [];
    private readonly object _gate = new();
    private long _replicated;

    /// <param name="skipExisting">Start at the topic's end instead of its beginning.</param>
    public ArrivalProbe(string bootstrap, string topic, int partitions, bool skipExisting = false)
    {
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "mesh-probe",
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            FetchWaitMaxMs = 10,
        }).Build();
        _consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, skipExisting
            ? _consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High
            : Offset.Beginning)));
        _thread = new Thread(Run) { IsBackground = true, Name = "mesh-arrival-probe" };
        _thread.Start();
    }

    public long Replicated => Interlocked.Read(ref _replicated);

    public IReadOnlyList<double> LatenciesMs => LatenciesSince(long.MinValue);

    /// <summary>Latencies of the records produced at or after <paramref name="originTimestampMs"/>.</summary>
    public IReadOnlyList<double> LatenciesSince(long originTimestampMs)
    {
        lock (_gate) return [.. _arrivals.Where(a => a.OriginTimestampMs >= originTimestampMs).Select(a => a.LatencyMs)];
    }

    private void Run()
    {
        while (!_stop.IsCancellationRequested)
        {
            ConsumeResult<byte[]?, byte[]?>? r;
            try { r = _consumer.Consume(50); }
            catch (ConsumeException) { continue; }
            if (r?.Message?.Headers is null) continue;
            if (!r.Message.Headers.TryGetLastBytes(ProvenanceCodec.HeaderName, out _)) continue;
            var origin = r.Message.Timestamp.UnixTimestampMs;
            var latency = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - origin;
            lock (_gate) _arrivals.Add((origin, latency));
            Interlocked.Increment(ref _replicated);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join(TimeSpan.FromSeconds(5));
        _consumer.Close();
        _consumer.Dispose();
    }

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }
}
