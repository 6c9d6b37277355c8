using Mesh.Core.Backup;
using Mesh.Core.Backup.Archiving;
using Mesh.Core.Offsets;
using Mesh.Core.Replication;
using Mesh.Core.Topology;
using Mesh.Grains.Options;
using Mesh.Grains.Ports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Placement;

namespace Mesh.Grains.Backup;

/// <summary>
/// Drives the <see cref="PartitionArchiver"/> of one partition of the region on a timer: reads the partition
/// through the silo's shared backup reader, refreshes the tips of the other origins' chains, appends due
/// segments, takes streams over when their own backup stops, checkpoints, and keeps the topic's configs
/// and the named groups' positions. A store or Kafka failure is logged and retried on the next turn: the
/// backup falling behind never touches replication.
/// </summary>
[RandomPlacement] // archivers spread over the region's silos; a dead silo's share re-activates on the others
public sealed partial class PartitionArchiverGrain(
    IBackupFeeds feeds,
    IBackupCheckpoints checkpoints,
    IBackupStores stores,
    IGroupPositions groups,
    IRegionIdentity identity,
    ITopicCatalog catalog,
    ITopicDescriptions descriptions,
    BackupReadShare share,
    IOptions<ReplicationOptions> options,
    TimeProvider time,
    ILogger<PartitionArchiverGrain> logger) : Grain, IPartitionArchiverGrain
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Soon = TimeSpan.FromMilliseconds(5);
    // The reader fills a partition's buffer at the pace Kafka delivers; a turn that found it nearly empty waits this long
    // for a batch worth a turn. (Turns 5 ms apart that took a few dozen records each spent a silo's CPU on timers, locks
    // and turn overhead instead of records.)
    private static readonly TimeSpan Gather = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan TurnBudget = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan TipRefreshInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan CheckpointInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ConfigInterval = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(5);
    private const int DrainBatch = 2000;
    // Setting up (store, chains, watermarks, checkpoint) waits while replication has a backlog, but not forever: the floor's promise.
    private static readonly TimeSpan MaxSetupDeferral = TimeSpan.FromSeconds(30);

    private string _key = "";
    private string _region = "";
    private string _topic = "";
    private int _partition;
    private BackupAssignment? _assignment;
    private IGrainTimer? _timer;
    private ProvenanceSigner? _signer;

    // One run: set up by StartAsync, dropped by Reset.
    private PartitionArchiver? _archiver;
    private IBackupStore? _store;
    private SegmentKey? _segmentKey;
    private string _incarnation = "";
    private ISourcePartitionFeed? _feed;
    private readonly Dictionary<BackupStream, StreamChain> _chains = [];
    private readonly List<SourceRecord> _batch = [];
    private long _lastRefresh, _lastCheckpoint, _lastGroups, _lastConfig;
    private bool _configChecked;
    private string? _checkpointWritten;
    private TopicConfigSnapshot? _latestConfig;
    private readonly Dictionary<string, long> _groupsWritten = new(StringComparer.Ordinal);
    private long _retryAt;
    private long _assignedAt;
    private long _stale;
    private string? _error;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _key = this.GetPrimaryKeyString();
        (_region, _topic, _partition) = GrainKeys.ParseRegionPartition(_key);
        _signer = options.Value.Keys?.CreateSigner();
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await FlushAndResetAsync(cancellationToken);
        _signer?.Dispose();
    }

    public async Task EnsureRunningAsync(BackupAssignment assignment)
    {
        if (_assignment is { } current && current.SameAs(assignment))
        {
            _assignment = assignment;
            return;
        }
        // Timer turns do not interleave with this call: the old run is settled here.
        if (_assignment is not null) await FlushAndResetAsync(CancellationToken.None);
        _assignment = assignment;
        _assignedAt = time.GetTimestamp();
        _error = null;
        _retryAt = 0;
        if (_timer is null)
            _timer = this.RegisterGrainTimer(TurnAsync, new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = Tick, KeepAlive = true });
        else
            _timer.Change(TimeSpan.Zero, Tick);
    }

    public async Task StopAsync()
    {
        await FlushAndResetAsync(CancellationToken.None);
        _timer?.Dispose();
        _timer = null;
        _assignment = null;
        DeactivateOnIdle();
    }

    public Task<ArchiverStatus> GetStatusAsync()
    {
        var progress = _archiver?.Progress;
        long? lag = _feed?.HighWatermark is { } high && progress is not null ? Math.Max(0, high - progress.Position) : null;
        return Task.FromResult(new ArchiverStatus(_topic, _partition, _archiver is not null, progress?.Position ?? 0, lag,
            progress?.RecordsWritten ?? 0, progress?.BytesWritten ?? 0, progress?.SegmentsWritten ?? 0, progress?.RacesLost ?? 0,
            progress?.TakeOvers ?? 0, progress?.GapRecords ?? 0, progress?.Buffered ?? 0, progress?.Watched ?? 0, progress?.TakenOver ?? 0, _error));
    }

    private async Task TurnAsync(CancellationToken cancellationToken)
    {
        if (_assignment is not { } assignment || time.GetTimestamp() < _retryAt) return;
        // Replication first, from the start: a silo's archivers setting up at once (store listings, watermarks, checkpoints)
        // compete with its replicators starting, so they wait while those catch up.
        if (_archiver is null && share.Yielding && time.GetElapsedTime(_assignedAt) < MaxSetupDeferral) return;
        try
        {
            if (_archiver is null) await StartAsync(assignment, cancellationToken);
            var archiver = _archiver!;
            var next = await ReadAsync(archiver, assignment, cancellationToken);
            if (time.GetElapsedTime(_lastRefresh) >= TipRefreshInterval || archiver.Unrefreshed.Count > 0)
            {
                await RefreshTipsAsync(archiver, cancellationToken);
                _lastRefresh = time.GetTimestamp();
                if (archiver.TakeOver() is { } rewind)
                {
                    LogTakeOver(_key, rewind, TimeSpan.FromSeconds(assignment.TakeOverSeconds).TotalSeconds);
                    Reopen(archiver.Position);
                }
            }
            await AppendAsync(archiver, flush: false, cancellationToken);
            if (time.GetElapsedTime(_lastCheckpoint) >= CheckpointInterval) await CheckpointAsync(archiver, cancellationToken);
            // With no group to snapshot, the positions are never asked for: kept to nothing.
            if (assignment.Groups.Count == 0) archiver.Positions.Forget(archiver.Position);
            else if (time.GetElapsedTime(_lastGroups) >= TimeSpan.FromSeconds(assignment.GroupIntervalSeconds))
            {
                _lastGroups = time.GetTimestamp();
                await SnapshotGroupsAsync(archiver, assignment, cancellationToken);
            }
            if (_partition == 0 && (!_configChecked || time.GetElapsedTime(_lastConfig) >= ConfigInterval))
            {
                _lastConfig = time.GetTimestamp();
                await SnapshotConfigAsync(cancellationToken);
            }
            if (_error is not null) LogRecovered(_key);
            _error = null;
            // More to read and free to read it: the next turn comes sooner than a tick, or a catch-up would read one
            // buffer's worth per tick (the reader holds only so much of each partition for it).
            if (next is { } due) _timer?.Change(due, Tick);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var message = e is ArgumentException or BackupStoreException ? e.Message : e.GetBaseException().Message;
            if (message != _error) LogFailed(e, _key, message);
            _error = message;
            _retryAt = time.GetTimestamp() + (long)(RetryAfterFailure.TotalSeconds * time.TimestampFrequency);
            // A failure while setting up starts over; one while running keeps what is buffered and reads again from
            // its position, so that records drained and not taken are read again rather than lost.
            if (_archiver is null) Reset();
            else
            {
                try { Reopen(_archiver.Position); }
                catch (Exception reopen) when (reopen is not OperationCanceledException) { LogFailed(reopen, _key, reopen.Message); }
            }
        }
    }

    private async Task StartAsync(BackupAssignment assignment, CancellationToken cancellationToken)
    {
        _store = stores.Open(assignment.Store);
        _segmentKey = stores.Key(assignment.EncryptionKeyEnv);
        await BackupCatalog.EnsureDescriptorAsync(_store, _segmentKey, time, cancellationToken);
        _incarnation = await identity.IncarnationAsync(_region, cancellationToken);
        var settings = new ArchiverSettings(assignment.SegmentBytes, TimeSpan.FromSeconds(assignment.SegmentSeconds), TimeSpan.FromSeconds(assignment.TakeOverSeconds));
        var archiver = new PartitionArchiver(_region, _incarnation, _topic, _partition, settings, time);
        var own = await StreamChain.LoadAsync(_store, archiver.OwnStream, cancellationToken);
        _chains[archiver.OwnStream] = own;
        var watermarks = await feeds.GetWatermarksAsync(_topic, _partition, cancellationToken);
        var checkpoint = await checkpoints.ReadAsync(_topic, _partition, cancellationToken);
        var start = archiver.Start(own.NextOffset, watermarks.Low, checkpoint);
        _feed = feeds.Open(_topic, _partition, start);
        _archiver = archiver;
        _lastRefresh = _lastCheckpoint = _lastGroups = time.GetTimestamp();
        LogStarted(_key, _store.Description, start, watermarks.Low, watermarks.High, own.NextOffset, checkpoint is null ? "none" : checkpoint.Encode());
    }

    private void Reopen(long offset)
    {
        _feed?.Dispose();
        _batch.Clear();
        _feed = feeds.Open(_topic, _partition, offset);
    }

    /// <returns>
    /// When the next turn should come, if sooner than the tick: at once when records are waiting (the turn ended on its
    /// budget or took full batches), after <see cref="Gather"/> when the log's end is past where the reader stands but its
    /// buffer was nearly empty; null for the regular tick.
    /// </returns>
    private async Task<TimeSpan?> ReadAsync(PartitionArchiver archiver, BackupAssignment assignment, CancellationToken cancellationToken)
    {
        var feed = _feed!;
        if (feed.Error is { } error) throw new InvalidOperationException($"reading {_region} {_topic}/{_partition}: {error}");
        if (feed.Failure is { } failure)
        {
            Reopen(archiver.Position);
            throw new InvalidOperationException(failure);
        }
        if (feed.LogEndedBefore is { } end)
        {
            // The region's Kafka came back empty (a new incarnation) or the topic was re-created: start over on what is there now.
            LogLogEnded(_key, end, archiver.Position);
            await FlushAndResetAsync(cancellationToken);
            return null;
        }
        var naming = assignment.PrefixNaming ? NamingPolicy.Prefix : NamingPolicy.Identity;
        var started = time.GetTimestamp();
        long? reached = null;
        var took = 0;
        if (feed.HighWatermark is { } logEnd) archiver.Behind(logEnd);
        while (time.GetElapsedTime(started) < TurnBudget)
        {
            // The reader's position is past every record it has buffered: it may only be taken as reached once
            // those are drained (a turn that ends on its budget leaves some), else they would count as never delivered.
            var position = feed.Position;
            // Replication first: while this silo's replicators catch up, the archivers share a floor (BackupReadShare).
            // While the own stream waits for another region to fill a gap, what it reads stays in memory: a batch is enough.
            if (archiver.WaitingForFill && archiver.Progress.Buffered >= DrainBatch) break;
            var allowed = share.Take(DrainBatch);
            if (allowed == 0) break;
            _batch.Clear();
            feed.Drain(_batch, allowed, out var gap);
            share.Return(allowed - _batch.Count);
            took += _batch.Count;
            var now = time.GetTimestamp();
            foreach (var record in _batch)
            {
                // Delivered again around a rewind: what lies below the position was taken already.
                if (record.Offset < archiver.Position)
                {
                    if (_stale++ == 0) LogStale(_key, record.Offset, archiver.Position);
                    continue;
                }
                archiver.Accept(record, RecordOrigin.Of(record, _region, _incarnation, _topic, _partition, _signer, naming,
                    assignment.Separator ?? TopicNaming.DefaultSeparator), now);
            }
            if (gap is { } dropped)
            {
                LogGap(_key, dropped.Count, dropped.From, dropped.To - 1, archiver.Settings.FillWait.TotalSeconds);
                archiver.AcceptGap(dropped.From, dropped.To);
            }
            if (_batch.Count == 0 && gap is null)
            {
                reached = position;
                break;
            }
            // Segments close as the records come in, so a long catch-up never holds more than a segment or two.
            if (archiver.Progress.Buffered >= DrainBatch) await AppendAsync(archiver, flush: false, cancellationToken);
            // Gives the thread back between batches: a turn that reads for its whole budget would otherwise hold one of
            // the few pool threads for a second, and replicators and status calls queue behind it.
            await Task.Yield();
        }
        _batch.Clear();
        if (reached is { } readTo && archiver.Reach(readTo, feed.HighWatermark))
        {
            // A backlog read to the end: its open segments are due now, not a segment age from now.
            await CloseOpenSegmentsAsync(archiver, cancellationToken);
        }
        // Only a turn that read something hurries the next: a log end the reader cannot pass (an open transaction under
        // read_committed) must not make it spin.
        if (took == 0 || share.Yielding) return null;
        if (reached is not { } at) return Soon;
        if (feed.HighWatermark is not { } high || high <= at) return null;
        return took >= DrainBatch ? Soon : Gather;
    }

    // Due(flush) closes at most one segment per stream per call.
    private async Task CloseOpenSegmentsAsync(PartitionArchiver archiver, CancellationToken cancellationToken, bool final = false)
    {
        for (var round = 0; round < 64 && archiver.Due(flush: true, final).Count > 0; round++) await AppendAsync(archiver, flush: true, cancellationToken, final);
    }

    private async Task RefreshTipsAsync(PartitionArchiver archiver, CancellationToken cancellationToken)
    {
        foreach (var stream in archiver.Watched)
        {
            if (_chains.TryGetValue(stream, out var chain)) await chain.RefreshAsync(cancellationToken);
            else _chains[stream] = chain = await StreamChain.LoadAsync(_store!, stream, cancellationToken);
            archiver.TipRefreshed(stream, chain.NextOffset);
        }
    }

    private async Task AppendAsync(PartitionArchiver archiver, bool flush, CancellationToken cancellationToken, bool final = false)
    {
        foreach (var segment in archiver.Due(flush, final))
        {
            if (!_chains.TryGetValue(segment.Stream, out var chain))
                _chains[segment.Stream] = chain = await StreamChain.LoadAsync(_store!, segment.Stream, cancellationToken);
            var result = await chain.AppendAsync(segment.Records, segment.Gap, _region, _segmentKey, time, cancellationToken);
            archiver.Appended(segment, result);
            if (!result.Appended)
                LogRaceLost(_key, segment.Stream.ToString(), segment.FirstOffset, segment.LastOffset, result.Tip?.LastOffset ?? -1, segment.TakenOver);
            else if (segment.TakenOver)
                LogTakenOverAppend(_key, segment.Stream.ToString(), segment.FirstOffset, segment.LastOffset);
            if (segment.Gap is { } gap && result.Appended) LogGapRecorded(_key, segment.Stream.ToString(), gap.Count, gap.FromOffset, gap.ToOffset, gap.Reason);
        }
    }

    private async Task CheckpointAsync(PartitionArchiver archiver, CancellationToken cancellationToken)
    {
        var checkpoint = archiver.Checkpoint();
        var encoded = checkpoint.Encode();
        _lastCheckpoint = time.GetTimestamp();
        if (encoded == _checkpointWritten) return;
        await checkpoints.WriteAsync(_topic, _partition, checkpoint, cancellationToken);
        _checkpointWritten = encoded;
    }

    /// <summary>
    /// For each named group whose committed offset here changed: its origin positions, once the reader has
    /// passed the offset (until then the next round asks again).
    /// </summary>
    private async Task SnapshotGroupsAsync(PartitionArchiver archiver, BackupAssignment assignment, CancellationToken cancellationToken)
    {
        var committed = await groups.CommittedAsync(assignment.Groups, _topic, _partition, cancellationToken);
        // What lies below every group's position is never asked about on its own again.
        if (committed.Count > 0) archiver.Positions.Forget(committed.Values.Min());
        foreach (var (group, offset) in committed)
        {
            if (_groupsWritten.TryGetValue(group, out var written) && written == offset) continue;
            if (archiver.Positions.MarksBelow(offset) is not { } marks) continue;
            var snapshot = new GroupSnapshot(group, _topic, _partition, _region, offset, time.GetUtcNow().ToUnixTimeMilliseconds(), marks);
            await BackupCatalog.WriteGroupSnapshotAsync(_store!, snapshot, cancellationToken);
            _groupsWritten[group] = offset;
        }
    }

    /// <summary>The topic's partition count and own configs, written when they differ from the latest snapshot (partition 0's archiver does it for the topic).</summary>
    private async Task SnapshotConfigAsync(CancellationToken cancellationToken)
    {
        if (!_configChecked)
        {
            var catalogNow = await BackupCatalog.LoadAsync(_store!, _topic, cancellationToken);
            _latestConfig = catalogNow.Topics.FirstOrDefault(t => t.Topic == _topic)?.Configs.LastOrDefault();
            _configChecked = true;
        }
        var topics = await catalog.ListTopicsAsync(_region, cancellationToken);
        if (!topics.TryGetValue(_topic, out var partitions)) return;
        var view = await descriptions.DescribeConfigsAsync(_region, _topic, cancellationToken);
        if (view is null) return;
        var configs = new SortedDictionary<string, string>(view.TopicLevel.ToDictionary(), StringComparer.Ordinal);
        if (_latestConfig is { } latest && latest.Partitions == partitions && latest.Configs.Count == configs.Count
            && latest.Configs.All(c => configs.TryGetValue(c.Key, out var value) && value == c.Value)) return;
        var snapshot = new TopicConfigSnapshot(_topic, partitions, configs, _region, time.GetUtcNow().ToUnixTimeMilliseconds());
        await BackupCatalog.WriteTopicConfigAsync(_store!, snapshot, cancellationToken);
        _latestConfig = snapshot;
        LogConfigSnapshot(_key, partitions, configs.Count);
    }

    // The last words of a run: what is buffered goes into its chains and the position is checkpointed, so the
    // next run (another assignment, another activation) reads again as little as possible.
    private async Task FlushAndResetAsync(CancellationToken cancellationToken)
    {
        if (_archiver is { } archiver)
        {
            try
            {
                await CloseOpenSegmentsAsync(archiver, cancellationToken, final: true);
                await CheckpointAsync(archiver, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFlushFailed(e, _key);
            }
        }
        Reset();
    }

    private void Reset()
    {
        _feed?.Dispose();
        _feed = null;
        _archiver = null;
        _chains.Clear();
        _batch.Clear();
        _checkpointWritten = null;
        _configChecked = false;
        _groupsWritten.Clear();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: backing up to {Store} from offset {Start} (log {Low}..{High}, own chain next {OwnNext}, checkpoint {Checkpoint})")]
    private partial void LogStarted(string key, string store, long start, long low, long high, long ownNext, string checkpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: another origin's records stayed uncovered by its chain for {Seconds} s; taking the stream over from local offset {Offset}")]
    private partial void LogTakeOver(string key, long offset, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: backed up {Stream} offsets {First}..{Last} in its place")]
    private partial void LogTakenOverAppend(string key, string stream, long first, long last);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: another writer appended to {Stream} first (its tip ends at {Tip}); offsets {First}..{Last} not written twice (taken over: {TakenOver})")]
    private partial void LogRaceLost(string key, string stream, long first, long last, long tip, bool takenOver);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: {Count} offsets ({From}..{To}) were removed by retention before the backup read them; a region that still holds them has {Seconds} s to back them up before this region's own records among them are recorded as a gap")]
    private partial void LogGap(string key, long count, long from, long to, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: {Stream} records a gap of {Count} offsets ({From}..{To}): {Reason}")]
    private partial void LogGapRecorded(string key, string stream, long count, long from, long to, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: the partition's log ends at {End}, before the backup's position {Position}: the region's Kafka or the topic is new; starting over")]
    private partial void LogLogEnded(string key, long end, long position);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: the reader delivered offset {Offset} again, below the read position {Position}; skipped (said once per activation)")]
    private partial void LogStale(string key, long offset, long position);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: topic configuration snapshot written ({Partitions} partitions, {Configs} configs)")]
    private partial void LogConfigSnapshot(string key, int partitions, int configs);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Key}: backup failed, retrying every few seconds (replication is not affected): {Reason}")]
    private partial void LogFailed(Exception e, string key, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: backup running again")]
    private partial void LogRecovered(string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: could not flush the open segments on stopping; the next run reads them again")]
    private partial void LogFlushFailed(Exception e, string key);
}
