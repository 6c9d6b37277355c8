using Confluent.Kafka;

namespace Mesh.Client.Drill;

/// <summary>
/// The application's consumer group in one region: processes records (remembers each value it saw,
/// in order) and commits its position every 200 ms, only past records it has processed
/// (at-least-once). The blocking consume loop runs on its own thread.
/// </summary>
public sealed class DrillConsumer : IDisposable
{
    private readonly IConsumer<string?, string?> _consumer;
    private readonly Thread _thread;
    private readonly List<string> _processed = [];
    private readonly Dictionary<int, long> _next = [];
    private readonly object _gate = new();
    private readonly string _topic;
    private volatile bool _halted;
    private bool _abandoned;
    private long _firstAtTicks;

    public DrillConsumer(string bootstrap, string region, string topic, string group)
    {
        Region = region;
        _topic = topic;
        _consumer = new ConsumerBuilder<string?, string?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = group,
            ClientId = $"mesh-drill-consumer-{region}",
            // Stored only once processed, committed by the client every 200 ms.
            EnableAutoCommit = true,
            AutoCommitIntervalMs = 200,
            EnableAutoOffsetStore = false,
            // No committed position in this region: start from the beginning (re-delivers, never skips).
            AutoOffsetReset = AutoOffsetReset.Earliest,
            FetchWaitMaxMs = 50,
        })
            // A dead region's clients complain until they are let go; the drill reports what matters itself.
            .SetLogHandler((_, _) => { })
            .SetErrorHandler((_, _) => { })
            .Build();
        _thread = new Thread(Run) { IsBackground = true, Name = $"mesh-drill-consumer-{region}" };
    }

    public string Region { get; }

    /// <summary>When the first record was processed; null before that.</summary>
    public DateTimeOffset? FirstRecordAt => Interlocked.Read(ref _firstAtTicks) is var t and > 0 ? new DateTimeOffset(t, TimeSpan.Zero) : null;

    /// <summary>The group's committed offsets in this region before this consumer joined (partition to offset); empty when it had none.</summary>
    public IReadOnlyDictionary<int, long> CommittedAtStart { get; private set; } = new Dictionary<int, long>();

    /// <summary>A consume error that stopped the loop, if any.</summary>
    public string? FatalError { get; private set; }

    public int ProcessedCount
    {
        get { lock (_gate) return _processed.Count; }
    }

    /// <summary>Every value processed, in order, with repeats.</summary>
    public IReadOnlyList<string> Processed
    {
        get { lock (_gate) return [.. _processed]; }
    }

    /// <summary>Per partition, the offset after the last record processed.</summary>
    public IReadOnlyDictionary<int, long> Positions
    {
        get { lock (_gate) return new Dictionary<int, long>(_next); }
    }

    /// <summary>Looks up the group's committed offsets in this region (<paramref name="partitions"/> of the topic), then joins the group and consumes.</summary>
    public void Start(int partitions)
    {
        try
        {
            var committed = _consumer.Committed(Enumerable.Range(0, partitions).Select(p => new TopicPartition(_topic, p)), TimeSpan.FromSeconds(10));
            CommittedAtStart = committed.Where(c => c.Offset.Value >= 0).ToDictionary(c => c.Partition.Value, c => c.Offset.Value);
        }
        catch (KafkaException)
        {
            // Not knowing what was committed does not stop the failover; the figure is then empty.
        }
        _consumer.Subscribe(_topic);
        _thread.Start();
    }

    private void Run()
    {
        while (!_halted)
        {
            ConsumeResult<string?, string?>? result;
            try
            {
                result = _consumer.Consume(100);
            }
            catch (ConsumeException e) when (!e.Error.IsFatal)
            {
                continue;
            }
            catch (ConsumeException e)
            {
                FatalError = e.Error.ToString();
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            if (result?.Message is null) continue;
            lock (_gate)
            {
                // A region's death and its application's are one instant: nothing is processed after it.
                if (_halted) return;
                _processed.Add(result.Message.Value ?? "");
                _next[result.Partition.Value] = result.Offset.Value + 1;
            }
            Interlocked.CompareExchange(ref _firstAtTicks, DateTimeOffset.UtcNow.UtcTicks, 0);
            try
            {
                _consumer.StoreOffset(result);
            }
            catch (KafkaException)
            {
                // The partition was revoked meanwhile: its next owner starts from the last commit.
            }
        }
    }

    /// <summary>Stops processing, commits what was processed and leaves the group.</summary>
    public void Stop()
    {
        _halted = true;
        if (_thread.IsAlive) _thread.Join();
        try
        {
            _consumer.Close();
        }
        catch (KafkaException)
        {
            // The group's coordinator is gone: the last periodic commit stands.
        }
    }

    /// <summary>
    /// The region died with the application in it: processing stops at once; the client is let go
    /// without a goodbye (its brokers are gone) and nobody waits for it.
    /// </summary>
    public void Abandon()
    {
        lock (_gate) _halted = true;
        _abandoned = true;
        new Thread(() =>
        {
            if (_thread.IsAlive) _thread.Join();
            _consumer.Dispose();
        }) { IsBackground = true, Name = $"mesh-drill-abandon-consumer-{Region}" }.Start();
    }

    public void Dispose()
    {
        if (_abandoned) return;
        _halted = true;
        if (_thread.IsAlive) _thread.Join();
        _consumer.Dispose();
    }
}
