using System.Collections.Concurrent;
using System.Threading.Channels;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Mesh.Core.Replication;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Logging;

namespace Mesh.Kafka.Replication;

/// <summary>
/// One consumer per silo per source cluster, shared by every partition replicator that reads that
/// cluster. Partitions are assigned by hand (no consumer group, so no rebalances); a single thread
/// consumes and hands each record to its partition's buffer, pausing a partition whose buffer is full.
/// </summary>
internal sealed partial class SharedSourceReader : IDisposable
{
    private const int BufferHighWater = 4000;
    private const int BufferLowWater = 1000;

    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly IConsumer<byte[]?, byte[]?> _offsets;
    // Every replicator's recovery asks its partition's offsets; thousands at once are a few batched requests.
    private readonly BatchedWatermarks _watermarks;
    private readonly ConcurrentDictionary<TopicPartition, PartitionFeed> _feeds = new();
    // Work for the consume thread, in order: an assignment (Assign set) or anything else (Run set).
    private readonly record struct Command(Action? Run, PartitionFeed? Assign = null, long Offset = 0);
    private readonly ConcurrentQueue<Command> _commands = new();
    // Assignments next to each other in the queue, made in one call (consume thread only).
    private readonly List<Command> _assigns = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly string _region;
    private readonly ILogger _logger;

    // While true the reader fetches nothing (every partition paused), so that what it would read waits in Kafka rather
    // than in this process. Asked every HoldCheckMs, not before every poll: a poll returns one record.
    private readonly Func<bool>? _holdOff;
    private bool _holding;
    private long _holdCheckedAt;
    private const int HoldCheckMs = 10;
    // Every assigned partition's position is looked at this often (a transaction marker moves it without a record);
    // between, only those of the partitions that got records. Looking at all on every empty poll cost a core's 2.75%
    // per thousand idle partitions.
    private const int SettleAllMs = 1000;
    private long _settledAllAt;
    // Feeds that got records since the last empty poll (consume thread only).
    private readonly List<PartitionFeed> _unsettled = [];

    /// <param name="holdOff">While it says so, the reader holds off: no fetch, nothing buffered. Null: never.</param>
    /// <param name="statistics">Where it reports librdkafka's statistics; null: it does not.</param>
    public SharedSourceReader(string region, KafkaClusterOptions cluster, string localRegion, ILogger logger, Func<bool>? holdOff = null,
        KafkaClientStatistics? statistics = null)
    {
        _region = region;
        _logger = logger;
        _holdOff = holdOff;
        var config = cluster.BuildConfig(
            defaults: new Dictionary<string, string>
            {
                ["client.id"] = $"mesh-{localRegion}-reads-{region}",
                ["fetch.wait.max.ms"] = "50",
                ["fetch.min.bytes"] = "1",
                ["queued.max.messages.kbytes"] = "65536",
                ["socket.nagle.disable"] = "true",
            },
            required: new Dictionary<string, string>
            {
                // Assign-only: the group id is never joined and no offsets are committed to it;
                // progress lives in the destination's checkpoints.
                ["group.id"] = $"__mesh-{localRegion}-reader",
                ["enable.auto.commit"] = "false",
                ["enable.auto.offset.store"] = "false",
                ["enable.partition.eof"] = "false",
                // A checkpointed offset the source no longer has (retention ran ahead of the link,
                // or the source cluster lost its data) must stop the link, never silently skip.
                ["auto.offset.reset"] = "error",
                // Never replicate records of aborted transactions.
                ["isolation.level"] = "read_committed",
            });
        // Offsets are asked through a client of their own: a ListOffsets request waits its turn on the reading client's
        // broker thread, which with thousands of partitions assigned spends its time deciding what to fetch next (at 10,000
        // partitions each batch of offsets took seconds there; a client that fetches nothing answers in milliseconds).
        // Same settings, read_committed included, so its end is the last stable offset as the reader's would be.
        var offsetsConfig = new Dictionary<string, string>(config) { ["client.id"] = config["client.id"] + "-offsets" };
        statistics?.Enable(config);
        _offsets = new ConsumerBuilder<byte[]?, byte[]?>(offsetsConfig)
            .SetErrorHandler((_, e) => LogClientError(region, e.Code, e.Reason))
            .SetLogHandler((_, m) => { if (m.Level <= SyslogLevel.Warning) LogClientMessage(region, m.Message); })
            .Build();
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .ReportingTo(statistics)
            .SetErrorHandler((_, e) => LogClientError(region, e.Code, e.Reason))
            .SetLogHandler((_, m) => { if (m.Level <= SyslogLevel.Warning) LogClientMessage(region, m.Message); })
            .Build();
        _watermarks = new BatchedWatermarks(_offsets, TimeSpan.FromSeconds(10));
        _thread = new Thread(ConsumeLoop) { IsBackground = true, Name = $"mesh-reader-{region}" };
        _thread.Start();
    }

    public ISourcePartitionFeed Open(string topic, int partition, long startOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startOffset);
        var tp = new TopicPartition(topic, partition);
        var feed = new PartitionFeed(this, tp, startOffset);
        if (!_feeds.TryAdd(tp, feed))
            throw new InvalidOperationException($"{_region} {topic}/{partition} is already being read by this silo.");
        _commands.Enqueue(new Command(null, feed, startOffset));
        return feed;
    }

    /// <summary>
    /// Assigns the partitions opened since the last call in one go: a thousand replicators starting at once cost one
    /// assignment, not a thousand. A batch the consumer refuses is tried one by one, so each failure names its partition.
    /// </summary>
    private void AssignPending()
    {
        if (_assigns.Count == 0) return;
        try
        {
            Assign(_assigns);
        }
        catch (KafkaException) when (_assigns.Count > 1)
        {
            foreach (var one in _assigns)
            {
                try { Assign([one]); }
                catch (KafkaException e) { Refused(one, e); }
            }
        }
        catch (KafkaException e)
        {
            Refused(_assigns[0], e);
        }
        _assigns.Clear();

        void Assign(List<Command> assigns)
        {
            _consumer.IncrementalAssign(assigns.Select(a => new TopicPartitionOffset(a.Assign!.TopicPartition, new Offset(a.Offset))));
            // A pause set while an earlier feed of a partition was full outlives the unassign.
            _consumer.Resume(assigns.Select(a => a.Assign!.TopicPartition).ToList());
            foreach (var a in assigns) a.Assign!.Active = true;
        }

        // Never a silent stall: the replicator sees it and recovers.
        void Refused(Command assign, KafkaException e) =>
            assign.Assign!.Failure = $"assigning {_region} {assign.Assign.TopicPartition.Topic}/{assign.Assign.TopicPartition.Partition.Value} " +
                                     $"at offset {assign.Offset} failed: {e.Error.Reason}";
    }

    private void Close(PartitionFeed feed)
    {
        if (_feeds.TryRemove(new KeyValuePair<TopicPartition, PartitionFeed>(feed.TopicPartition, feed)))
            _commands.Enqueue(new Command(() => _consumer.IncrementalUnassign([feed.TopicPartition])));
    }

    private void ConsumeLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            while (_commands.TryDequeue(out var command))
            {
                if (command.Assign is not null)
                {
                    _assigns.Add(command);
                    continue;
                }
                AssignPending();
                try { command.Run!(); }
                catch (KafkaException e) { LogClientError(_region, e.Error.Code, e.Error.Reason); }
            }
            AssignPending();
            if (HoldOff()) continue;
            ConsumeResult<byte[]?, byte[]?>? result;
            try
            {
                result = _consumer.Consume(50);
            }
            catch (ConsumeException e)
            {
                if (e.ConsumerRecord?.TopicPartition is { } tp && _feeds.TryGetValue(tp, out var failed) && failed.Active)
                {
                    if (e.Error.Code is ErrorCode.OffsetOutOfRange or ErrorCode.Local_AutoOffsetReset)
                    {
                        RecoverFromOutOfRange(failed);
                        continue;
                    }
                    if (e.Error.Code is ErrorCode.TopicAuthorizationFailed)
                        failed.Error = $"reading {_region} {tp.Topic}/{tp.Partition.Value}: {e.Error.Reason}";
                }
                LogClientError(_region, e.Error.Code, e.Error.Reason);
                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            if (result is null)
            {
                SettlePositions();
                continue;
            }
            if (result.Message is null) continue;
            // Closed meanwhile, or a record fetched for an earlier feed of the partition before this one was assigned.
            if (!_feeds.TryGetValue(result.TopicPartition, out var feed) || !feed.Active) continue;
            if (!feed.Unsettled)
            {
                feed.Unsettled = true;
                _unsettled.Add(feed);
            }
            if (feed.Add(SourceRecords.From(result)) >= BufferHighWater && !feed.Paused)
            {
                feed.Paused = true;
                _consumer.Pause([result.TopicPartition]);
                // The replicator may have drained the buffer between the count above and the flag: it
                // saw no pause then, and nobody would resume an empty, paused partition. Look again.
                Interlocked.MemoryBarrier();
                if (feed.Buffered <= BufferLowWater)
                {
                    feed.Paused = false;
                    ResumeNow([result.TopicPartition]);
                }
            }
        }
    }

    /// <summary>
    /// Resumes partitions and makes their brokers' fetchers notice. A resume in librdkafka only clears a flag; the broker
    /// thread looks at it the next time it wakes, which, when every partition it fetches was paused (a backlog being
    /// drained: each partition's buffer full), is up to a second later (stalls of 0.8-1 s after resumes were measured
    /// before). Any request to the broker wakes it: the offsets of the resumed partitions are asked for, off this thread.
    /// </summary>
    private void ResumeNow(List<TopicPartition> partitions)
    {
        if (partitions.Count == 0) return;
        _consumer.Resume(partitions);
        ThreadPool.UnsafeQueueUserWorkItem(static state =>
        {
            var (consumer, partitions) = state;
            try
            {
                // One ListOffsets request per broker leading any of them; the answer itself is not needed.
                consumer.OffsetsForTimes(partitions.Select(tp => new TopicPartitionTimestamp(tp, new Timestamp(0, TimestampType.CreateTime))), KickTimeout);
            }
            catch (Exception e) when (e is KafkaException or ObjectDisposedException or InvalidOperationException)
            {
                // Only a wake-up: without it the fetcher notices on its own, later.
            }
        }, (_consumer, partitions), preferLocal: false);
    }

    private static readonly TimeSpan KickTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Pauses every assigned partition while <see cref="_holdOff"/> says so (again each turn: a feed drained below its
    /// low-water mark asks for its partition back) and resumes those not paused for a full buffer once it stops.
    /// </summary>
    private bool HoldOff()
    {
        if (_holdOff is null) return false;
        var now = Environment.TickCount64;
        if (!_holding && now - _holdCheckedAt < HoldCheckMs) return false;
        _holdCheckedAt = now;
        bool hold;
        try
        {
            hold = _holdOff();
            if (hold) _consumer.Pause(_consumer.Assignment);
            else if (_holding)
                ResumeNow(_consumer.Assignment.Where(tp => !_feeds.TryGetValue(tp, out var feed) || !feed.Paused).ToList());
        }
        catch (KafkaException e)
        {
            LogClientError(_region, e.Error.Code, e.Error.Reason);
            return false;
        }
        _holding = hold;
        if (hold) _stop.Token.WaitHandle.WaitOne(50);
        return hold;
    }

    /// <summary>
    /// Nothing came in this poll, so no record is between the consumer and its feed: each feed's consumer
    /// position is now past only records already in its buffer (or never delivered, such as transaction markers).
    /// </summary>
    private void SettlePositions()
    {
        var now = Environment.TickCount64;
        var all = now - _settledAllAt >= SettleAllMs;
        if (all) _settledAllAt = now;
        foreach (var feed in all ? _feeds.Values : _unsettled)
        {
            if (!feed.Active) continue;
            try
            {
                var position = _consumer.Position(feed.TopicPartition);
                if (!position.IsSpecial) feed.Settle(position.Value);
            }
            catch (KafkaException)
            {
                // Not assigned (yet, or any more): nothing settled.
            }
        }
        foreach (var feed in _unsettled) feed.Unsettled = false;
        _unsettled.Clear();
    }

    /// <summary>
    /// The next offset of a partition is not in the source's log. Records the source dropped
    /// (retention ran ahead of the link) become a gap in the feed, counted and logged by the
    /// replicator, and reading goes on at the log's start; a log that ends before the offset (the
    /// source lost its data, or the topic was re-created) is reported for the replicator to recover from.
    /// </summary>
    private void RecoverFromOutOfRange(PartitionFeed feed)
    {
        var tp = feed.TopicPartition;
        var next = feed.NextOffset;
        WatermarkOffsets watermarks;
        try
        {
            watermarks = _consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(5));
        }
        catch (KafkaException e)
        {
            // Cannot tell yet; try the same offset again, which fails the same way until the source answers.
            LogClientError(_region, e.Error.Code, e.Error.Reason);
            Reassign(feed, next);
            return;
        }
        if (next > watermarks.High.Value)
        {
            feed.LogEndedBefore = watermarks.High.Value;
            return;
        }
        if (watermarks.Low.Value > next)
        {
            feed.AddGap(new SourceGap(next, watermarks.Low.Value));
            next = watermarks.Low.Value;
        }
        Reassign(feed, next);
    }

    private void Reassign(PartitionFeed feed, long offset)
    {
        try
        {
            _consumer.IncrementalUnassign([feed.TopicPartition]);
            _consumer.IncrementalAssign([new TopicPartitionOffset(feed.TopicPartition, new Offset(offset))]);
        }
        catch (KafkaException e)
        {
            feed.Failure = $"re-assigning {_region} {feed.TopicPartition.Topic}/{feed.TopicPartition.Partition.Value} at offset {offset} failed: {e.Error.Reason}";
        }
    }

    /// <summary>A partition's offsets now (read_committed: the end is the last stable offset), asked together with other callers'.</summary>
    public async Task<SourceWatermarks> GetWatermarksAsync(string topic, int partition, CancellationToken cancellationToken)
    {
        var watermarks = await _watermarks.GetAsync(new TopicPartition(topic, partition), cancellationToken);
        return new SourceWatermarks(watermarks.Low.Value, watermarks.High.Value);
    }

    public void Dispose()
    {
        _watermarks.Dispose();
        _stop.Cancel();
        _thread.Join(TimeSpan.FromSeconds(5));
        try { _consumer.Close(); } catch (KafkaException) { }
        _consumer.Dispose();
        _offsets.Dispose();
    }

    // A record, or (Record null) a gap the source dropped before it was read.
    private readonly record struct FeedItem(SourceRecord? Record, SourceGap Gap);

    private sealed class PartitionFeed(SharedSourceReader reader, TopicPartition tp, long startOffset) : ISourcePartitionFeed
    {
        private readonly Channel<FeedItem> _records = Channel.CreateUnbounded<FeedItem>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
        private int _count;

        public TopicPartition TopicPartition { get; } = tp;

        /// <summary>The offset the reader expects next (consume thread only).</summary>
        public long NextOffset { get; private set; } = startOffset;
        public volatile bool Paused;
        /// <summary>Got records since the reader last settled positions (consume thread only).</summary>
        public bool Unsettled;

        private long _logEndedBefore = -1;

        public long? LogEndedBefore
        {
            get => Interlocked.Read(ref _logEndedBefore) is var end and >= 0 ? end : null;
            set
            {
                Interlocked.Exchange(ref _logEndedBefore, value ?? -1);
                Wake();
            }
        }

        private volatile string? _failure;

        /// <summary>A failure of the reader's own (not the source's) the replicator should recover from.</summary>
        public string? Failure
        {
            get => _failure;
            set
            {
                _failure = value;
                Wake();
            }
        }

        private volatile string? _error;

        public string? Error
        {
            get => _error;
            set
            {
                _error = value;
                Wake();
            }
        }

        private Action? _wake;

        public void WakeWhenReady(Action wake)
        {
            // A full fence before the look: a record added in between sees the wake, or the look sees the record.
            Interlocked.Exchange(ref _wake, wake);
            if (_records.Reader.TryPeek(out _) || _error is not null || _failure is not null || LogEndedBefore is not null) Wake();
        }

        private void Wake()
        {
            if (Volatile.Read(ref _wake) is not null && Interlocked.Exchange(ref _wake, null) is { } wake) wake();
        }

        /// <summary>Set on the reader thread once this feed's assignment is in place; records before that belong to an earlier reading.</summary>
        public volatile bool Active;

        public long? HighWatermark
        {
            get
            {
                try
                {
                    var high = reader._consumer.GetWatermarkOffsets(TopicPartition).High;
                    return high.IsSpecial ? null : high.Value;
                }
                catch (Exception e) when (e is KafkaException or ObjectDisposedException)
                {
                    return null;
                }
            }
        }

        private long _settled = -1;

        /// <summary>
        /// The consumer's position as the reader thread last saw it between records (see <c>SettlePositions</c>): asked
        /// from another thread, the consumer's own position can be past a record it returned that is not buffered yet.
        /// </summary>
        public long? Position => Interlocked.Read(ref _settled) is var position and >= 0 ? position : null;

        public void Settle(long position) => Interlocked.Exchange(ref _settled, position);

        public int Buffered => Volatile.Read(ref _count);

        public int Add(SourceRecord record)
        {
            _records.Writer.TryWrite(new FeedItem(record, default));
            NextOffset = record.Offset + 1;
            var count = Interlocked.Increment(ref _count); // also the fence between the write and the look at _wake
            Wake();
            return count;
        }

        public void AddGap(SourceGap gap)
        {
            _records.Writer.TryWrite(new FeedItem(null, gap));
            NextOffset = gap.To;
            Interlocked.Increment(ref _count);
            Wake();
        }

        public async ValueTask<bool> WaitForRecordsAsync(TimeSpan maxWait, CancellationToken cancellationToken)
        {
            if (_records.Reader.TryPeek(out _)) return true;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(maxWait);
            try
            {
                return await _records.Reader.WaitToReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }

        public int Drain(List<SourceRecord> into, int max, out SourceGap? gap)
        {
            gap = null;
            var taken = 0;
            var items = 0;
            while (taken < max && _records.Reader.TryRead(out var item))
            {
                items++;
                if (item.Record is null)
                {
                    gap = item.Gap;
                    break;
                }
                into.Add(item.Record);
                taken++;
            }
            var left = Interlocked.Add(ref _count, -items);
            if (Paused && left <= BufferLowWater)
            {
                Paused = false;
                reader._commands.Enqueue(new Command(() => reader.ResumeNow([TopicPartition])));
            }
            return taken;
        }

        public void Dispose()
        {
            Volatile.Write(ref _wake, null);
            reader.Close(this);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka reader for {Region}: {Code} {Reason}")]
    private partial void LogClientError(string region, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka reader for {Region}: {Message}")]
    private partial void LogClientMessage(string region, string message);
}
