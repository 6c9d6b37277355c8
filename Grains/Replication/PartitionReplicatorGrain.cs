using Mesh.Core.Replication;
using Mesh.Grains.Options;
using Mesh.Grains.Ports;
using Orleans.Placement;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Grains.Replication;

/// <summary>
/// Replicates one partition of one topic on one link S -> D, in D's silos. On activation it
/// restores its checkpoint and re-reads what it wrote to D after that checkpoint, so a crash at any
/// point neither loses nor duplicates records. The work itself is a timer turn that drains the
/// shared reader's buffer for this partition in batches.
/// </summary>
[RandomPlacement] // replicators spread over the region's silos; a dead silo's share re-activates on the others
public sealed partial class PartitionReplicatorGrain(
    ISourceFeeds feeds,
    IDestinationLog destination,
    ICheckpointStore checkpoints,
    IOptions<ReplicationOptions> options,
    TimeProvider time,
    ILogger<PartitionReplicatorGrain> logger) : Grain, IPartitionReplicatorGrain
{
    private static readonly TimeSpan TurnBudget = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan IdleWait = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan RetryBackoff = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Running = TimeSpan.FromMilliseconds(1);

    private readonly ReplicationOptions _options = options.Value;
    private readonly List<SourceRecord> _buffer = [];
    private string _source = "", _destination = "", _topic = "";
    private int _partition;
    private PartitionReplication? _replication;
    private ISourcePartitionFeed? _feed;
    private ReplicationState _state = ReplicationState.Starting;
    private string? _error;
    private long _replicated, _skipped;
    private double? _latestLatencyMs;
    private DateTimeOffset? _latestReplicatedAt;
    private long _lastCheckpointAt;
    private bool _checkpointDirty;
    private IGrainTimer? _timer;

    private string Key => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_source, _destination, _topic, _partition) = GrainKeys.ParsePartition(Key);
        // Each turn drains for up to TurnBudget and then yields, so status calls and deactivation get in.
        _timer = this.RegisterGrainTimer(ReplicateAsync, new GrainTimerCreationOptions
        {
            DueTime = TimeSpan.Zero,
            Period = Running,
            KeepAlive = true,
        });
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_replication is not null && _checkpointDirty)
        {
            try { await WriteCheckpointAsync(cancellationToken); }
            catch (Exception e) { LogCheckpointFailed(e, Key); }
        }
        _feed?.Dispose();
        _feed = null;
    }

    public Task EnsureRunningAsync() => Task.CompletedTask;

    public Task<PartitionStatus> GetStatusAsync()
    {
        long? lag = null;
        if (_replication is not null && _feed?.HighWatermark is long high)
            lag = Math.Max(0, high - Math.Max(0, _replication.NextSourceOffset));
        return Task.FromResult(new PartitionStatus(_topic, _partition, _state, _replicated, _skipped, lag,
            _latestLatencyMs, _latestReplicatedAt, _replication?.NextSourceOffset ?? -1, _error));
    }

    private async Task ReplicateAsync(CancellationToken cancellationToken)
    {
        if (_state == ReplicationState.Stopped) return;
        try
        {
            if (_replication is null)
            {
                await RecoverAsync(cancellationToken);
                _timer?.Change(TimeSpan.Zero, Running);
            }
            await RunBatchesAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (ReplicationFailedException e)
        {
            Stop(e.Message);
        }
        catch (Exception e)
        {
            // Transient (a broker down, a timeout): forget in-memory progress and recover from the
            // checkpoint, which re-reads the destination, so nothing half-written is written twice.
            _error = $"retrying after: {e.Message}";
            _state = ReplicationState.Starting;
            _feed?.Dispose();
            _feed = null;
            _replication = null;
            _timer?.Change(RetryBackoff, Running);
            LogTransientFailure(e, Key);
        }
    }

    private async Task RecoverAsync(CancellationToken cancellationToken)
    {
        // First start of this link on this partition: replicate the source from its beginning, and
        // read the whole destination first, so whatever already arrived (over another link, or before
        // a lost checkpoint) is not written again.
        var checkpoint = await checkpoints.ReadAsync(Key, cancellationToken) ?? ReplicationCheckpoint.Initial;

        var replication = new PartitionReplication(_source, _destination, _partition, _options.ForwardingFrom(_source), checkpoint);
        var destinationEnd = await destination.GetEndOffsetAsync(_topic, _partition, cancellationToken);
        if (destinationEnd > checkpoint.DestinationEndOffset)
        {
            await destination.ScanProvenanceAsync(_topic, _partition, checkpoint.DestinationEndOffset, destinationEnd,
                replication.Observe, cancellationToken);
            replication.ObservedUpTo(destinationEnd);
        }

        _replication = replication;
        _feed = feeds.Open(_source, _topic, _partition, replication.NextSourceOffset);
        _state = ReplicationState.Replicating;
        _error = null;
        _checkpointDirty = true;
        LogRecovered(Key, replication.NextSourceOffset, replication.Vector.ToString(), checkpoint.DestinationEndOffset, destinationEnd);
    }

    private async Task RunBatchesAsync(CancellationToken cancellationToken)
    {
        var replication = _replication!;
        var feed = _feed!;
        var started = time.GetTimestamp();
        while (time.GetElapsedTime(started) < TurnBudget)
        {
            if (feed.Error is { } readError) throw new ReplicationFailedException(readError);
            if (!await feed.WaitForRecordsAsync(IdleWait, cancellationToken)) break;

            _buffer.Clear();
            feed.Drain(_buffer, _options.MaxBatchRecords);
            var plan = replication.Plan(_buffer);
            var end = replication.DestinationEndOffset;
            if (plan.Outbound.Count > 0)
                end = await destination.WriteAsync(_topic, _partition, plan.Outbound, cancellationToken);
            replication.Commit(plan, end);
            _checkpointDirty = true;

            _skipped += plan.Skipped.Values.Sum();
            if (plan.Outbound.Count > 0)
            {
                var now = time.GetUtcNow();
                _replicated += plan.Outbound.Count;
                _latestReplicatedAt = now;
                _latestLatencyMs = Math.Max(0, now.ToUnixTimeMilliseconds() - plan.Outbound[^1].Provenance.OriginTimestampMs);
            }
            if (plan.Rejection is not null)
            {
                await WriteCheckpointAsync(cancellationToken);
                throw new ReplicationFailedException($"stopped at source offset {plan.NextSourceOffset}: {plan.Rejection}");
            }
            if (time.GetElapsedTime(_lastCheckpointAt) >= _options.CheckpointInterval)
                await WriteCheckpointAsync(cancellationToken);
        }
        if (_checkpointDirty && time.GetElapsedTime(_lastCheckpointAt) >= _options.CheckpointInterval)
            await WriteCheckpointAsync(cancellationToken);
    }

    private async Task WriteCheckpointAsync(CancellationToken cancellationToken)
    {
        await checkpoints.WriteAsync(Key, _replication!.Checkpoint(), cancellationToken);
        _lastCheckpointAt = time.GetTimestamp();
        _checkpointDirty = false;
    }

    private void Stop(string error)
    {
        _state = ReplicationState.Stopped;
        _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _error = error;
        _feed?.Dispose();
        _feed = null;
        LogStopped(Key, error);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: resuming at source offset {Next}, origin vector [{Vector}], checkpointed destination end {CheckpointEnd}, destination end {End}")]
    private partial void LogRecovered(string key, long next, string vector, long checkpointEnd, long end);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: transient failure, recovering from the checkpoint")]
    private partial void LogTransientFailure(Exception e, string key);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Key}: replication stopped: {Error}")]
    private partial void LogStopped(string key, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: could not write the checkpoint on deactivation")]
    private partial void LogCheckpointFailed(Exception e, string key);
}
