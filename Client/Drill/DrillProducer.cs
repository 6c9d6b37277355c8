using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Mesh.Client.Traffic;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Mesh.Client.Drill;

/// <summary>
/// A steady application producer in one region: keyed records at a fixed rate, each value
/// <c>region:sequence</c>, acks from every in-sync replica. It keeps what the region acknowledged
/// (and when each of those records was sent), since that is what a region loss can take away.
/// </summary>
public sealed class DrillProducer : IDisposable
{
    private const int Keys = 64;
    private readonly IProducer<string, string> _producer;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _acked = new(StringComparer.Ordinal);
    private readonly Task _sending;
    private long _failed;
    private string? _firstError;
    private bool _abandoned;

    public DrillProducer(string bootstrap, string region, string topic, int recordsPerSecond)
    {
        Region = region;
        _producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            Acks = Acks.All,
            EnableIdempotence = true,
            // Batches of several records rather than one per send: the embedded Kafka scans a partition's
            // batches one by one on every fetch, so a long drill of single-record batches slows every reader.
            LingerMs = 100,
            // A region that dies takes its unacknowledged records with it; the drill does not wait for them.
            MessageTimeoutMs = 30_000,
            ClientId = $"mesh-drill-{region}",
        })
            // A dead region's clients complain until they are let go; the drill reports what matters itself.
            .SetLogHandler((_, _) => { })
            .SetErrorHandler((_, _) => { })
            .Build();
        _sending = Task.Factory.StartNew(() => Send(topic, recordsPerSecond), TaskCreationOptions.LongRunning);
    }

    public string Region { get; }

    /// <summary>Records the region acknowledged so far, by value, with the time each was sent.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> Acked => _acked;

    public long Failed => Interlocked.Read(ref _failed);

    public string? FirstError => _firstError;

    private void Send(string topic, int recordsPerSecond)
    {
        var clock = Stopwatch.StartNew();
        for (long i = 0; !_stop.IsCancellationRequested; i++)
        {
            // Paced: each record waits for its slot, as a steady application sends.
            var due = TimeSpan.FromSeconds((double)i / recordsPerSecond);
            if (due > clock.Elapsed && _stop.Token.WaitHandle.WaitOne(due - clock.Elapsed)) break;
            var value = TestTraffic.ValueOf(Region, i);
            var message = new Message<string, string>
            {
                Key = $"{Region}-key-{i % Keys}",
                Value = value,
                Headers = new Headers
                {
                    { TestTraffic.TraceHeader, Encoding.UTF8.GetBytes($"trace-{Region}-{i}") },
                    { TestTraffic.SourceHeader, Encoding.UTF8.GetBytes(Region) },
                },
            };
            var sentAt = DateTimeOffset.UtcNow;
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    _producer.Produce(topic, message, report =>
                    {
                        if (!report.Error.IsError) _acked[value] = sentAt;
                        else if (Interlocked.Increment(ref _failed) == 1) _firstError = report.Error.ToString();
                    });
                    break;
                }
                catch (ProduceException<string, string> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    _producer.Poll(TimeSpan.FromMilliseconds(50));
                }
            }
        }
    }

    /// <summary>Stops sending and waits (up to <paramref name="timeout"/>) for the records in flight to be acknowledged.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        await _stop.CancelAsync();
        await _sending;
        await Task.Run(() => _producer.Flush(timeout));
    }

    /// <summary>
    /// The region died: stop sending at once and let go of the client without waiting for its
    /// records in flight (they can no longer be acknowledged). Its acknowledgements so far stand.
    /// </summary>
    public void Abandon()
    {
        _stop.Cancel();
        _abandoned = true;
        // Closing a client whose brokers are gone can block until its timeouts; nobody waits for it.
        new Thread(() =>
        {
            _sending.Wait();
            _producer.Dispose();
        }) { IsBackground = true, Name = $"mesh-drill-abandon-{Region}" }.Start();
    }

    public void Dispose()
    {
        if (_abandoned) return;
        _stop.Cancel();
        _sending.Wait();
        _producer.Dispose();
        _stop.Dispose();
    }
}
