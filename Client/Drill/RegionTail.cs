using Confluent.Kafka;

namespace Mesh.Client.Drill;

/// <summary>
/// Follows a topic in one region from the beginning of every partition and keeps the set of values
/// it holds, so the drill can ask at any moment what a region has (a survivor's copy of the dead
/// region's records, a restarted region's progress) without reading the whole topic again.
/// </summary>
public sealed class RegionTail : IDisposable
{
    private readonly IConsumer<Ignore, string?> _consumer;
    private readonly Thread _thread;
    private readonly HashSet<string> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _perOrigin = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private volatile bool _stopped;
    private long _records;

    public RegionTail(string bootstrap, string region, string topic, int partitions)
    {
        Region = region;
        _consumer = new ConsumerBuilder<Ignore, string?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "mesh-drill-tail",
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            FetchWaitMaxMs = 50,
        })
            // Broker complaints (a peer's silos restarting, the mesh going down at the end) are noise here.
            .SetLogHandler((_, _) => { })
            .SetErrorHandler((_, _) => { })
            .Build();
        _consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        _thread = new Thread(Run) { IsBackground = true, Name = $"mesh-drill-tail-{region}" };
        _thread.Start();
    }

    public string Region { get; }

    /// <summary>Records read so far, repeats included.</summary>
    public long Records => Interlocked.Read(ref _records);

    public bool Holds(string value)
    {
        lock (_gate) return _values.Contains(value);
    }

    /// <summary>Distinct records of <paramref name="origin"/> (the region that produced them) read so far.</summary>
    public long From(string origin)
    {
        lock (_gate) return _perOrigin.GetValueOrDefault(origin);
    }

    public HashSet<string> Snapshot()
    {
        lock (_gate) return new HashSet<string>(_values, StringComparer.Ordinal);
    }

    private void Run()
    {
        while (!_stopped)
        {
            ConsumeResult<Ignore, string?>? result;
            try
            {
                result = _consumer.Consume(100);
            }
            catch (ConsumeException)
            {
                continue;
            }
            if (result?.Message?.Value is not { } value) continue;
            Interlocked.Increment(ref _records);
            lock (_gate)
            {
                if (!_values.Add(value)) continue;
                var origin = value.Split(':')[0];
                _perOrigin[origin] = _perOrigin.GetValueOrDefault(origin) + 1;
            }
        }
    }

    public void Dispose()
    {
        _stopped = true;
        _thread.Join();
        _consumer.Dispose();
    }
}
