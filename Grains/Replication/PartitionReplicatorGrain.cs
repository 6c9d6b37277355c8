using Mesh.Core.Backup.Archiving;
using Mesh.Core.Conflicts;
using Mesh.Core.Replication;
using Mesh.Core.Topology;
using Mesh.Grains.Options;
using Mesh.Grains.Ports;
using Orleans.Placement;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Grains.Replication;

/// <summary>
/// Replicates one partition of one topic on one link S -> D, in D's silos. On activation it
/// restores its checkpoint (or, on the link's first start, writes one at the start of S's log, so
/// every record S drops from then on is counted), checks that D still holds what the checkpoint
/// says, and re-reads what it wrote to D after that checkpoint, so a crash at any point neither
/// loses nor duplicates records. The work itself is a timer turn that drains the shared reader's
/// buffer for this partition in batches; a record the mesh cannot take goes to the quarantine.
/// Before it restores anything it claims the partition (<see cref="Fencing"/>), and it writes (records,
/// checkpoints, quarantine entries) only while its claim is the latest, so two activations of it (possible
/// while membership changes) never both write.
/// </summary>
[RandomPlacement] // replicators spread over the region's silos; a dead silo's share re-activates on the others
public sealed partial class PartitionReplicatorGrain(
    ISourceFeeds feeds,
    IDestinationLogs destinations,
    IDestinationTransactions transactions,
    ICheckpointStore checkpoints,
    IQuarantineStore quarantine,
    IRegionIdentity identity,
    BackupReadShare backupShare,
    ReplicationMetrics metrics,
    IOptions<ReplicationOptions> options,
    TimeProvider time,
    ILogger<PartitionReplicatorGrain> logger) : Grain, IPartitionReplicatorGrain
{
    private static readonly TimeSpan TurnBudget = TimeSpan.FromMilliseconds(500);
    // An idle partition's worker sleeps until its feed wakes it (records, a source-side failure) or the region identity does
    // (its destination's cluster was replaced meanwhile). It looks in this often all the same, in case a wake-up was
    // missed. Every look is a grain turn: at 5 s, 10,000 idle partitions cost a silo 6% of a core in timer turns alone.
    private static readonly TimeSpan IdleTick = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan RetryBackoff = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Running = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan UntrustedLogInterval = TimeSpan.FromMinutes(1);
    // How long a write waits for a tail that fell behind before it gives up the turn (and recovers).
    private static readonly TimeSpan StaleTailWait = TimeSpan.FromSeconds(5);

    private readonly ReplicationOptions _options = options.Value;
    // Records drained but not yet committed: a refused record and those after it are planned again.
    private readonly List<SourceRecord> _buffer = [];
    private SourceGap? _pendingGap;
    // After a broker refused a batch (which may be another record's fault), records up to this source
    // offset are written one at a time, so a refusal names exactly the record it is about.
    private long _oneAtATimeUntil = -1;
    // Set when a cluster looked replaced: the next recovery asks the clusters who they are now.
    private bool _identityInDoubt;
    private string _source = "", _destination = "", _topic = "";
    private int _partition;
    private PartitionReplication? _replication;
    private ISourcePartitionFeed? _feed;
    private ReplicationState _state = ReplicationState.Starting;
    private string? _error;
    private long _replicated, _skipped, _untrusted;
    private long _quarantined, _expired; // as of the last stop or recovery, when no replication is live
    private double? _latestLatencyMs;
    private LatencyWindow? _latencies;
    private PartitionMetrics? _metrics;
    private DateTimeOffset? _latestReplicatedAt;
    private long _lastCheckpointAt;
    private long _lastIdleDestinationCheckAt;
    private Task<string>? _idleDestinationCheck;
    private long _lastUntrustedLogAt = long.MinValue;
    private bool _checkpointDirty;
    private IGrainTimer? _timer;
    private Action? _wake;
    // This activation has run an assignment, not only been paused (the first one it runs makes the timer): what a later
    // assignment logs as news.
    private bool HasRun => _timer is not null;

    private IDestinationLog _log = null!;
    private PartitionAssignment? _assignment;
    private LwwRule? _lwwRule;
    private ConflictPolicySettings? _lwwRuleFor;
    private long _conflictsDropped, _badVersions;
    private DateTimeOffset? _assignedAt;
    private string _destinationTopic = "";
    // A rebuild asked for ('mesh region rebuild'): the next recovery starts afresh instead of from the checkpoint.
    private string? _rebuildRequested;
    private RebuildStatus? _rebuild;
    // Stopped because the destination lost records: only a rebuild goes on from here.
    private bool _needsRebuild;
    // The records of the write that found the destination had lost records: they landed after the gap,
    // so the rebuild must neither count them as applied (it would skip what was lost before them) nor
    // write them again. Kept until a rebuild takes them over into _misplacedToSkip.
    private HashSet<(string OriginKey, long OriginOffset)>? _misplaced;
    private HashSet<(string OriginKey, long OriginOffset)>? _misplacedToSkip;
    // This activation's claim on the partition, made once by its first recovery, and the wait its predecessor
    // imposes (from when the claim was acknowledged) before the destination is read back.
    private Claim? _claim;
    private long _claimedAt;
    private TimeSpan _takeOverWait;
    // Set when a newer claim was seen: this activation never writes again and never claims again.
    private string? _fencedBy;
    // Exactly-once mode: this activation's transactional producer, made by each recovery after the claim check, and
    // the transactions of the producers it had before.
    private ITransactionalDestination? _transactions;
    private bool _transactionOpen;
    private long _committedBefore, _abortedBefore;

    private string Key => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_source, _destination, _topic, _partition) = GrainKeys.ParsePartition(Key);
        _destinationTopic = _topic;
        // Usually this region's own log; for a push link, the destination region's.
        _log = destinations.For(_destination);
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await CheckpointAndResetAsync(cancellationToken);
        _metrics?.Dispose(); // its lag now counts wherever it activates next
        // Every write of this activation has settled (turns await their writes): the next claimant need not wait.
        // Not while its own take-over wait runs: a predecessor's writes may still be in flight, and a release says
        // that nothing of this key is.
        if (_claim is { } claim && _fencedBy is null && TakeOverWaitLeft() <= TimeSpan.Zero)
        {
            try
            {
                await EnsureOwnerAsync(cancellationToken);
                await checkpoints.ReleaseAsync(Key, claim.Epoch, Holder, cancellationToken);
                LogReleased(Key, claim.Epoch);
            }
            catch (Exception e) { LogReleaseFailed(e, Key, claim.Epoch); }
        }
    }

    private string Holder => $"{RuntimeIdentity} {GrainContext.ActivationId}";

    private FencingWindows Windows => FencingWindows.For(_options.WriteTimeout);

    private TimeSpan TakeOverWaitLeft() => _takeOverWait - time.GetElapsedTime(_claimedAt);

    // The last words of a run: what was written is checkpointed, so the next run (another assignment,
    // another activation) reads back as little as possible.
    private async Task CheckpointAndResetAsync(CancellationToken cancellationToken)
    {
        if (_replication is not null && _checkpointDirty && _fencedBy is null)
        {
            try { await WriteCheckpointAsync(cancellationToken); }
            catch (Exception e) { LogCheckpointFailed(e, Key); }
        }
        Reset();
    }

    public async Task<bool> EnsureRunningAsync(PartitionAssignment assignment)
    {
        // Fenced: another activation writes this partition. Starting again here would claim again and fence
        // that one in turn, and the two would hand the partition back and forth. Once that one has let go
        // (released its claim), this one steps aside too, so the next call starts a fresh activation.
        if (_fencedBy is not null)
        {
            var owner = await checkpoints.OwnerAsync(Key, Windows.Freshness, TimeSpan.Zero, CancellationToken.None);
            if (owner.Latest is null or { Released: true })
            {
                LogSteppingAside(Key, owner.Latest?.Epoch ?? -1);
                DeactivateOnIdle();
            }
            // Fenced, or stepping aside: looked at again in the link's next round (that starts a fresh activation once this
            // one is gone).
            PingAgain();
            return false;
        }
        if (_assignment is { } current && current.SameAs(assignment))
        {
            _assignment = assignment; // a newer topology version that changes nothing here
            return false;
        }
        // Timer turns do not interleave with this call: whatever the old assignment wrote is settled here.
        if (_assignment is not null) await CheckpointAndResetAsync(CancellationToken.None);
        var first = _assignment is null;
        _assignment = assignment;
        _assignedAt = time.GetUtcNow();
        _destinationTopic = assignment.DestinationTopic;
        // Written in transactions, a partition is read back with read_committed: an aborted batch is written again.
        _log = assignment.ExactlyOnce ? destinations.Committed(_destination) : destinations.For(_destination);
        _error = null;
        _needsRebuild = false; // the recovery on the new assignment finds out again
        if (assignment.Paused)
        {
            _state = ReplicationState.Paused;
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            // A silo's start pauses every partition it activates before it runs them (the topology grain does not know
            // what ran before): that is no news, and at 10,000 partitions it was 10,000 lines at every start.
            if (HasRun) LogPaused(Key);
            else LogPausedBeforeRunning(Key);
            return !first;
        }
        _state = ReplicationState.Starting;
        if (HasRun) LogReassigned(Key, assignment.TopologyVersion, assignment.AllOrigins ? "every origin" : string.Join(",", assignment.Origins));
        // Each turn drains for up to TurnBudget and then yields, so status calls and deactivation get in.
        if (_timer is null)
            _timer = this.RegisterGrainTimer(ReplicateAsync, new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = Running, KeepAlive = true });
        else
            _timer.Change(TimeSpan.Zero, Running);
        return !first;
    }

    // One way: the link may be waiting for a call of this very replicator.
    private void PingAgain() => _ = GrainFactory.GetGrain<ILinkGrain>(GrainKeys.Link(_source, _destination)).PingAgainAsync(_topic);

    public async Task StopAsync()
    {
        await CheckpointAndResetAsync(CancellationToken.None);
        _timer?.Dispose();
        _timer = null;
        _assignment = null;
        _state = ReplicationState.Stopped;
        _error = "stopped: its link no longer carries this partition";
        DeactivateOnIdle();
    }

    public Task<PartitionStatus> GetStatusAsync()
    {
        long? lag = null;
        if (_replication is not null && _feed?.HighWatermark is long high)
            lag = Math.Max(0, high - _replication.NextSourceOffset);
        var error = _assignment is null && _error is null ? "waiting for its link to assign it" : _error;
        var rebuild = _rebuild is { CompletedAt: null } running && _replication is not null
            ? running with { NextSourceOffset = _replication.NextSourceOffset }
            : _rebuild;
        return Task.FromResult(new PartitionStatus(_topic, _partition, _state, _replicated, _skipped, lag,
            _latestLatencyMs, _latestReplicatedAt, _replication?.NextSourceOffset ?? -1, error,
            _replication?.RecordsQuarantined ?? _quarantined, _replication?.RecordsExpired ?? _expired,
            _assignedAt, _assignment?.TopologyVersion ?? 0, _destinationTopic, _conflictsDropped, _badVersions, rebuild, _needsRebuild,
            Silo: GrainContext.Address.SiloAddress?.Endpoint.ToString(),
            Transactions: _assignment?.ExactlyOnce == true
                ? new TransactionCounts(_committedBefore + (_transactions?.Committed ?? 0), _abortedBefore + (_transactions?.Aborted ?? 0))
                : null,
            RecentLatencies: _latencies?.Snapshot().Select(b => new LatencyBucket(b.Milliseconds, b.Count)).ToArray(),
            VerifiedByKey: _replication?.VerifiedByKey is { Count: > 0 } verified ? new Dictionary<string, long>(verified, StringComparer.Ordinal) : null));
    }

    public Task<bool> RebuildAsync(string reason, bool force)
    {
        if (_assignment is null || !(_needsRebuild || force) || _fencedBy is not null) return Task.FromResult(false);
        // The next recovery re-reads the source from its start against the whole destination: what the
        // destination still holds is found there and not written again.
        _rebuildRequested = reason;
        _needsRebuild = false;
        Reset();
        if (_state != ReplicationState.Paused)
        {
            _state = ReplicationState.Starting;
            _error = null;
            _timer?.Change(TimeSpan.Zero, Running);
        }
        LogRebuildRequested(Key, reason);
        return Task.FromResult(true);
    }

    private async Task ReplicateAsync(CancellationToken cancellationToken)
    {
        if (_state is ReplicationState.Stopped or ReplicationState.Paused || _assignment is null)
        {
            // A wake-up that came late (from a feed of before the pause) must not leave the timer running.
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        try
        {
            if (_replication is null)
            {
                if (!await RecoverAsync(cancellationToken)) return;
                _timer?.Change(TimeSpan.Zero, Running);
            }
            if (await RunBatchesAsync(cancellationToken)) SleepUntilRecords();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (DestinationLostException e)
        {
            // A destination cluster replaced under a running replicator shows first as a write behind the
            // end: that is a rebuild of the new cluster, not a stop.
            if (_replication is { } replication && await identity.IncarnationAsync(_destination, cancellationToken, fresh: true) != replication.DestinationIncarnation)
            {
                _identityInDoubt = true;
                Retry(e);
            }
            else
            {
                Stop(e.Message, needsRebuild: true);
            }
        }
        catch (ReplicationFailedException e)
        {
            Stop(e.Message);
        }
        catch (FencedException e)
        {
            _fencedBy = $"epoch {e.Latest.Epoch} from {e.Latest.Holder}";
            LogFenced(Key, _claim!.Epoch, e.Latest.Epoch, e.Latest.Holder);
            Stop($"fenced by epoch {e.Latest.Epoch} from {e.Latest.Holder} (this activation's claim was epoch {_claim.Epoch}): " +
                 "another activation of this replicator writes the partition now; this one writes nothing more", log: false);
            // The link's pings find out when the other activation lets go; they come every round while one is fenced.
            PingAgain();
        }
        catch (SourceChangedException e)
        {
            _identityInDoubt = true;
            Retry(e);
        }
        catch (Exception e)
        {
            Retry(e);
        }
    }

    // Transient (a broker down, a timeout): forget in-memory progress and recover from the
    // checkpoint, which re-reads the destination, so nothing half-written is written twice.
    private void Retry(Exception e)
    {
        _error = $"retrying after: {e.Message}";
        _state = ReplicationState.Starting;
        // A failed read or write may be the first sign of a replaced cluster: the recovery asks who the clusters are
        // now rather than trust a cached answer (one lookup per region, shared by every replicator recovering).
        _identityInDoubt = true;
        Reset();
        _timer?.Change(RetryBackoff, Running);
        LogTransientFailure(e, Key);
    }

    /// <summary>Restores the partition's state; false when it stopped instead (the destination lost data).</summary>
    private async Task<bool> RecoverAsync(CancellationToken cancellationToken)
    {
        if (!await TakeOverAsync(cancellationToken)) return false;
        if (_assignment!.ExactlyOnce) await OpenTransactionsAsync(cancellationToken);
        var assigned = _assignment!.AllOrigins ? OriginSet.All : OriginSet.Of(_assignment.Origins);
        var sourceIncarnation = await identity.IncarnationAsync(_source, cancellationToken, fresh: _identityInDoubt);
        var destinationIncarnation = await identity.IncarnationAsync(_destination, cancellationToken, fresh: _identityInDoubt);
        _identityInDoubt = false;
        // The source's offsets are asked meanwhile: nothing orders them against the two below, and each of the three
        // is answered with thousands of other replicators' (batched), so waiting for one at a time costs a round each.
        var sourceMarks = feeds.GetWatermarksAsync(_source, _topic, _partition, cancellationToken);
        // The checkpoint before the destination's end: a checkpoint written in between (by a previous
        // activation's last words) must not look like records the destination lost.
        var checkpoint = await checkpoints.ReadAsync(Key, cancellationToken);
        var destinationEnd = await _log.GetEndOffsetAsync(_destinationTopic, _partition, cancellationToken);
        var start = await sourceMarks;

        // Why this run re-reads the source from its start, if it does.
        string? rebuild = null;
        if (_rebuildRequested is { } requested)
        {
            rebuild = requested;
        }
        else if (checkpoint is null)
        {
            rebuild = "first start of this link on this partition (a new link, or a region whose Kafka came back empty)";
        }
        else if (checkpoint.DestinationIncarnation != destinationIncarnation)
        {
            // The destination is a new cluster: what the checkpoint says about it is about a log that is
            // gone. It is refilled from the start of the source (its own earlier records come back over
            // the one link that carries them), and what the new cluster already holds is read first.
            rebuild = $"{_destination}'s Kafka is a new cluster (incarnation {destinationIncarnation}, was {checkpoint.DestinationIncarnation}): it lost its data";
            LogDestinationReincarnated(Key, checkpoint.DestinationIncarnation, destinationIncarnation);
        }

        // The destination's own earlier records come back over one link per partition: decided when the
        // partition starts afresh (that is when the destination may have lost them), kept in the checkpoint after.
        var carried = assigned;
        if (_assignment.OwnPastSources is { Count: > 0 } ownPastSources)
        {
            var carriesOwnPast = rebuild is not null
                ? await GrainFactory.GetGrain<IOwnPastGrain>(GrainKeys.RegionPartition(_destination, _destinationTopic, _partition))
                    .CarrierAsync(ownPastSources, destinationIncarnation) == _source
                : checkpoint!.Carried?.Contains(_destination) == true;
            if (carriesOwnPast) carried = assigned.Union(OriginSet.Of([_destination]));
        }

        if (rebuild is not null)
        {
            // Its position is the start of S's log now, written down before anything is read, so
            // whatever S drops from here on is counted. The whole destination is read back first, so
            // what already arrived (over another link, or before a lost checkpoint) is not written again.
            if (checkpoint is not null)
            {
                _quarantined = checkpoint.RecordsQuarantined;
                _expired = checkpoint.RecordsExpired;
            }
            checkpoint = ReplicationCheckpoint.Start(start.Low, sourceIncarnation, destinationIncarnation, carried);
            await SaveCheckpointAsync(checkpoint, cancellationToken);
            _rebuildRequested = null;
            _misplacedToSkip = _misplaced;
            _misplaced = null;
            _rebuild = start.High > start.Low || _rebuild is not null
                ? new RebuildStatus(rebuild, time.GetUtcNow(), start.Low, start.High, start.Low, null)
                : null;
            LogLinkStarted(Key, start.Low, start.High, rebuild);
        }
        else
        {
            _quarantined = checkpoint!.RecordsQuarantined;
            _expired = checkpoint.RecordsExpired;
            if (destinationEnd < checkpoint.DestinationEndOffset)
            {
                Stop($"{_destination} {_destinationTopic}/{_partition} ends at offset {destinationEnd}, but the checkpoint says the mesh had written up to " +
                     $"{checkpoint.DestinationEndOffset}: the destination lost records (topic deleted and re-created, or its Kafka lost data). " +
                     $"Replication of this partition stopped rather than resume as if the destination were whole; refill it with 'mesh region rebuild {_destination}'.",
                    needsRebuild: true);
                return false;
            }
            if (checkpoint.SourceIncarnation != sourceIncarnation)
            {
                // The source came back as a new cluster: its offsets start afresh and, being a new
                // incarnation, never collide with the old ones. Its old log is gone with its cluster;
                // its new one is read from offset 0, so whatever it already dropped is counted.
                LogSourceReincarnated(Key, checkpoint.SourceIncarnation, checkpoint.NextSourceOffset, sourceIncarnation);
                checkpoint = checkpoint with { NextSourceOffset = 0, SourceIncarnation = sourceIncarnation };
                _oneAtATimeUntil = -1; // an offset of the old log
                await SaveCheckpointAsync(checkpoint, cancellationToken);
            }
        }

        // A route change can give this link origins another link carried until now: it learns from the
        // destination how far each got, and re-reads its source from the start for the records of
        // those origins it skipped as off-route (a catch-up window up to where it had read).
        var reassigned = checkpoint.Reassign(carried, _source, start.Low, out var gained);
        var replication = new PartitionReplication(_source, _destination, _topic, _destinationTopic, _partition,
            _assignment!.PrefixNaming ? NamingPolicy.Prefix : NamingPolicy.Identity, carried, _options.PolicyFor(_topic), reassigned,
            _assignment.Separator ?? TopicNaming.DefaultSeparator);
        try
        {
            if (destinationEnd > checkpoint.DestinationEndOffset)
            {
                var misplaced = _misplacedToSkip;
                await _log.ScanAsync(_destinationTopic, _partition, checkpoint.DestinationEndOffset, destinationEnd, r => replication.Observe(r, misplaced), cancellationToken);
                replication.ObservedUpTo(destinationEnd);
            }
            if (!gained.IsEmpty)
            {
                await LearnGainedOriginsAsync(replication, gained, Math.Min(checkpoint.DestinationEndOffset, destinationEnd), cancellationToken);
                await SaveCheckpointAsync(replication.Checkpoint(), cancellationToken);
                LogGained(Key, gained.ToString(), replication.NextSourceOffset, replication.CatchUp?.Until ?? -1, replication.Vector.ToString());
            }
            else if (!Equals(reassigned.Carried, checkpoint.Carried) || reassigned.CatchUp != checkpoint.CatchUp)
            {
                await SaveCheckpointAsync(replication.Checkpoint(), cancellationToken);
            }
        }
        catch
        {
            replication.Dispose();
            throw;
        }

        // What was read of the source is at least the checkpoint's position and, after a crash, the
        // source's own records found in the destination; a source log that now ends before that lost it.
        var read = Math.Max(replication.NextSourceOffset, replication.Vector.HighestFor(OriginVector.Key(_source, replication.SourceIncarnation)) + 1);
        var sourceNow = await feeds.GetWatermarksAsync(_source, _topic, _partition, cancellationToken);
        if (sourceNow.High < read)
        {
            replication.Dispose();
            Stop(SourceLostMessage(sourceNow.High, read));
            return false;
        }

        _replication = replication;
        _feed = feeds.Open(_source, _topic, _partition, replication.NextSourceOffset);
        _state = ReplicationState.Replicating;
        _error = null;
        _checkpointDirty = true;
        LogRecovered(Key, replication.NextSourceOffset, replication.Vector.ToString(), checkpoint.DestinationEndOffset, destinationEnd);
        return true;
    }

    /// <summary>
    /// Claims the partition on the first recovery of this activation and waits out what its predecessor may
    /// still have in flight; false while waiting (the timer comes back when the wait is over). Fenced when a
    /// newer claim exists already.
    /// </summary>
    private async Task<bool> TakeOverAsync(CancellationToken cancellationToken)
    {
        if (_claim is null)
        {
            var claim = await checkpoints.ClaimAsync(Key, Holder, cancellationToken);
            _claimedAt = time.GetTimestamp();
            _claim = claim;
            _takeOverWait = Fencing.WaitBeforeRestore(claim, Windows);
            if (_takeOverWait > TimeSpan.Zero) LogTakingOver(Key, claim.Epoch, claim.Previous!.Value, _takeOverWait.TotalSeconds);
            else LogClaimed(Key, claim.Epoch, claim.Previous is null ? "none" : $"epoch {claim.Previous}, released");
        }
        var left = TakeOverWaitLeft();
        if (left > TimeSpan.Zero)
        {
            _error = $"taking over: waiting {left.TotalSeconds:0.0} s more (of {_takeOverWait.TotalSeconds:0.0} s) for the writes of the previous " +
                     $"activation (claim epoch {_claim.Previous}, not released: its silo may have died) to land before reading the destination back";
            _timer?.Change(left, Running);
            return false;
        }
        await EnsureOwnerAsync(cancellationToken);
        return true;
    }

    /// <summary>
    /// The check before every write: returns only while this activation's claim is the latest one its silo's
    /// tail of the checkpoint topic has read, and the tail is fresh. Throws <see cref="FencedException"/> when a
    /// newer claim exists, a <see cref="TimeoutException"/> when the tail stays behind (a transient failure).
    /// </summary>
    private async Task EnsureOwnerAsync(CancellationToken cancellationToken)
    {
        var windows = Windows;
        var view = await checkpoints.OwnerAsync(Key, windows.Freshness, StaleTailWait, cancellationToken);
        switch (Fencing.MayWrite(_claim!.Epoch, view.Latest, view.TailAge, windows))
        {
            case WriteVerdict.Allowed:
                return;
            case WriteVerdict.Fenced:
                throw new FencedException(view.Latest!);
            default:
                throw new TimeoutException($"the checkpoint topic's tail has not caught up for {view.TailAge.TotalSeconds:0.0} s: not writing " +
                                           "without knowing that this activation still holds the partition");
        }
    }

    /// <summary>
    /// Exactly-once mode: a transactional producer of this activation, initialised after the claim check and before the
    /// destination is read back (on Apache Kafka, initialising the id aborts what a predecessor with the same id left open,
    /// so the committed read-back does not wait for it).
    /// </summary>
    private async Task OpenTransactionsAsync(CancellationToken cancellationToken)
    {
        CloseTransactions();
        var writer = transactions.Open(_destination, _destinationTopic, TransactionalId);
        try
        {
            await writer.InitAsync(cancellationToken);
        }
        catch
        {
            writer.Dispose();
            throw;
        }
        _transactions = writer;
        LogTransactionsReady(Key, TransactionalId);
    }

    /// <summary>
    /// <c>mesh-&lt;destination&gt;-&lt;replicator key&gt;</c> with the key's separators made plain: stable across activations and
    /// silos, so that on Apache Kafka a new activation's producer fences its predecessor's.
    /// </summary>
    private string TransactionalId => $"mesh-{_destination}-{Key.Replace("->", "-to-", StringComparison.Ordinal).Replace('|', '.')}";

    private void CloseTransactions()
    {
        if (_transactions is not { } writer) return;
        _committedBefore += writer.Committed;
        _abortedBefore += writer.Aborted;
        _transactions = null;
        _transactionOpen = false;
        writer.Dispose();
    }

    /// <summary>The batch's checkpoint goes into its transaction, which commits both: they become visible together.</summary>
    private async Task CommitTransactionAsync(PartitionReplication replication, CancellationToken cancellationToken)
    {
        await EnsureOwnerAsync(cancellationToken);
        await _transactions!.CommitAsync(Key, replication.Checkpoint(), cancellationToken);
        _transactionOpen = false;
        _lastCheckpointAt = time.GetTimestamp();
        _checkpointDirty = false;
    }

    private async Task SaveCheckpointAsync(ReplicationCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        await EnsureOwnerAsync(cancellationToken);
        await checkpoints.WriteAsync(Key, checkpoint, cancellationToken);
    }

    private async Task QuarantineAsync(QuarantineEntry entry, CancellationToken cancellationToken)
    {
        await EnsureOwnerAsync(cancellationToken);
        await quarantine.WriteAsync(entry, cancellationToken);
    }

    /// <summary>
    /// Reads the destination backwards from <paramref name="below"/> until the latest record of every
    /// gained origin is found (its records are in the destination in origin order, so that one is
    /// the highest) or the log's start is reached. Observing only ever raises the vector to what the
    /// destination really holds, so reading more than needed is harmless.
    /// </summary>
    private async Task LearnGainedOriginsAsync(PartitionReplication replication, OriginSet gained, long below, CancellationToken cancellationToken)
    {
        var missing = new HashSet<string>(gained.Regions, StringComparer.Ordinal);
        // The destination's own past may span several earlier incarnations, and its current records
        // look alike: nothing short of the whole log says what came back of them.
        var wholeLog = gained.Contains(_destination);
        await _log.ScanBackwardsAsync(_destinationTopic, _partition, below, record =>
        {
            if (replication.Observe(record) is { } seen) missing.Remove(seen.OriginRegion);
        }, () => missing.Count == 0 && !wholeLog, cancellationToken);
    }

    /// <summary>Drains and writes for up to <see cref="TurnBudget"/>; true when it ran out of records (the partition is idle).</summary>
    private async Task<bool> RunBatchesAsync(CancellationToken cancellationToken)
    {
        var replication = _replication!;
        var feed = _feed!;
        var started = time.GetTimestamp();
        var idle = false;
        while (time.GetElapsedTime(started) < TurnBudget)
        {
            if (feed.Error is { } readError) throw new ReplicationFailedException(readError);
            if (feed.Failure is { } readerFailure) throw new InvalidOperationException(readerFailure);
            if (feed.LogEndedBefore is long sourceEnd)
            {
                if (await identity.IncarnationAsync(_source, cancellationToken, fresh: true) != replication.SourceIncarnation)
                    throw new SourceChangedException($"{_source} came back as a new cluster");
                throw new ReplicationFailedException(SourceLostMessage(sourceEnd, replication.NextSourceOffset));
            }
            if (_buffer.Count == 0 && _pendingGap is null)
            {
                if (feed.Drain(_buffer, _options.MaxBatchRecords, out _pendingGap) == 0 && _pendingGap is null)
                {
                    idle = true;
                    break;
                }
                // More than a batch behind the source's end: the silo's backup reading gives way until it is through.
                if (_buffer.Count >= _options.MaxBatchRecords || feed.HighWatermark - replication.NextSourceOffset > _options.MaxBatchRecords)
                    backupShare.ReplicationBehind();
            }

            if (_buffer.Count > 0 && !await ReplicateBufferAsync(replication, cancellationToken)) return false;
            if (_rebuild is { CompletedAt: null } rebuilding && replication.NextSourceOffset >= rebuilding.UntilSourceOffset)
            {
                _rebuild = rebuilding with { NextSourceOffset = replication.NextSourceOffset, CompletedAt = time.GetUtcNow() };
                LogRebuilt(Key, rebuilding.RecordsToRead, (_rebuild.CompletedAt!.Value - rebuilding.StartedAt).TotalSeconds);
            }
            if (_buffer.Count == 0 && _pendingGap is { } gap)
            {
                // Every record before the gap is handled; the ones in it the source no longer has.
                var (from, to) = replication.SkipExpired(gap.From, gap.To);
                if (to > from) LogExpired(Key, to - from, from, to - 1, _source);
                _pendingGap = null;
                await WriteCheckpointAsync(cancellationToken);
            }
            if (time.GetElapsedTime(_lastCheckpointAt) >= _options.CheckpointInterval)
                await CheckIdentityAndCheckpointAsync(replication, cancellationToken);
        }
        if (_checkpointDirty && time.GetElapsedTime(_lastCheckpointAt) >= _options.CheckpointInterval)
            await CheckIdentityAndCheckpointAsync(replication, cancellationToken);
        else if (_buffer.Count == 0) CheckIdleDestination(replication);
        return idle && _buffer.Count == 0 && _pendingGap is null;
    }

    /// <summary>
    /// Nothing to drain: the timer stops ticking every millisecond and the feed wakes the partition when records come.
    /// It still looks in when its checkpoint falls due and every <see cref="IdleTick"/>.
    /// </summary>
    private void SleepUntilRecords()
    {
        var due = _checkpointDirty
            ? TimeSpan.FromMilliseconds(Math.Max(1, (_options.CheckpointInterval - time.GetElapsedTime(_lastCheckpointAt)).TotalMilliseconds))
            : IdleTick;
        // Set before the feed can call: a wake-up from here on wins (the last change of a grain timer does).
        _timer?.Change(due, IdleTick);
        var wake = _wake ??= Wake;
        _feed?.WakeWhenReady(wake);
        if (_replication is { } replication) identity.WakeOnChange(_destination, replication.DestinationIncarnation, wake);
    }

    // Called by the feed, on its own thread: a grain timer's Change may be called from any thread.
    private void Wake() => _timer?.Change(TimeSpan.Zero, Running);

    /// <summary>
    /// Idle and checkpointed, nothing is written that would show the destination's cluster was replaced (a region
    /// whose Kafka came back empty while its inbound links were quiet), so it is asked at checkpoint pace. Without
    /// waiting: the answer is looked at on a later turn, so a cluster that does not answer never holds the grain,
    /// and a failed lookup tells nothing (the next write asks again). Only the destination: a dead source region
    /// would make every idle partition ask a cluster that cannot answer.
    /// </summary>
    private void CheckIdleDestination(PartitionReplication replication)
    {
        if (_idleDestinationCheck is null && time.GetElapsedTime(_lastIdleDestinationCheckAt) >= _options.CheckpointInterval)
        {
            _lastIdleDestinationCheckAt = time.GetTimestamp();
            _idleDestinationCheck = identity.IncarnationAsync(_destination, CancellationToken.None);
            // An answer still to come wakes the partition, so it is looked at then rather than at the next idle tick.
            if (!_idleDestinationCheck.IsCompleted)
                _idleDestinationCheck.ContinueWith(static (_, wake) => ((Action)wake!)(), _wake ??= Wake, CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        if (_idleDestinationCheck is { IsCompleted: true } asked)
        {
            _idleDestinationCheck = null;
            _ = asked.Exception; // observed: a failed lookup is no answer
            if (asked.IsCompletedSuccessfully && asked.Result != replication.DestinationIncarnation)
                throw new SourceChangedException($"the Kafka cluster of {_destination} is not the one this partition was replicating");
        }
    }

    // A source or destination cluster replaced under a running replicator shows as a new incarnation;
    // recovery then decides (a new source log is read from its start, a lost destination stops). Asked
    // with each checkpoint, so no checkpoint is written across such a change.
    private async Task CheckIdentityAndCheckpointAsync(PartitionReplication replication, CancellationToken cancellationToken)
    {
        if (await identity.IncarnationAsync(_source, cancellationToken) != replication.SourceIncarnation
            || await identity.IncarnationAsync(_destination, cancellationToken) != replication.DestinationIncarnation)
            throw new SourceChangedException($"the Kafka cluster of {_source} or {_destination} is not the one this partition was replicating");
        await WriteCheckpointAsync(cancellationToken);
    }

    /// <summary>Plans and writes what is buffered; false when the partition stopped.</summary>
    private async Task<bool> ReplicateBufferAsync(PartitionReplication replication, CancellationToken cancellationToken)
    {
        if (_transactions is null) return await ReplicateBufferOnceAsync(replication, cancellationToken);
        try
        {
            return await ReplicateBufferOnceAsync(replication, cancellationToken);
        }
        catch
        {
            // Nothing of the batch becomes visible to read_committed readers; the caller's recovery reads the destination
            // back (committed records only) and writes the batch again.
            if (_transactionOpen)
            {
                _transactionOpen = false;
                await _transactions.AbortAsync(CancellationToken.None);
                LogAborted(Key);
            }
            throw;
        }
    }

    private async Task<bool> ReplicateBufferOnceAsync(PartitionReplication replication, CancellationToken cancellationToken)
    {
        var oneAtATime = replication.NextSourceOffset <= _oneAtATimeUntil;
        var plan = replication.Plan(_buffer, oneAtATime ? 1 : int.MaxValue);
        var misplaced = DropMisplaced(plan);
        var (dropped, badVersions) = _assignment!.Lww is { } lww && plan.Outbound.Count > 0 ? await DropConflictLosersAsync(plan, lww) : ([], []);
        var end = replication.DestinationEndOffset;
        if (plan.Outbound.Count > 0)
        {
            await EnsureOwnerAsync(cancellationToken);
            // Right before writing, not only with the next checkpoint: records written into a destination cluster that
            // was replaced would land ahead of the ones its rebuild brings back. (A cached answer: a cluster replaced
            // moments ago can still take a write, which the write's end then shows; Kafka has no conditional write.)
            if (await identity.IncarnationAsync(_destination, cancellationToken) != replication.DestinationIncarnation)
                throw new SourceChangedException($"the Kafka cluster of {_destination} is not the one this partition was replicating");
            // The records must reach the producer soon after the check (fencing's margin counts on it): a write
            // still handing them over past the limit fails the rest, and recovery reads the destination back.
            using var enqueueWindow = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            enqueueWindow.CancelAfter(FencingWindows.EnqueueLimit);
            try
            {
                if (_transactions is { } writer)
                {
                    await writer.BeginAsync(cancellationToken);
                    _transactionOpen = true;
                    end = await writer.WriteAsync(_destinationTopic, _partition, plan.Outbound, enqueueWindow.Token);
                }
                else
                {
                    end = await _log.WriteAsync(_destinationTopic, _partition, plan.Outbound, enqueueWindow.Token);
                }
            }
            catch (WriteHoleException hole)
            {
                await QuarantineHolesAsync(replication, plan, hole, cancellationToken);
                return true;
            }
            catch (RecordRejectedException refused) when (_transactionOpen)
            {
                // The transaction is aborted, so nothing of the batch is written. A refusal of the batch's only record is
                // that record's own: it is held for the quarantine. Otherwise the batch goes again one record at a time.
                _transactionOpen = false;
                await _transactions!.AbortAsync(CancellationToken.None);
                if (!(refused.Exact && refused.Index == 0 && plan.Outbound.Count == 1))
                {
                    _oneAtATimeUntil = plan.Outbound[^1].SourceOffset;
                    throw new InvalidOperationException($"a record of a transaction was refused ({refused.Reason}); the batch was aborted and goes again one record at a time");
                }
                replication.CommitUpToRefusal(plan, 0, -1, refused.Reason);
                return true;
            }
            catch (RecordRejectedException refused)
            {
                // The records before it are written. A refusal known to be the record's own holds it for
                // the quarantine when planned again; otherwise the rest of the batch goes one at a time.
                replication.CommitUpToRefusal(plan, refused.Index, refused.EndOffset, refused.Exact ? refused.Reason : null);
                if (!refused.Exact) _oneAtATimeUntil = plan.Outbound[^1].SourceOffset;
                var written = plan.Outbound.Take(refused.Index).ToList();
                CountWritten(written);
                _badVersions += written.Count(badVersions.Contains);
                DropCommitted(replication);
                _checkpointDirty = true;
                return true;
            }
            // Offsets only grow in a partition: an end behind what we saw means the destination lost records.
            if (end < replication.DestinationEndOffset)
            {
                _misplaced = [.. plan.Outbound.Select(o => (o.Provenance.OriginKey, o.Provenance.OriginOffset))];
                throw new DestinationLostException($"{_destination} {_destinationTopic}/{_partition} accepted a write at offset {end - 1}, behind the end " +
                    $"the mesh had already written ({replication.DestinationEndOffset}): the destination lost records. Replication of this partition " +
                    $"stopped rather than go on as if the destination were whole; refill it with 'mesh region rebuild {_destination}'.");
            }
        }
        if (plan.Held is { Kind: DecisionKind.Quarantine } held)
        {
            var entry = replication.QuarantineEntryFor(held, time.GetUtcNow().ToUnixTimeMilliseconds());
            await QuarantineAsync(entry, cancellationToken);
            LogQuarantined(Key, held.Record.Offset, held.QuarantineKind, held.Reason);
        }
        replication.Commit(plan, end);
        // Only once the batch is written: a record refused before a dropped one must not look applied.
        foreach (var loser in dropped) replication.Vector.Advance(loser.Provenance.OriginKey, loser.Provenance.OriginOffset);
        foreach (var (originKey, originOffset) in misplaced)
        {
            replication.Vector.Advance(originKey, originOffset);
            _misplacedToSkip!.Remove((originKey, originOffset));
        }
        if (_misplacedToSkip is { Count: 0 }) _misplacedToSkip = null;
        _skipped += misplaced.Count;
        _conflictsDropped += dropped.Count;
        // Counted once the batch is written, so a batch planned again after a failed write counts once.
        _badVersions += badVersions.Count;
        CountWritten(plan.Outbound);
        _skipped += plan.Skipped;
        if (plan.UntrustedHeaders > 0) NoteUntrusted(plan.UntrustedHeaders, plan.LastUntrustedHeader!);
        DropCommitted(replication);
        _checkpointDirty = true;
        if (_transactionOpen) await CommitTransactionAsync(replication, cancellationToken);
        // Rare, and a crash now would quarantine the record twice: checkpoint past it at once.
        else if (plan.Held is { Kind: DecisionKind.Quarantine }) await WriteCheckpointAsync(cancellationToken);

        if (plan.Held is { Kind: DecisionKind.Stop } stop)
        {
            if (_checkpointDirty) await WriteCheckpointAsync(cancellationToken);
            Stop($"stopped at source offset {stop.Record.Offset} ({stop.QuarantineKind}, policy 'stop'): {stop.Reason}");
            return false;
        }
        return true;
    }

    /// <summary>
    /// Takes out of a rebuild's plan the records the destination holds already, written where it had lost
    /// records before them (see <see cref="_misplaced"/>); returns their origin keys and offsets, which
    /// leave the set once the batch is committed.
    /// </summary>
    private List<(string OriginKey, long OriginOffset)> DropMisplaced(BatchPlan plan)
    {
        if (_misplacedToSkip is not { } skip) return [];
        var found = new List<(string OriginKey, long OriginOffset)>();
        plan.Outbound.RemoveAll(o =>
        {
            var id = (o.Provenance.OriginKey, o.Provenance.OriginOffset);
            if (!skip.Contains(id)) return false;
            found.Add(id);
            return true;
        });
        return found;
    }

    /// <summary>
    /// Takes out of the plan the records of an lww topic that lose to what the destination already
    /// holds for their key; returns them, and the records (written or dropped) whose version header was
    /// missing or malformed. Records without a key always append.
    /// </summary>
    private async Task<(List<OutboundRecord> Losers, HashSet<OutboundRecord> BadVersions)> DropConflictLosersAsync(BatchPlan plan, ConflictPolicySettings lww)
    {
        if (_lwwRule is null || _lwwRuleFor != lww)
        {
            _lwwRule = new LwwRule(lww.VersionHeader);
            _lwwRuleFor = lww;
        }
        var badVersions = new HashSet<OutboundRecord>(ReferenceEqualityComparer.Instance);
        var keyed = plan.Outbound.Where(o => o.Key is not null).ToList();
        if (keyed.Count == 0) return ([], badVersions);
        var versions = keyed.Select(o =>
        {
            var version = _lwwRule.VersionOf(o, out var bad);
            if (bad) badVersions.Add(o);
            return new VersionedKey(o.Key!, version.Value, version.OriginRegion, version.OriginOffset);
        }).ToList();
        var write = await GrainFactory.GetGrain<IConflictGrain>(GrainKeys.RegionPartition(_destination, _destinationTopic, _partition)).ShouldWriteAsync(lww, versions);
        var losers = keyed.Where((_, i) => !write[i]).ToList();
        if (losers.Count > 0)
        {
            var drop = new HashSet<OutboundRecord>(losers, ReferenceEqualityComparer.Instance);
            plan.Outbound.RemoveAll(drop.Contains);
        }
        return (losers, badVersions);
    }

    private string SourceLostMessage(long sourceEnd, long read) =>
        $"{_source} {_topic}/{_partition} ends at offset {sourceEnd}, before offset {read} that the mesh already read, and {_source}'s Kafka is " +
        "the same cluster: the topic was deleted and re-created, or the cluster lost data. Replication of this partition stopped rather than " +
        "mistake new records for ones already replicated.";

    // Records that failed while later ones were written are not in the destination: they go to the
    // quarantine (a replay puts them back, after the records that followed them), never past in silence.
    private async Task QuarantineHolesAsync(PartitionReplication replication, BatchPlan plan, WriteHoleException hole, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var index in hole.Failed)
        {
            var sourceOffset = plan.Outbound[index].SourceOffset;
            var record = _buffer.First(r => r.Offset == sourceOffset);
            var held = new HeldRecord(record, DecisionKind.Quarantine, QuarantineKinds.WriteFailed,
                $"offset {sourceOffset}: writing it failed ({hole.Reason}) after records that followed it were written");
            await QuarantineAsync(replication.QuarantineEntryFor(held, now), cancellationToken);
            LogQuarantined(Key, sourceOffset, held.QuarantineKind, held.Reason);
        }
        replication.CommitWithHoles(plan, hole.EndOffset, hole.Failed);
        CountWritten(plan.Outbound.Where((_, i) => !hole.Failed.Contains(i)).ToList());
        DropCommitted(replication);
        await WriteCheckpointAsync(cancellationToken);
    }

    private void DropCommitted(PartitionReplication replication)
    {
        var next = replication.NextSourceOffset;
        _buffer.RemoveAll(r => r.Offset < next);
    }

    private void CountWritten(IReadOnlyList<OutboundRecord> written)
    {
        if (written.Count == 0) return;
        var now = time.GetUtcNow();
        _replicated += written.Count;
        _latestReplicatedAt = now;
        var nowMs = now.ToUnixTimeMilliseconds();
        _latestLatencyMs = Math.Max(0, nowMs - written[^1].Provenance.OriginTimestampMs);
        // One pass over the batch: each record's latency into the status window and the meter.
        (_metrics ??= metrics.For(_source, _destination, _topic, _partition))
            .Written(written, nowMs, _feed?.HighWatermark, _replication!.NextSourceOffset, _latencies ??= new LatencyWindow(time));
    }

    // Untrusted headers are expected (stream processors copy headers); say so, but not once per record.
    private void NoteUntrusted(int count, string latest)
    {
        _untrusted += count;
        if (_lastUntrustedLogAt != long.MinValue && time.GetElapsedTime(_lastUntrustedLogAt) < UntrustedLogInterval) return;
        _lastUntrustedLogAt = time.GetTimestamp();
        LogUntrusted(Key, _untrusted, latest);
    }

    private async Task WriteCheckpointAsync(CancellationToken cancellationToken)
    {
        await SaveCheckpointAsync(_replication!.Checkpoint(), cancellationToken);
        _lastCheckpointAt = time.GetTimestamp();
        _checkpointDirty = false;
    }

    private void Stop(string error, bool needsRebuild = false, bool log = true)
    {
        _needsRebuild = needsRebuild;
        _state = ReplicationState.Stopped;
        _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _error = error;
        Reset();
        if (log) LogStopped(Key, error);
    }

    private void Reset()
    {
        if (_replication is not null)
        {
            _quarantined = _replication.RecordsQuarantined;
            _expired = _replication.RecordsExpired;
            _replication.Dispose();
        }
        _replication = null;
        if (_wake is not null) identity.StopWaking(_destination, _wake);
        CloseTransactions();
        _feed?.Dispose();
        _feed = null;
        _buffer.Clear();
        _pendingGap = null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: now carries origins {Gained} as well; re-reading the source from offset {Next} for their records up to offset {Until}; origin vector [{Vector}]")]
    private partial void LogGained(string key, string gained, long next, long until, string vector);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: new assignment (topology version {Version}, origins {Origins}); checkpointed and recovering on it")]
    private partial void LogReassigned(string key, long version, string origins);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: paused; checkpointed")]
    private partial void LogPaused(string key);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Key}: paused before it first runs")]
    private partial void LogPausedBeforeRunning(string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: reading the source from offset {Low} (the start of its log; its end is {High}) into the whole destination; checkpoint written. Why: {Why}")]
    private partial void LogLinkStarted(string key, long low, long high, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: the destination came back as a new incarnation {Incarnation} (was {OldIncarnation}): it lost its data; rebuilding it from the source")]
    private partial void LogDestinationReincarnated(string key, string oldIncarnation, string incarnation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: rebuild requested: {Reason}")]
    private partial void LogRebuildRequested(string key, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: rebuilt: read the {Records} records the source held when the rebuild began, in {Seconds:0.0} s")]
    private partial void LogRebuilt(string key, long records, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: the source came back as a new incarnation {Incarnation} (was {OldIncarnation}, read up to offset {OldNext}); replicating its new log from its start")]
    private partial void LogSourceReincarnated(string key, string oldIncarnation, long oldNext, string incarnation);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: resuming at source offset {Next}, origin vector [{Vector}], checkpointed destination end {CheckpointEnd}, destination end {End}")]
    private partial void LogRecovered(string key, long next, string vector, long checkpointEnd, long end);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: {Count} records (source offsets {From}..{To}) expired in {Source} before they were replicated; counted as recordsExpiredBeforeReplication")]
    private partial void LogExpired(string key, long count, long from, long to, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: source offset {Offset} quarantined ({Kind}): {Reason}")]
    private partial void LogQuarantined(string key, long offset, string kind, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: {Count} records so far carried a provenance header the mesh does not trust and were replicated as records of their source region; latest: {Latest}")]
    private partial void LogUntrusted(string key, long count, string latest);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: transient failure, recovering from the checkpoint")]
    private partial void LogTransientFailure(Exception e, string key);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Key}: replication stopped: {Error}")]
    private partial void LogStopped(string key, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: claimed as epoch {Epoch} (previous claim: {Previous})")]
    private partial void LogClaimed(string key, long epoch, string previous);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: claimed as epoch {Epoch}; the previous claim (epoch {Previous}) was not released, so its writes may " +
        "still be in flight: waiting {Seconds:0.0} s before reading the destination back")]
    private partial void LogTakingOver(string key, long epoch, long previous, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: fenced by epoch {Latest} from {Holder} (this activation's claim: epoch {Epoch}); it writes nothing more")]
    private partial void LogFenced(string key, long epoch, long latest, string holder);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: fenced, and the claim that fenced it (epoch {Epoch}) was released: deactivating, so the next call starts afresh")]
    private partial void LogSteppingAside(string key, long epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: released claim epoch {Epoch}")]
    private partial void LogReleased(string key, long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: could not release claim epoch {Epoch}; the next activation waits out the take-over grace")]
    private partial void LogReleaseFailed(Exception e, string key, long epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: exactly-once: records and checkpoint in one transaction per batch, transactional id {TransactionalId}")]
    private partial void LogTransactionsReady(string key, string transactionalId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: exactly-once: the batch's transaction was aborted; recovering from the checkpoint, then writing it again")]
    private partial void LogAborted(string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: could not write the checkpoint on deactivation")]
    private partial void LogCheckpointFailed(Exception e, string key);
}

/// <summary>The destination holds fewer records than the mesh wrote there: the partition stops until a rebuild.</summary>
internal sealed class DestinationLostException(string message) : Exception(message);

/// <summary>A newer claim on the partition exists: this activation must never write again.</summary>
internal sealed class FencedException(Claim latest) : Exception($"fenced by epoch {latest.Epoch} from {latest.Holder}")
{
    public Claim Latest { get; } = latest;
}

/// <summary>The source's or destination's cluster is not the one the replicator was working with; recovery decides what follows.</summary>
internal sealed class SourceChangedException(string message) : Exception(message);
