using System.Text;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Mesh.Core.Replication;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Replication;

/// <summary>
/// Checkpoints in the region's own Kafka: a compacted topic keyed by replicator. Every silo tails
/// it from the start, so a replicator re-activated on another silo finds what the last one wrote;
/// a read first waits until the tail has caught up with the topic's end.
/// </summary>
public sealed partial class KafkaCheckpointStore : ICheckpointStore, IDisposable
{
    public const string Topic = InternalTopics.Checkpoints;
    private static readonly TopicPartition Partition = new(Topic, 0);

    private readonly RegionWriter _producer;
    private readonly IConsumer<string?, string?> _tail;
    private readonly Dictionary<string, ReplicationCheckpoint> _latest = new(StringComparer.Ordinal);
    // Keys whose latest checkpoint record could not be read: resuming from an older one, or from
    // nothing, would replicate what was replicated already.
    private readonly Dictionary<string, string> _unreadable = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger<KafkaCheckpointStore> _logger;
    private Thread? _thread;
    private long _position;

    public KafkaCheckpointStore(RegionWriter producer, IOptions<KafkaRegionsOptions> regions, ILogger<KafkaCheckpointStore> logger)
    {
        _producer = producer;
        _logger = logger;
        var config = regions.Value.Local.BuildConfig(
            defaults: new Dictionary<string, string> { ["client.id"] = $"mesh-{regions.Value.LocalRegion}-checkpoints" },
            required: new Dictionary<string, string>
            {
                ["group.id"] = $"__mesh-{regions.Value.LocalRegion}-checkpoints",
                ["enable.auto.commit"] = "false",
                ["auto.offset.reset"] = "earliest",
                ["fetch.wait.max.ms"] = "20",
            });
        _tail = new ConsumerBuilder<string?, string?>(config).Build();
    }

    /// <summary>Starts tailing; the topic must exist (the silo creates it at start).</summary>
    public void Start()
    {
        _tail.Assign(new TopicPartitionOffset(Partition, Offset.Beginning));
        _thread = new Thread(TailLoop) { IsBackground = true, Name = "mesh-checkpoint-tail" };
        _thread.Start();
    }

    private void TailLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            ConsumeResult<string?, string?>? result;
            try { result = _tail.Consume(100); }
            catch (ConsumeException e) { LogTailError(e.Error.Reason); continue; }
            catch (ObjectDisposedException) { return; }
            if (result?.Message is null) continue;
            lock (_gate)
            {
                var key = result.Message.Key;
                if (key is null)
                    LogBadCheckpoint("(no key)", result.Offset.Value, "a checkpoint record needs its replicator's key");
                else if (result.Message.Value is null)
                {
                    _latest.Remove(key); // a tombstone resets that replicator
                    _unreadable.Remove(key);
                }
                else if (ReplicationCheckpoint.TryDecode(result.Message.Value, out var checkpoint, out var reason))
                {
                    _latest[key] = checkpoint!;
                    _unreadable.Remove(key);
                }
                else
                {
                    _unreadable[key] = $"offset {result.Offset.Value}: {reason}";
                    LogBadCheckpoint(key, result.Offset.Value, reason);
                }
                _position = result.Offset.Value + 1;
                Monitor.PulseAll(_gate);
            }
        }
    }

    public async Task<ReplicationCheckpoint?> ReadAsync(string key, CancellationToken cancellationToken)
    {
        var end = await Task.Run(() => _tail.QueryWatermarkOffsets(Partition, TimeSpan.FromSeconds(10)).High.Value, cancellationToken);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        return await Task.Run(() =>
        {
            lock (_gate)
            {
                while (_position < end)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (DateTime.UtcNow > deadline)
                        throw new TimeoutException($"the checkpoint topic {Topic} did not catch up to offset {end} (at {_position})");
                    Monitor.Wait(_gate, 100);
                }
                if (_unreadable.TryGetValue(key, out var unreadable))
                    throw new ReplicationFailedException($"the latest checkpoint of {key} in {Topic} cannot be read ({unreadable}); replication of this " +
                        "partition stopped rather than resume from an older position. Write a valid checkpoint for it, or a tombstone to start it afresh.");
                return _latest.GetValueOrDefault(key);
            }
        }, cancellationToken);
    }

    public Task WriteAsync(string key, ReplicationCheckpoint checkpoint, CancellationToken cancellationToken) =>
        _producer.ProduceAndWaitAsync(Partition,
            new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes(key), Value = Encoding.UTF8.GetBytes(checkpoint.Encode()) },
            cancellationToken);

    public void Dispose()
    {
        _stop.Cancel();
        _thread?.Join(TimeSpan.FromSeconds(5));
        _tail.Close();
        _tail.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checkpoint tail: {Reason}")]
    private partial void LogTailError(string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Checkpoint '{Key}' at offset {Offset} is unreadable and ignored: {Reason}")]
    private partial void LogBadCheckpoint(string key, long offset, string reason);
}
