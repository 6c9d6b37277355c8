using Mesh.Grains.Ports;
using Microsoft.Extensions.Logging;

namespace Mesh.Grains.Backup;

/// <summary>
/// A region's backup (key: region id): every few seconds lists the region's topics, keeps a partition
/// archiver running on each partition the backup covers and stops those it no longer covers, as a link
/// grain keeps its replicators. Its timer keeps it (and through its calls, the archivers) alive; the
/// topology grain hands it each version's backup section.
/// </summary>
public sealed partial class BackupGrain(ITopicCatalog catalog, ILogger<BackupGrain> logger) : Grain, IBackupGrain
{
    private static readonly TimeSpan ReconcileInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ArchiverCallTimeout = TimeSpan.FromSeconds(60);

    private string _region = "";
    private BackupAssignment? _assignment;
    // Partitions whose archiver was last given the current assignment; others are (re)started next round.
    private readonly Dictionary<string, BackupAssignment> _running = new(StringComparer.Ordinal);
    private IGrainTimer? _timer;
    private string? _error;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _region = this.GetPrimaryKeyString();
        return Task.CompletedTask;
    }

    public async Task ApplyAsync(BackupAssignment? assignment)
    {
        if (assignment is null)
        {
            if (_assignment is null && _running.Count == 0) return;
            _assignment = null;
            await ReconcileAsync(CancellationToken.None);
            _timer?.Dispose();
            _timer = null;
            LogStopped(_region);
            DeactivateOnIdle();
            return;
        }
        if (_assignment is { } current && current.SameAs(assignment))
        {
            _assignment = assignment;
            return;
        }
        LogApplied(_region, assignment.TopologyVersion, assignment.Store, assignment.Topics is null ? "every replicated topic" : string.Join(", ", assignment.Topics));
        _assignment = assignment;
        _timer ??= this.RegisterGrainTimer(ReconcileAsync, new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = ReconcileInterval, KeepAlive = true });
        await ReconcileAsync(CancellationToken.None);
    }

    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var desired = new Dictionary<string, BackupAssignment>(StringComparer.Ordinal);
        if (_assignment is { } assignment)
        {
            IReadOnlyDictionary<string, int> topics;
            try
            {
                topics = await catalog.ListTopicsAsync(_region, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Report($"listing the topics of {_region}: {e.GetBaseException().Message}");
                return;
            }
            foreach (var (topic, partitions) in topics)
            {
                if (!assignment.Covers(topic)) continue;
                for (var p = 0; p < partitions; p++) desired[GrainKeys.RegionPartition(_region, topic, p)] = assignment;
            }
        }

        var errors = new List<string>();
        foreach (var key in _running.Keys.Where(k => !desired.ContainsKey(k)).ToArray())
        {
            try
            {
                await Archiver(key).StopAsync().WaitAsync(ArchiverCallTimeout, cancellationToken);
                _running.Remove(key);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                errors.Add($"stopping {key}: {e.GetBaseException().Message}");
            }
        }
        // Every round, not only on changes: the call re-activates an archiver whose silo died.
        var results = await Task.WhenAll(desired.Select(async entry =>
        {
            try
            {
                await Archiver(entry.Key).EnsureRunningAsync(entry.Value).WaitAsync(ArchiverCallTimeout, cancellationToken);
                return (entry.Key, Error: (string?)null);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return (entry.Key, Error: $"starting {entry.Key}: {e.GetBaseException().Message}");
            }
        }));
        foreach (var (key, error) in results)
        {
            if (error is null) _running[key] = desired[key];
            else errors.Add(error);
        }
        Report(errors.Count == 0 ? null : string.Join("; ", errors));
    }

    private void Report(string? error)
    {
        if (error is not null && error != _error) LogReconcileFailed(_region, error);
        _error = error;
    }

    private IPartitionArchiverGrain Archiver(string key) => GrainFactory.GetGrain<IPartitionArchiverGrain>(key);

    public async Task<BackupStatus> GetStatusAsync()
    {
        var keys = _running.Keys.Order(StringComparer.Ordinal).ToArray();
        var statuses = await Task.WhenAll(keys.Select(async key =>
        {
            try
            {
                return await Archiver(key).GetStatusAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                var (_, topic, partition) = GrainKeys.ParseRegionPartition(key);
                return new ArchiverStatus(topic, partition, false, 0, null, 0, 0, 0, 0, 0, 0, 0, 0, 0, $"did not answer: {e.GetBaseException().Message}");
            }
        }));
        return new BackupStatus(_region, _assignment?.Store, _assignment?.TopologyVersion ?? 0, statuses, _error);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Region {Region} backs up (topology version {Version}) to {Store}: {Topics}")]
    private partial void LogApplied(string region, long version, string store, string topics);

    [LoggerMessage(Level = LogLevel.Information, Message = "Region {Region}: the topology has no backup section any more; the backup stopped")]
    private partial void LogStopped(string region);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Region {Region}'s backup is not all running (retried every few seconds): {Errors}")]
    private partial void LogReconcileFailed(string region, string errors);
}
