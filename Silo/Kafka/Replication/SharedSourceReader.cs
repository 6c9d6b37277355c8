using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Mesh.Core.Replication;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Logging;

namespace Mesh.Kafka.Replication;

/// <summary>What the shared source reader's lanes mean to those who measure a silo (the bench).</summary>
public static class SourceReaderLanes
{
    /// <summary>How long a partition with no record stays on the hot lane (after the hot lane's last new assignment).</summary>
    public static readonly TimeSpan CoolAfter = TimeSpan.FromSeconds(30);
}

/// <summary>
/// One reader per silo per source cluster, shared by every partition replicator that reads that cluster. Partitions are
/// assigned by hand (no consumer group, so no rebalances). It reads through two consumers, each on a thread of its own
/// that hands each record to its partition's buffer:
/// <list type="bullet">
/// <item>the <em>hot</em> lane holds partitions that got records lately, with a short fetch wait (50 ms);</item>
/// <item>the <em>cold</em> lane holds partitions idle for <see cref="SourceReaderLanes.CoolAfter"/>, with a fetch wait of a second.
/// A fetch names every partition its consumer holds; 10,000 idle partitions fetched every 50 ms kept a core's 25% busy in
/// librdkafka alone, every 500 ms (Kafka's default wait) 2.7%, every second about half that. A cold partition hands its records over as they come; one that turns
/// busy (<see cref="WarmRecords"/> within a second) moves back to the hot lane.</item>
/// </list>
/// Moving partitions is not free: librdkafka's broker thread looks at every partition it holds each time it wakes, and an
/// assignment wakes it many times, so moving 10,000 partitions costs it about 25 s of a core. Partitions therefore go cold
/// only after a long idle and only once the hot lane has taken no new assignment for as long (a silo still starting its
/// replicators does not also move the first ones away). Either lane pauses a partition whose buffer is full.
/// On Apache Kafka a broker answers a waiting fetch as soon as a record arrives, so the cold lane costs no latency; the
/// embedded Kafka holds an empty fetch for its whole wait, so there a record in a cold partition can take up to a second when
/// none of its broker's other cold partitions has one.
/// </summary>
internal sealed partial class SharedSourceReader : IDisposable
{
    private const int BufferHighWater = 4000;
    private const int BufferLowWater = 1000;
    private readonly long _coolAfterMs;
    private const int CoolCheckMs = 1000;
    private const int HotFetchWaitMs = 50;
    // A cold partition that hands over this many records within this span moves back to the hot lane.
    internal const int WarmRecords = 200;
    private const int WarmWindowMs = 1000;
    private const int ColdFetchWaitMs = 1000;

    private readonly Lane _hot;
    private readonly Lane _cold;
    private readonly IConsumer<byte[]?, byte[]?> _offsets;
    // Every replicator's recovery asks its partition's offsets; thousands at once are a few batched requests.
    private readonly BatchedWatermarks _watermarks;
    private readonly ConcurrentDictionary<TopicPartition, PartitionFeed> _feeds = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly string _region;
    private readonly ILogger _logger;

    // While true the reader fetches nothing (every partition paused), so that what it would read waits in Kafka rather
    // than in this process. Asked every HoldCheckMs, not before every poll: a poll returns one record.
    private readonly Func<bool>? _holdOff;
    private const int HoldCheckMs = 10;

    /// <param name="holdOff">While it says so, the reader holds off: no fetch, nothing buffered. Null: never.</param>
    /// <param name="statistics">Where it reports librdkafka's statistics; null: it does not.</param>
    /// <param name="coolAfter">How long a partition (and the hot lane's assignments) must be idle before it goes cold; default <see cref="SourceReaderLanes.CoolAfter"/>.</param>
    public SharedSourceReader(string region, KafkaClusterOptions cluster, string localRegion, ILogger logger, Func<bool>? holdOff = null,
        KafkaClientStatistics? statistics = null, TimeSpan? coolAfter = null)
    {
        _coolAfterMs = (long)(coolAfter ?? SourceReaderLanes.CoolAfter).TotalMilliseconds;
        _region = region;
        _logger = logger;
        _holdOff = holdOff;
        var config = cluster.BuildConfig(
            defaults: new Dictionary<string, string>
            {
                ["client.id"] = $"mesh-{localRegion}-reads-{region}",
                ["fetch.wait.max.ms"] = HotFetchWaitMs.ToString(CultureInfo.InvariantCulture),
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
        // The cold lane waits a second for a fetch to fill (at least what is configured), and buffers less ahead: what it reads moves on.
        var configuredWait = int.TryParse(config["fetch.wait.max.ms"], CultureInfo.InvariantCulture, out var wait) ? wait : HotFetchWaitMs;
        var coldConfig = new Dictionary<string, string>(config)
        {
            ["client.id"] = config["client.id"] + "-idle",
            ["fetch.wait.max.ms"] = Math.Max(ColdFetchWaitMs, configuredWait).ToString(CultureInfo.InvariantCulture),
            ["queued.max.messages.kbytes"] = "16384",
        };
        statistics?.Enable(config);
        statistics?.Enable(coldConfig);
        _offsets = new ConsumerBuilder<byte[]?, byte[]?>(offsetsConfig)
            .SetErrorHandler((_, e) => LogClientError(region, e.Code, e.Reason))
            .SetLogHandler((_, m) => { if (m.Level <= SyslogLevel.Warning) LogClientMessage(region, m.Message); })
            .Build();
        _watermarks = new BatchedWatermarks(_offsets, TimeSpan.FromSeconds(10));
        _hot = new Lane(this, cold: false, Build(config));
        _cold = new Lane(this, cold: true, Build(coldConfig));
        _hot.Start();
        _cold.Start();

        IConsumer<byte[]?, byte[]?> Build(Dictionary<string, string> settings) =>
            new ConsumerBuilder<byte[]?, byte[]?>(settings)
                .ReportingTo(statistics)
                .SetErrorHandler((_, e) => LogClientError(region, e.Code, e.Reason))
                .SetLogHandler((_, m) => { if (m.Level <= SyslogLevel.Warning) LogClientMessage(region, m.Message); })
                .Build();
    }

    /// <summary>Partitions on the cold lane now (tests and diagnostics).</summary>
    internal int ColdPartitions => _feeds.Values.Count(f => f.AssignedIn == _cold);

    /// <summary>Partitions moved between the lanes so far, each way (tests and diagnostics).</summary>
    internal (long Cooled, long Warmed) Moves => (Interlocked.Read(ref _hot.Moved), Interlocked.Read(ref _cold.Moved));

    public ISourcePartitionFeed Open(string topic, int partition, long startOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startOffset);
        var tp = new TopicPartition(topic, partition);
        // A new reading starts hot: a replicator opens its feed to read (a backlog, or what its recovery found).
        var feed = new PartitionFeed(this, tp, startOffset, _hot);
        if (!_feeds.TryAdd(tp, feed))
            throw new InvalidOperationException($"{_region} {topic}/{partition} is already being read by this silo.");
        _hot.Commands.Enqueue(Command.AssignAt(feed, startOffset));
        return feed;
    }

    private void Close(PartitionFeed feed)
    {
        feed.Closed = true;
        if (_feeds.TryRemove(new KeyValuePair<TopicPartition, PartitionFeed>(feed.TopicPartition, feed)))
            feed.Owner.Commands.Enqueue(Command.Unassign(feed));
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
        _hot.Dispose();
        _cold.Dispose();
        _offsets.Dispose();
    }

    private static readonly TimeSpan KickTimeout = TimeSpan.FromSeconds(5);

    // An assignment, an unassignment, or anything else (Run) for a lane's thread, in queue order.
    private readonly record struct Command(PartitionFeed? Assign, PartitionFeed? Release, long Offset, Action? Run)
    {
        public static Command AssignAt(PartitionFeed feed, long offset) => new(feed, null, offset, null);
        public static Command Unassign(PartitionFeed feed) => new(null, feed, 0, null);
        public static Command Do(Action run) => new(null, null, 0, run);
    }

    /// <summary>One consumer and the thread that polls it; only that thread touches its assignment.</summary>
    private sealed class Lane : IDisposable
    {
        private readonly SharedSourceReader _reader;
        private readonly Thread _thread;
        // Assignments next to each other in the queue, made in one call.
        private readonly List<(PartitionFeed Feed, long Offset)> _assigns = [];
        // Feeds that got records since the last empty poll.
        private readonly List<PartitionFeed> _unsettled = [];
        // Cold lane: feeds that got a record, to move to the hot lane together. Hot lane: feeds idle long enough to cool.
        private readonly List<PartitionFeed> _moving = [];
        private long _movingSince;
        private long _cooledAt;
        private long _assignedAt;
        private bool _holding;
        private long _holdCheckedAt;
        private long _settledAllAt;
        public long Moved;

        public Lane(SharedSourceReader reader, bool cold, IConsumer<byte[]?, byte[]?> consumer)
        {
            _reader = reader;
            IsCold = cold;
            Consumer = consumer;
            _thread = new Thread(ConsumeLoop) { IsBackground = true, Name = $"mesh-reader-{reader._region}" + (cold ? "-idle" : "") };
        }

        public bool IsCold { get; }
        public IConsumer<byte[]?, byte[]?> Consumer { get; }
        public ConcurrentQueue<Command> Commands { get; } = new();

        // Every assigned partition's position is looked at this often (a transaction marker moves it without a record);
        // between, only those of the partitions that got records. Looking at all on every empty poll cost a core's 2.75%
        // per thousand idle partitions; the cold lane's positions move seldom, so it looks less often.
        private int SettleAllMs => IsCold ? 5000 : 1000;

        public void Start() => _thread.Start();

        private void ConsumeLoop()
        {
            var stop = _reader._stop.Token;
            while (!stop.IsCancellationRequested)
            {
                while (Commands.TryDequeue(out var command))
                {
                    if (command.Assign is { } assign)
                    {
                        _assigns.Add((assign, command.Offset));
                        continue;
                    }
                    AssignPending();
                    try
                    {
                        if (command.Release is { } release) Release(release);
                        else command.Run!();
                    }
                    catch (KafkaException e) { _reader.LogClientError(_reader._region, e.Error.Code, e.Error.Reason); }
                }
                AssignPending();
                if (HoldOff()) continue;
                if (IsCold) WarmPending(force: false);
                else CoolIdle();
                ConsumeResult<byte[]?, byte[]?>? result;
                try
                {
                    result = Consumer.Consume(IsCold ? 100 : 50);
                }
                catch (ConsumeException e)
                {
                    if (e.ConsumerRecord?.TopicPartition is { } tp && _reader._feeds.TryGetValue(tp, out var failed) && failed.AssignedIn == this)
                    {
                        if (e.Error.Code is ErrorCode.OffsetOutOfRange or ErrorCode.Local_AutoOffsetReset)
                        {
                            RecoverFromOutOfRange(failed);
                            continue;
                        }
                        if (e.Error.Code is ErrorCode.TopicAuthorizationFailed)
                            failed.Error = $"reading {_reader._region} {tp.Topic}/{tp.Partition.Value}: {e.Error.Reason}";
                    }
                    _reader.LogClientError(_reader._region, e.Error.Code, e.Error.Reason);
                    continue;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
                if (result is null)
                {
                    if (IsCold) WarmPending(force: true);
                    SettlePositions();
                    continue;
                }
                if (result.Message is null) continue;
                // Closed meanwhile, moved to the other lane, or a record fetched for an earlier feed of the partition.
                if (!_reader._feeds.TryGetValue(result.TopicPartition, out var feed) || feed.AssignedIn != this) continue;
                if (!feed.Unsettled)
                {
                    feed.Unsettled = true;
                    _unsettled.Add(feed);
                }
                var now = Environment.TickCount64;
                feed.LastRecordAt = now;
                var buffered = feed.Add(SourceRecords.From(result));
                // A cold partition reads its records where it is; only one that turns busy moves back to the hot lane (with
                // the others that turned busy meanwhile). A load spread thinly over thousands of cold partitions stays
                // there: moving them all would cost more than it saves.
                if (IsCold && feed.CountColdRecord(now) && !feed.Warming)
                {
                    feed.Warming = true;
                    if (_moving.Count == 0) _movingSince = now;
                    _moving.Add(feed);
                }
                if (buffered >= BufferHighWater && !feed.Paused)
                {
                    feed.Paused = true;
                    Consumer.Pause([result.TopicPartition]);
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
        /// Assigns the partitions queued since the last call in one go: a thousand replicators starting at once cost one
        /// assignment, not a thousand. A batch the consumer refuses is tried one by one, so each failure names its partition.
        /// A feed closed before its turn is left out.
        /// </summary>
        private void AssignPending()
        {
            if (_assigns.Count == 0) return;
            var feeds = _assigns.Where(a => !a.Feed.Closed).ToList();
            _assigns.Clear();
            if (feeds.Count == 0) return;
            try
            {
                Assign(feeds);
            }
            catch (KafkaException) when (feeds.Count > 1)
            {
                foreach (var one in feeds)
                {
                    try { Assign([one]); }
                    catch (KafkaException e) { Refused(one, e); }
                }
            }
            catch (KafkaException e)
            {
                Refused(feeds[0], e);
            }

            void Assign(List<(PartitionFeed Feed, long Offset)> assigns)
            {
                Consumer.IncrementalAssign(assigns.Select(a => new TopicPartitionOffset(a.Feed.TopicPartition, new Offset(a.Offset))));
                // A pause set while an earlier reading of a partition was full outlives the unassign.
                Consumer.Resume(assigns.Select(a => a.Feed.TopicPartition).ToList());
                var now = Environment.TickCount64;
                _assignedAt = now;
                foreach (var a in assigns)
                {
                    a.Feed.LastRecordAt = now;
                    // Every record before the offset is in the feed already (or was never its to read): until this consumer
                    // fetches, it reports no position of its own.
                    a.Feed.Settle(a.Offset);
                    a.Feed.AssignedIn = this;
                }
            }

            // Never a silent stall: the replicator sees it and recovers.
            void Refused((PartitionFeed Feed, long Offset) assign, KafkaException e) =>
                assign.Feed.Failure = $"assigning {_reader._region} {assign.Feed.TopicPartition.Topic}/{assign.Feed.TopicPartition.Partition.Value} " +
                                      $"at offset {assign.Offset} failed: {e.Error.Reason}";
        }

        /// <summary>A closed feed's partition: let go here, or where the feed has moved meanwhile.</summary>
        private void Release(PartitionFeed feed)
        {
            if (feed.AssignedIn == this)
            {
                feed.AssignedIn = null;
                Consumer.IncrementalUnassign([feed.TopicPartition]);
            }
            else if (feed.Owner != this)
            {
                feed.Owner.Commands.Enqueue(Command.Unassign(feed));
            }
        }

        /// <summary>
        /// Hot lane: every <see cref="CoolCheckMs"/>, once no assignment came for the cool-after span, partitions without a
        /// record for as long (and not paused) go cold.
        /// </summary>
        private void CoolIdle()
        {
            var now = Environment.TickCount64;
            if (now - _cooledAt < CoolCheckMs) return;
            _cooledAt = now;
            var after = _reader._coolAfterMs;
            if (now - _assignedAt < after) return;
            foreach (var feed in _reader._feeds.Values)
                if (feed.AssignedIn == this && !feed.Paused && !feed.Closed && now - feed.LastRecordAt >= after)
                    _moving.Add(feed);
            MoveTo(_reader._cold);
        }

        /// <summary>Cold lane: the partitions that turned busy move to the hot lane, at once when a poll came back empty,
        /// else once 500 have gathered or 20 ms have passed.</summary>
        private void WarmPending(bool force)
        {
            if (_moving.Count == 0) return;
            if (!force && _moving.Count < 500 && Environment.TickCount64 - _movingSince < 20) return;
            foreach (var feed in _moving) feed.Warming = false;
            MoveTo(_reader._hot);
        }

        /// <summary>
        /// Unassigns <see cref="_moving"/> here and queues their assignment on <paramref name="to"/>, each at the offset after
        /// the last record its feed got (or its settled position, when a transaction marker lies beyond): what this lane's
        /// consumer fetched past that and had not handed over is dropped with the assignment and read again there.
        /// </summary>
        private void MoveTo(Lane to)
        {
            if (_moving.Count == 0) return;
            // Never a paused one: its new lane would read on into a full buffer.
            var moving = _moving.Where(f => f.AssignedIn == this && !f.Closed && !f.Paused).ToList();
            _moving.Clear();
            if (moving.Count == 0) return;
            try
            {
                Consumer.IncrementalUnassign(moving.Select(f => f.TopicPartition).ToList());
            }
            catch (KafkaException e)
            {
                // Still assigned here: they stay, and are looked at again later.
                _reader.LogClientError(_reader._region, e.Error.Code, e.Error.Reason);
                return;
            }
            foreach (var feed in moving)
            {
                feed.AssignedIn = null;
                feed.Owner = to;
                to.Commands.Enqueue(Command.AssignAt(feed, Math.Max(feed.NextOffset, feed.Position ?? 0)));
            }
            Interlocked.Add(ref Moved, moving.Count);
        }

        /// <summary>
        /// Resumes partitions and makes their brokers' fetchers notice. A resume in librdkafka only clears a flag; the broker
        /// thread looks at it the next time it wakes, which, when every partition it fetches was paused (a backlog being
        /// drained: each partition's buffer full), is up to a second later (stalls of 0.8-1 s after resumes were measured
        /// before). Any request to the broker wakes it: the offsets of the resumed partitions are asked for, off this thread.
        /// </summary>
        public void ResumeNow(List<TopicPartition> partitions)
        {
            if (partitions.Count == 0) return;
            Consumer.Resume(partitions);
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
            }, (Consumer, partitions), preferLocal: false);
        }

        /// <summary>
        /// Pauses every assigned partition while the reader's hold-off says so (again each turn: a feed drained below its
        /// low-water mark asks for its partition back) and resumes those not paused for a full buffer once it stops.
        /// </summary>
        private bool HoldOff()
        {
            if (_reader._holdOff is null) return false;
            var now = Environment.TickCount64;
            if (!_holding && now - _holdCheckedAt < HoldCheckMs) return false;
            _holdCheckedAt = now;
            bool hold;
            try
            {
                hold = _reader._holdOff();
                if (hold) Consumer.Pause(Consumer.Assignment);
                else if (_holding)
                    ResumeNow(Consumer.Assignment.Where(tp => !_reader._feeds.TryGetValue(tp, out var feed) || !feed.Paused).ToList());
            }
            catch (KafkaException e)
            {
                _reader.LogClientError(_reader._region, e.Error.Code, e.Error.Reason);
                return false;
            }
            _holding = hold;
            if (hold) _reader._stop.Token.WaitHandle.WaitOne(50);
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
            foreach (var feed in all ? _reader._feeds.Values : _unsettled)
            {
                if (feed.AssignedIn != this) continue;
                try
                {
                    var position = Consumer.Position(feed.TopicPartition);
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
                watermarks = Consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(5));
            }
            catch (KafkaException e)
            {
                // Cannot tell yet; try the same offset again, which fails the same way until the source answers.
                _reader.LogClientError(_reader._region, e.Error.Code, e.Error.Reason);
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
                Consumer.IncrementalUnassign([feed.TopicPartition]);
                Consumer.IncrementalAssign([new TopicPartitionOffset(feed.TopicPartition, new Offset(offset))]);
            }
            catch (KafkaException e)
            {
                feed.Failure = $"re-assigning {_reader._region} {feed.TopicPartition.Topic}/{feed.TopicPartition.Partition.Value} at offset {offset} failed: {e.Error.Reason}";
            }
        }

        public void Dispose()
        {
            _thread.Join(TimeSpan.FromSeconds(5));
            try { Consumer.Close(); } catch (KafkaException) { }
            Consumer.Dispose();
        }
    }

    // A record, or (Record null) a gap the source dropped before it was read.
    private readonly record struct FeedItem(SourceRecord? Record, SourceGap Gap);

    private sealed class PartitionFeed(SharedSourceReader reader, TopicPartition tp, long startOffset, Lane owner) : ISourcePartitionFeed
    {
        private readonly Channel<FeedItem> _records = Channel.CreateUnbounded<FeedItem>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
        private int _count;

        public TopicPartition TopicPartition { get; } = tp;

        /// <summary>The offset the reader expects next (the owning lane's thread only).</summary>
        public long NextOffset { get; private set; } = startOffset;
        /// <summary>Paused by its lane for a full buffer; it does not change lanes while paused.</summary>
        public volatile bool Paused;
        /// <summary>Got records since its lane last settled positions (the owning lane's thread only).</summary>
        public bool Unsettled;
        /// <summary>Got a record on the cold lane and waits to move to the hot one (cold lane's thread only).</summary>
        public bool Warming;
        /// <summary>When it last got a record or was assigned (<see cref="Environment.TickCount64"/>).</summary>
        public long LastRecordAt;
        private long _coldWindowStart;
        private int _coldWindowRecords;

        /// <summary>
        /// Counts a record the cold lane handed over (cold lane's thread only): true once the partition has had
        /// <see cref="WarmRecords"/> within <see cref="WarmWindowMs"/>, busy enough to move to the hot lane.
        /// </summary>
        public bool CountColdRecord(long now)
        {
            if (now - _coldWindowStart > WarmWindowMs)
            {
                _coldWindowStart = now;
                _coldWindowRecords = 0;
            }
            return ++_coldWindowRecords >= WarmRecords;
        }

        /// <summary>The lane that reads it, or is about to (changed only by the lane that gives it up).</summary>
        public volatile Lane Owner = owner;
        /// <summary>The lane whose consumer holds its assignment now; null between lanes and before the first assignment.</summary>
        public volatile Lane? AssignedIn;
        /// <summary>Disposed by its replicator: never assigned again.</summary>
        public volatile bool Closed;

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

        public long? HighWatermark
        {
            get
            {
                try
                {
                    if (AssignedIn is not { } lane) return null;
                    var high = lane.Consumer.GetWatermarkOffsets(TopicPartition).High;
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
        /// The consumer's position as its lane's thread last saw it between records (see <c>SettlePositions</c>): asked
        /// from another thread, the consumer's own position can be past a record it returned that is not buffered yet.
        /// It never goes back: a lane that took the partition over starts where the feed had got to.
        /// </summary>
        public long? Position => Interlocked.Read(ref _settled) is var position and >= 0 ? position : null;

        public void Settle(long position)
        {
            if (position > Interlocked.Read(ref _settled)) Interlocked.Exchange(ref _settled, position);
        }

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
                // A paused feed stays in its lane; should it move once unpaused, its assignment in the other lane resumes it.
                var lane = Owner;
                lane.Commands.Enqueue(Command.Do(() => { if (AssignedIn == lane) lane.ResumeNow([TopicPartition]); }));
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
