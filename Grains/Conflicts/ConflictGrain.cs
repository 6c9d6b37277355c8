using Mesh.Core.Conflicts;
using Mesh.Core.Replication;
using Mesh.Grains.Options;
using Mesh.Grains.Ports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Grains.Conflicts;

/// <summary>
/// Last-writer-wins for one partition of an lww topic in this region. Reads the partition from its
/// start and then follows it (the same shared reader the links use), keeping the winning version of
/// every key (<see cref="LwwRepairer"/>). A record that lands older than its key's winner (a local
/// write behind a newer remote one, or two links racing) is answered by a repair: a copy of the winner
/// written after it, marked so that no link carries it to another region. Repairs wait until the
/// partition has been read to its end, so one written before a restart is found, not written twice.
/// </summary>
public sealed partial class ConflictGrain(
    ISourceFeeds feeds,
    IDestinationLogs destinations,
    IOptions<ReplicationOptions> options,
    TimeProvider time,
    ILogger<ConflictGrain> logger) : Grain, IConflictGrain
{
    private static readonly TimeSpan TurnBudget = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan IdleWait = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan RetryBackoff = TimeSpan.FromSeconds(2);
    private const int MaxDrain = 5000;
    // Winners are usually recent: the records last read are kept to copy from, older ones are fetched.
    // The byte bound keeps a partition of large values to a few MiB.
    private const int RecentCount = 20_000;
    private const long RecentBytes = 4L * 1024 * 1024;

    private string _region = "", _topic = "";
    private int _partition;
    private ConflictPolicySettings? _policy;
    private LwwRepairer? _repairer;
    private ProvenanceSigner? _signer;
    private ISourcePartitionFeed? _feed;
    private readonly List<SourceRecord> _buffer = [];
    // Repairs written but not read back yet (key in hex @ winner offset): the repairer still lists them as pending.
    private readonly HashSet<string> _written = new(StringComparer.Ordinal);
    // Repairs whose winner is no longer in the log; and winners kept in memory until their repair is read back.
    private readonly HashSet<string> _lost = new(StringComparer.Ordinal);
    private readonly Dictionary<long, SourceRecord> _pinned = [];
    private long _winnersLost;
    private readonly RecentRecords _recent = new(RecentCount, RecentBytes);
    private bool _caughtUp;
    private string? _error;
    private IGrainTimer? _timer;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_region, _topic, _partition) = GrainKeys.ParseRegionPartition(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        Reset();
        _signer?.Dispose();
        return Task.CompletedTask;
    }

    public Task EnsureRunningAsync(ConflictPolicySettings policy)
    {
        if (_policy == policy) return Task.CompletedTask;
        if (_policy is not null) LogPolicyChanged(_region, _topic, _partition, policy.VersionHeader ?? "(timestamp)");
        Reset();
        _policy = policy;
        _timer ??= this.RegisterGrainTimer(FollowAsync, new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = TimeSpan.FromMilliseconds(1), KeepAlive = true });
        _timer.Change(TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
        return Task.CompletedTask;
    }

    public Task<bool[]> ShouldWriteAsync(ConflictPolicySettings policy, IReadOnlyList<VersionedKey> records)
    {
        // Until the partition has been read to its end (under the policy the link asks about) the index
        // is incomplete: everything is written, and whatever loses is repaired once the reading catches up.
        var answers = new bool[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            answers[i] = _repairer is null || !_caughtUp || policy != _policy
                || _repairer.ShouldWrite(record.Key, new RecordVersion(record.Value, record.OriginRegion, record.OriginOffset));
        }
        return Task.FromResult(answers);
    }

    // Repairs are counted as read in the log, so the figure survives restarts of this grain.
    public Task<ConflictStatus> GetStatusAsync() => Task.FromResult(new ConflictStatus(_topic, _partition, _repairer?.RepairsRead ?? 0,
        _repairer?.BadVersions ?? 0, _repairer?.KeyCount ?? 0, _repairer?.EstimatedBytes ?? 0, _repairer?.NextOffset ?? -1, _caughtUp,
        _error ?? (_winnersLost == 0 ? null : $"{_winnersLost} winners were compacted away before their repair was written: those keys may differ from other regions " +
            "(raise the topic's min.compaction.lag.ms above the time the mesh needs to read the partition)")));

    private async Task FollowAsync(CancellationToken cancellationToken)
    {
        if (_policy is null) return;
        try
        {
            if (_repairer is null || _feed is null)
            {
                var low = (await feeds.GetWatermarksAsync(_region, _topic, _partition, cancellationToken)).Low;
                _signer ??= options.Value.Keys?.CreateSigner();
                _repairer = new LwwRepairer(new LwwRule(_policy.VersionHeader), _region, _topic, _partition, _signer);
                _feed = feeds.Open(_region, _topic, _partition, low);
                _caughtUp = false;
                LogStarted(_region, _topic, _partition, low);
            }
            var started = time.GetTimestamp();
            while (time.GetElapsedTime(started) < TurnBudget)
            {
                if (_feed.Error is { } error) throw new InvalidOperationException(error);
                if (_feed.Failure is { } failure) throw new InvalidOperationException(failure);
                // The partition shrank (deleted and re-created, or its Kafka came back empty): read it afresh.
                if (_feed.LogEndedBefore is not null) throw new InvalidOperationException($"{_topic}/{_partition} ended before offset {_repairer.NextOffset}; reading it again from its start");
                if (!await _feed.WaitForRecordsAsync(IdleWait, cancellationToken))
                {
                    // Nothing buffered: read to the end when the reader is past the end, transaction markers included.
                    if (_feed.HighWatermark is long high && high <= Math.Max(_repairer.NextOffset, _feed.Position ?? 0)) await CaughtUpAsync(cancellationToken);
                    break;
                }
                _buffer.Clear();
                _feed.Drain(_buffer, MaxDrain, out _);
                foreach (var record in _buffer) Observe(record);
                if (_feed.HighWatermark is long end && end <= _repairer.NextOffset) await CaughtUpAsync(cancellationToken);
            }
            _error = null;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _error = $"retrying after: {e.Message}";
            LogFailed(e, _region, _topic, _partition);
            Reset();
            _timer?.Change(RetryBackoff, TimeSpan.FromMilliseconds(1));
        }
    }

    // What a record needs is decided when the partition is read to its end (the repairer keeps the
    // pending repairs): until then a later record may already be the repair, or a newer write.
    private void Observe(SourceRecord record)
    {
        _recent.Add(record);
        // The winner is kept from the moment a record lands behind it: compaction keeps a key's last
        // record, the loser, and may remove the winner before the repair is written.
        if (_repairer!.Observe(record) is { } action && _recent.Get(action.WinnerOffset) is { } winner)
            _pinned[action.WinnerOffset] = winner;
    }

    /// <summary>The partition is read to its end: every key still behind its winner gets its repair.</summary>
    private async Task CaughtUpAsync(CancellationToken cancellationToken)
    {
        if (!_caughtUp) LogCaughtUp(_region, _topic, _partition, _repairer!.KeyCount, _repairer.NextOffset);
        _caughtUp = true;
        var pending = _repairer!.Pending.ToArray();
        var due = pending.Select(a => (Id: $"{Convert.ToHexString(a.Key)}@{a.WinnerOffset}", Action: a)).ToArray();
        _written.IntersectWith(due.Select(d => d.Id));
        _lost.IntersectWith(due.Select(d => d.Id));
        foreach (var offset in _pinned.Keys.Except(pending.Select(a => a.WinnerOffset)).ToArray()) _pinned.Remove(offset);
        if (due.Length == 0) return;
        var log = destinations.For(_region);
        foreach (var (id, action) in due)
        {
            if (_written.Contains(id) || _lost.Contains(id)) continue;
            var winner = _pinned.GetValueOrDefault(action.WinnerOffset) ?? _recent.Get(action.WinnerOffset)
                ?? await feeds.ReadOneAsync(_region, _topic, _partition, action.WinnerOffset, cancellationToken);
            if (winner is null)
            {
                // Compacted away before it could be copied (the repair came too late: min.compaction.lag.ms
                // must outlast the mesh's reading of the partition). Said once, and counted.
                _lost.Add(id);
                _winnersLost++;
                LogWinnerGone(_region, _topic, _partition, action.WinnerOffset);
                continue;
            }
            await log.WriteAsync(_topic, _partition, [_repairer.BuildRepair(winner, action.Winner)], cancellationToken);
            _repairer.NoteRepaired();
            _written.Add(id);
        }
    }

    private void Reset()
    {
        _feed?.Dispose();
        _feed = null;
        _repairer = null;
        _buffer.Clear();
        _written.Clear();
        _lost.Clear();
        _pinned.Clear();
        _recent.Clear();
        _caughtUp = false;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Conflicts {Region} {Topic}/{Partition}: last-writer-wins, reading the partition from offset {Low}")]
    private partial void LogStarted(string region, string topic, int partition, long low);

    [LoggerMessage(Level = LogLevel.Information, Message = "Conflicts {Region} {Topic}/{Partition}: read to its end ({Keys} keys, next offset {Next}); repairs and drops are now decided on the whole partition")]
    private partial void LogCaughtUp(string region, string topic, int partition, long keys, long next);

    [LoggerMessage(Level = LogLevel.Information, Message = "Conflicts {Region} {Topic}/{Partition}: version header changed to {Header}; reading the partition again")]
    private partial void LogPolicyChanged(string region, string topic, int partition, string header);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Conflicts {Region} {Topic}/{Partition}: the winner at offset {Offset} is no longer in the log; no repair written for it")]
    private partial void LogWinnerGone(string region, string topic, int partition, long offset);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Conflicts {Region} {Topic}/{Partition}: failed; starting again from the partition's start")]
    private partial void LogFailed(Exception e, string region, string topic, int partition);
}
