using System.Text;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Mesh.Core.Backup.Archiving;
using Mesh.Core.Replication;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Replication;

/// <summary>
/// Checkpoints in the region's own Kafka: a compacted topic keyed by replicator. Every silo tails
/// it from the start, so a replicator re-activated on another silo finds what the last one wrote;
/// a read first waits until the tail has caught up with the topic's end. The same topic holds the
/// replicators' claims and releases (<see cref="Fencing"/>, keys <c>claim|</c> and <c>release|</c> and
/// the replicator's key); the tail folds them into a <see cref="ClaimBook"/> and keeps a freshness stamp:
/// every <see cref="FreshnessInterval"/> it asks for the topic's end, and once it has read up to that
/// end, the moment it asked is the latest moment it is known to have seen every claim.
/// </summary>
public sealed partial class KafkaCheckpointStore : ICheckpointStore, IDisposable
{
    public const string Topic = InternalTopics.Checkpoints;
    /// <summary>The one partition every checkpoint, claim and release goes to (an exactly-once batch's checkpoint too).</summary>
    internal static readonly TopicPartition Partition = new(Topic, 0);

    private static readonly TimeSpan FreshnessInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan CatchUpLimit = TimeSpan.FromSeconds(30);
    private const int PendingLimit = 64;

    private readonly RegionWriter _producer;
    private readonly TimeProvider _time;
    private readonly ClaimBook _claims = new();
    // (the topic's end, the timestamp just before asking for it), oldest first: reached ends become _freshAsOf.
    private readonly List<(long End, long AskedAt)> _pendingEnds = [];
    private long? _freshAsOf;
    private Thread? _freshness;
    private readonly IConsumer<string?, string?> _tail;
    private readonly Dictionary<string, ReplicationCheckpoint> _latest = new(StringComparer.Ordinal);
    // The backup archivers' positions (keys backup|topic|partition), as written.
    private readonly Dictionary<string, string> _archivers = new(StringComparer.Ordinal);
    // Keys whose latest checkpoint record could not be read: resuming from an older one, or from
    // nothing, would replicate what was replicated already.
    private readonly Dictionary<string, string> _unreadable = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger<KafkaCheckpointStore> _logger;
    private Thread? _thread;
    private long _position;
    // Callers waiting, without a thread each, for the tail to read past an offset (a claim) or to be fresh as of a
    // moment (a caught-up read): thousands of replicators starting at once wait here together. Under _gate.
    private readonly PriorityQueue<TaskCompletionSource, long> _positionWaiters = new();
    private readonly PriorityQueue<TaskCompletionSource, long> _freshWaiters = new();
    // Set when a caller waits for freshness: the freshness loop asks for the topic's end at once, not at its next tick.
    private readonly AutoResetEvent _askNow = new(false);

    public KafkaCheckpointStore(RegionWriter producer, IOptions<KafkaRegionsOptions> regions, TimeProvider time, ILogger<KafkaCheckpointStore> logger)
    {
        _producer = producer;
        _time = time;
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
        _freshness = new Thread(FreshnessLoop) { IsBackground = true, Name = "mesh-checkpoint-freshness" };
        _freshness.Start();
    }

    private void FreshnessLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            var askedAt = _time.GetTimestamp();
            try
            {
                var end = _tail.QueryWatermarkOffsets(Partition, TimeSpan.FromSeconds(2)).High.Value;
                lock (_gate)
                {
                    // An end behind what the tail read is a replaced or truncated log: not fresh until the tail
                    // has re-read it (its position then follows the new log's offsets).
                    if (end >= 0 && end >= _position) _pendingEnds.Add((end, askedAt));
                    if (_pendingEnds.Count > PendingLimit) _pendingEnds.RemoveAt(0);
                    SettlePendingEnds();
                }
            }
            catch (KafkaException e) { LogTailError(e.Error.Reason); }
            catch (ObjectDisposedException) { return; }
            // One ask serves every caller that came before it: those that come while it is under way set the event
            // and are served by the next, right after.
            WaitHandle.WaitAny([_stop.Token.WaitHandle, _askNow], FreshnessInterval);
        }
    }

    // Under _gate: every asked-for end the tail has reached stamps the tail fresh as of the moment it was asked.
    private void SettlePendingEnds()
    {
        var settled = false;
        for (var i = 0; i < _pendingEnds.Count; i++)
        {
            var (end, askedAt) = _pendingEnds[i];
            if (_position < end) continue;
            if (_freshAsOf is not { } fresh || askedAt > fresh) _freshAsOf = askedAt;
            _pendingEnds.RemoveAt(i--);
            settled = true;
        }
        if (settled) Changed();
    }

    // Under _gate: the tail's position or freshness moved. Lets go of the callers whose wait is over.
    private void Changed()
    {
        Monitor.PulseAll(_gate);
        while (_positionWaiters.TryPeek(out var waiter, out var after) && _position > after)
        {
            _positionWaiters.Dequeue();
            waiter.TrySetResult();
        }
        while (_freshAsOf is { } fresh && _freshWaiters.TryPeek(out var waiter, out var since) && fresh >= since)
        {
            _freshWaiters.Dequeue();
            waiter.TrySetResult();
        }
    }

    /// <summary>Completes once the tail has read the record at <paramref name="offset"/> (its position is past it).</summary>
    private Task WaitPastAsync(long offset, TimeSpan limit, CancellationToken cancellationToken)
    {
        Task wait;
        lock (_gate)
        {
            if (_position > offset) return Task.CompletedTask;
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _positionWaiters.Enqueue(waiter, offset);
            wait = waiter.Task;
        }
        return wait.WaitAsync(limit, _time, cancellationToken);
    }

    /// <summary>
    /// Completes once the tail is fresh as of <paramref name="since"/> (a timestamp of <see cref="_time"/>): it has read up
    /// to an end of the topic asked for at or after that moment, so it holds everything written before it.
    /// </summary>
    private Task WaitFreshAsync(long since, TimeSpan limit, CancellationToken cancellationToken)
    {
        Task wait;
        lock (_gate)
        {
            if (_freshAsOf is { } fresh && fresh >= since) return Task.CompletedTask;
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _freshWaiters.Enqueue(waiter, since);
            wait = waiter.Task;
        }
        _askNow.Set();
        return wait.WaitAsync(limit, _time, cancellationToken);
    }

    private void TailLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            ConsumeResult<string?, string?>? result;
            try { result = _tail.Consume(100); }
            catch (ConsumeException e) { LogTailError(e.Error.Reason); continue; }
            catch (ObjectDisposedException) { return; }
            if (result?.Message is null)
            {
                NoteIdlePosition();
                continue;
            }
            lock (_gate)
            {
                var key = result.Message.Key;
                if (key is null)
                    LogBadCheckpoint("(no key)", result.Offset.Value, "a checkpoint record needs its replicator's key");
                else if (ArchiverCheckpoint.IsKey(key))
                {
                    // A backup archiver's position, not a replicator's checkpoint.
                    if (result.Message.Value is null) _archivers.Remove(key);
                    else _archivers[key] = result.Message.Value;
                }
                else if (_claims.Apply(key, result.Offset.Value, result.Message.Value))
                {
                    // a claim or a release, not a checkpoint
                }
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
                SettlePendingEnds();
                Changed();
            }
        }
    }

    // Exactly-once replicators commit their checkpoints in transactions, whose markers take offsets that are never
    // delivered: the consumer's position, not the last record read, says how far the tail has read. (Without
    // transactions the two are the same.)
    private void NoteIdlePosition()
    {
        try
        {
            var position = _tail.Position(Partition);
            if (position.IsSpecial) return;
            lock (_gate)
            {
                if (position.Value <= _position) return;
                _position = position.Value;
                SettlePendingEnds();
                Changed();
            }
        }
        catch (KafkaException e) { LogTailError(e.Error.Reason); }
    }

    public Task<ReplicationCheckpoint?> ReadAsync(string key, CancellationToken cancellationToken) =>
        ReadCaughtUpAsync(() =>
        {
            if (_unreadable.TryGetValue(key, out var unreadable))
                throw new ReplicationFailedException($"the latest checkpoint of {key} in {Topic} cannot be read ({unreadable}); replication of this " +
                    "partition stopped rather than resume from an older position. Write a valid checkpoint for it, or a tombstone to start it afresh.");
            return _latest.GetValueOrDefault(key);
        }, cancellationToken);

    /// <summary>The latest value written under an archiver's key (<see cref="ArchiverCheckpoint.Key"/>), once the tail has read the topic's end.</summary>
    public Task<string?> ReadArchiverAsync(string key, CancellationToken cancellationToken) =>
        ReadCaughtUpAsync(() => _archivers.GetValueOrDefault(key), cancellationToken);

    /// <summary>
    /// Reads what the tail holds once it has read up to the topic's end as of now (under the tail's lock). The end is the
    /// freshness loop's: one request for the topic's end answers every read that came before it, however many.
    /// </summary>
    private async Task<T> ReadCaughtUpAsync<T>(Func<T> read, CancellationToken cancellationToken)
    {
        var since = _time.GetTimestamp();
        try
        {
            await WaitFreshAsync(since, ReadCatchUpLimit, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw NotCaughtUp($"to its end within {ReadCatchUpLimit.TotalSeconds:0} s");
        }
        lock (_gate) return read();
    }

    private TimeoutException NotCaughtUp(string what)
    {
        long position;
        lock (_gate) position = _position;
        return new TimeoutException($"the checkpoint topic {Topic} did not catch up {what} (read up to offset {position})");
    }

    // What a read used to allow: 10 s to learn the topic's end, 30 s for the tail to reach it.
    private static readonly TimeSpan ReadCatchUpLimit = TimeSpan.FromSeconds(40);

    /// <summary>Writes an archiver's position under its key.</summary>
    public Task WriteArchiverAsync(string key, string value, CancellationToken cancellationToken) =>
        _producer.ProduceAndWaitAsync(Partition, Record(key, value), cancellationToken);

    public Task WriteAsync(string key, ReplicationCheckpoint checkpoint, CancellationToken cancellationToken) =>
        _producer.ProduceAndWaitAsync(Partition, Record(key, checkpoint.Encode()), cancellationToken);

    /// <summary>A checkpoint-topic record: the replicator's (or its claim's) key and the encoded value.</summary>
    internal static Message<byte[]?, byte[]?> Record(string key, string value) =>
        new() { Key = Encoding.UTF8.GetBytes(key), Value = Encoding.UTF8.GetBytes(value) };

    public async Task<Claim> ClaimAsync(string key, string holder, CancellationToken cancellationToken)
    {
        var epoch = await ProduceAsync(Fencing.ClaimKey(key), Fencing.EncodeClaim(holder, _time.GetUtcNow().ToUnixTimeMilliseconds()), cancellationToken);
        try
        {
            await WaitPastAsync(epoch, CatchUpLimit, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw NotCaughtUp($"to the claim at offset {epoch}");
        }
        lock (_gate)
        {
            // Superseded already: the claim as it was, with a predecessor that did not let go (it is fenced at its first write anyway).
            return _claims.Latest(key) is { } latest && latest.Epoch == epoch
                ? latest
                : new Claim(epoch, holder, _claims.Latest(key)?.Epoch, false, false);
        }
    }

    public Task ReleaseAsync(string key, long epoch, string holder, CancellationToken cancellationToken) =>
        ProduceAsync(Fencing.ReleaseKey(key), Fencing.EncodeRelease(epoch, holder), cancellationToken);

    public async Task<ClaimView> OwnerAsync(string key, TimeSpan freshness, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var view = View(key);
            if (view.TailAge <= freshness || maxWait <= TimeSpan.Zero) return view;
        }
        // Stale: wait (without a thread) for the tail to be fresh as of now, as long as maxWait allows.
        var started = _time.GetTimestamp();
        while (true)
        {
            var left = maxWait - _time.GetElapsedTime(started);
            if (left > TimeSpan.Zero)
            {
                try { await WaitFreshAsync(_time.GetTimestamp(), left, cancellationToken); }
                catch (TimeoutException) { }
            }
            lock (_gate)
            {
                var view = View(key);
                if (view.TailAge <= freshness || _time.GetElapsedTime(started) >= maxWait) return view;
            }
        }
    }

    // Under _gate.
    private ClaimView View(string key) =>
        new(_claims.Latest(key), _freshAsOf is { } fresh ? _time.GetElapsedTime(fresh) : TimeSpan.MaxValue);

    private Task<long> ProduceAsync(string key, string value, CancellationToken cancellationToken) =>
        _producer.ProduceAndWaitAsync(Partition, Record(key, value), cancellationToken);

    // Once: the container disposes it under each name it is registered as (the class and its interfaces).
    private int _disposed;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _stop.Cancel();
        _thread?.Join(TimeSpan.FromSeconds(5));
        _freshness?.Join(TimeSpan.FromSeconds(5));
        lock (_gate)
        {
            var stopped = new ObjectDisposedException(nameof(KafkaCheckpointStore));
            while (_positionWaiters.TryDequeue(out var waiter, out _)) waiter.TrySetException(stopped);
            while (_freshWaiters.TryDequeue(out var waiter, out _)) waiter.TrySetException(stopped);
        }
        _tail.Close();
        _tail.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checkpoint tail: {Reason}")]
    private partial void LogTailError(string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Checkpoint '{Key}' at offset {Offset} is unreadable and ignored: {Reason}")]
    private partial void LogBadCheckpoint(string key, long offset, string reason);
}
