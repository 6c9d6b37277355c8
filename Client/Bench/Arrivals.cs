using System.Diagnostics;
using Confluent.Kafka;
using HdrHistogram;
using Mesh.Client.Local;

namespace Mesh.Client.Bench;

/// <summary>
/// What arrived in a destination topic: how many of the expected sequence numbers (each once), how many came again or
/// were not the bench's, when the first and the last arrived (on the bench's clock), and, for records that carry their
/// send time, the end-to-end latencies in microseconds.
/// </summary>
public sealed record ArrivalResult(long Expected, long Distinct, long Duplicates, long Foreign, TimeSpan? First, TimeSpan? Last, HistogramBase Latencies)
{
    /// <summary>From the first record's arrival to the last's; zero before two arrived.</summary>
    public TimeSpan Span => First is { } first && Last is { } last ? last - first : TimeSpan.Zero;
}

/// <summary>
/// Reads a destination topic from the beginning on a thread of its own while a measure runs, and checks the bench's own
/// counts: every expected sequence number (<see cref="BenchRecords.SequenceHeader"/>) from <c>firstSequence</c> on must arrive
/// once, so that a fast wrong answer cannot pass. Records of the steady measures carry their send time
/// (<see cref="LatencyProbe.SentHeader"/>); their latency is the arrival here less that time, on the same clock, the first
/// <c>warmUp</c> sequence numbers left out of the histogram (connections and metadata being set up).
/// </summary>
public sealed class Arrivals : IDisposable
{
    /// <summary>Latencies up to a minute, three significant digits.</summary>
    public const long HighestMicroseconds = 60_000_000;

    private readonly string _where;
    private readonly long _expected;
    private readonly long _firstSequence;
    private readonly long _warmUp;
    private readonly Stopwatch _clock;
    private readonly bool[] _seen;
    private readonly LongHistogram _latencies = new(HighestMicroseconds, 3);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly IConsumer<byte[], byte[]> _consumer;
    private long _distinct, _duplicates, _foreign;
    private TimeSpan? _first, _last;
    private Exception? _failure;

    public Arrivals(string bootstrap, string topic, int partitions, long expected, Stopwatch clock, long firstSequence = 0, long warmUp = 0)
    {
        _where = $"'{topic}' at {bootstrap}";
        _expected = expected;
        _firstSequence = firstSequence;
        _warmUp = warmUp;
        _clock = clock;
        _seen = new bool[expected];
        _consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            // Assigned, never subscribed: the group id is only a name, nothing is committed.
            GroupId = "mesh-bench-arrivals",
            ClientId = "mesh-bench-arrivals",
            EnableAutoCommit = false,
            // A short fetch wait: the latency measured is the pipe's or the mesh's, as little of this reader's as it can be.
            FetchWaitMaxMs = 5,
            FetchMinBytes = 1,
            SocketNagleDisable = true,
        }).Build();
        _consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        _thread = new Thread(Read) { IsBackground = true, Name = $"bench-arrivals-{topic}" };
        _thread.Start();
    }

    /// <summary>Distinct expected records so far.</summary>
    public long Distinct => Interlocked.Read(ref _distinct);

    /// <summary>
    /// Waits until <paramref name="until"/> distinct expected records (default: all) arrived, or throws with what did; fails
    /// when any arrived twice or was not the bench's.
    /// </summary>
    /// <exception cref="MeshCommandException">Not all arrived within <paramref name="timeout"/>, or some arrived twice.</exception>
    public async Task<ArrivalResult> WaitAsync(TimeSpan timeout, Action<string> progress, CancellationToken cancellationToken, long? until = null)
    {
        var target = until ?? _expected;
        var started = Stopwatch.StartNew();
        var next = TimeSpan.FromSeconds(5);
        while (Distinct < target)
        {
            if (_failure is { } failure) throw new MeshCommandException($"Reading {_where} failed: {failure.Message}");
            if (started.Elapsed > timeout)
                throw new MeshCommandException($"Waited {timeout.TotalSeconds:0} s for {target} records in {_where}; {Distinct} arrived " +
                                               $"({Interlocked.Read(ref _duplicates)} again, {Interlocked.Read(ref _foreign)} not the bench's).");
            if (started.Elapsed > next)
            {
                next += TimeSpan.FromSeconds(5);
                progress($"  {Distinct} of {target} in {_where} after {started.Elapsed.TotalSeconds:0} s");
            }
            await Task.Delay(20, cancellationToken);
        }
        var result = Result();
        if (result.Duplicates > 0 || result.Foreign > 0)
            throw new MeshCommandException($"{_where} holds {result.Duplicates} records twice and {result.Foreign} records the bench did not send " +
                                           $"beside the {result.Distinct} expected: every record must arrive once.");
        return result;
    }

    public ArrivalResult Result()
    {
        lock (_latencies)
            return new ArrivalResult(_expected, Distinct, Interlocked.Read(ref _duplicates), Interlocked.Read(ref _foreign), _first, _last, _latencies.Copy());
    }

    private void Read()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var result = _consumer.Consume(100);
                if (result?.Message is not { } message) continue;
                var now = Stopwatch.GetTimestamp();
                var at = _clock.Elapsed;
                var sequence = BenchRecords.SequenceOf(message);
                // Records of an earlier measure on the same topic were checked by that measure.
                if (sequence >= 0 && sequence < _firstSequence) continue;
                var index = sequence - _firstSequence;
                if (index < 0 || index >= _expected)
                {
                    Interlocked.Increment(ref _foreign);
                    continue;
                }
                if (_seen[index])
                {
                    Interlocked.Increment(ref _duplicates);
                    continue;
                }
                _seen[index] = true;
                lock (_latencies)
                {
                    _first ??= at;
                    _last = at;
                    if (index >= _warmUp && LatencyProbe.SentOf(message) is { } sent)
                        _latencies.RecordValue(Math.Clamp(Stopwatch.GetElapsedTime(sent, now).Ticks / TimeSpan.TicksPerMicrosecond, 0, HighestMicroseconds));
                }
                Interlocked.Increment(ref _distinct);
            }
        }
        catch (KafkaException e)
        {
            _failure = e;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join(TimeSpan.FromSeconds(10));
        _consumer.Close();
        _consumer.Dispose();
        _stop.Dispose();
    }
}
