using Mesh.Grains;
using Mesh.Grains.Options;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Mesh.Kafka.Replication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Silo.Hosting;

/// <summary>
/// Keeps every inbound link grain of this region active. Each silo does this; the calls are
/// idempotent, and when a silo dies Orleans re-activates its grains on the next ping elsewhere.
/// First it creates the mesh's internal topics and checks that the checkpoint topic is compacted:
/// replication does not start on a checkpoint topic that would lose checkpoints.
/// </summary>
internal sealed partial class ReplicationSupervisor(
    IGrainFactory grains,
    ReplicationReadiness readiness,
    ITopicCatalog catalog,
    KafkaCheckpointStore checkpoints,
    IOptions<ReplicationOptions> options,
    IOptions<KafkaRegionsOptions> clusters,
    ILogger<ReplicationSupervisor> logger) : BackgroundService
{
    private static readonly TimeSpan PingInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan InternalTopicsRetry = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ConfigCheckRetry = TimeSpan.FromSeconds(5);
    // The error repeats at this pace while the topic stays wrong, so it is in any recent log.
    private static readonly TimeSpan ConfigErrorRepeat = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var region = options.Value.LocalRegion;
        await PrepareInternalTopicsAsync(region, stoppingToken);
        checkpoints.Start();
        await WaitForSilosAsync(stoppingToken);
        LogStarted(region, string.Join(", ", options.Value.Peers));

        using var timer = new PeriodicTimer(PingInterval);
        do
        {
            foreach (var peer in options.Value.Peers)
            {
                try
                {
                    await grains.GetGrain<ILinkGrain>(GrainKeys.Link(peer, region)).EnsureRunningAsync();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogPingFailed(e, peer, region);
                }
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>
    /// Creates the internal topics (an existing one is kept as it is), then waits until the checkpoint
    /// topic is compacted. A wrong policy is an operator's to fix; once fixed, the next check lets the
    /// silo go on without a restart. Configs that cannot be read (no DescribeConfigs permission) are
    /// not a reason to stop: the topic was most likely created by this code.
    /// </summary>
    private async Task PrepareInternalTopicsAsync(string region, CancellationToken stoppingToken)
    {
        foreach (var (topic, partitions, configs) in new[]
        {
            (InternalTopics.Checkpoints, InternalTopics.CheckpointPartitions, InternalTopics.CheckpointConfigs),
            (InternalTopics.Quarantine, InternalTopics.QuarantinePartitions, InternalTopics.QuarantineConfigs),
        })
        {
            while (true)
            {
                try
                {
                    await catalog.CreateTopicAsync(region, topic, partitions, configs, stoppingToken);
                    break;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogInternalTopicUnavailable(e, topic);
                    await Task.Delay(InternalTopicsRetry, stoppingToken);
                }
            }
        }

        await WarnAboutQuarantineConfigsAsync(region, stoppingToken);

        string? lastProblem = null;
        var lastLoggedAt = DateTimeOffset.MinValue;
        while (true)
        {
            IReadOnlyDictionary<string, string>? configs;
            try
            {
                configs = await catalog.GetTopicConfigsAsync(region, InternalTopics.Checkpoints, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogCheckpointConfigsUnreadable(e, InternalTopics.Checkpoints);
                return;
            }
            var problem = configs is null
                ? $"topic {InternalTopics.Checkpoints} was created but the cluster does not report it yet"
                : InternalTopics.CheckpointConfigProblem(configs);
            if (problem is null)
            {
                if (lastProblem is not null) LogCheckpointTopicFixed(InternalTopics.Checkpoints);
                return;
            }
            if (problem != lastProblem || DateTimeOffset.UtcNow - lastLoggedAt >= ConfigErrorRepeat)
            {
                if (configs is null) LogCheckpointTopicNotVisible(problem);
                else LogCheckpointTopicMisconfigured(problem, InternalTopics.CheckpointConfigFix(clusters.Value.Local.BootstrapServers));
                lastProblem = problem;
                lastLoggedAt = DateTimeOffset.UtcNow;
            }
            await Task.Delay(ConfigCheckRetry, stoppingToken);
        }
    }

    // Unlike a checkpoint topic that is not compacted, a quarantine that expires is not a reason to stop
    // replicating: say so once, loudly.
    private async Task WarnAboutQuarantineConfigsAsync(string region, CancellationToken stoppingToken)
    {
        try
        {
            if (await catalog.GetTopicConfigsAsync(region, InternalTopics.Quarantine, stoppingToken) is { } configs
                && InternalTopics.QuarantineConfigProblem(configs) is { } problem)
                LogQuarantineTopicMisconfigured(problem);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogQuarantineConfigsUnreadable(e, InternalTopics.Quarantine);
        }
    }

    private async Task WaitForSilosAsync(CancellationToken stoppingToken)
    {
        while (!readiness.IsReady) await Task.Delay(200, stoppingToken);
        if (readiness.ActiveSilos < options.Value.MinimumSilos) LogFewerSilos(readiness.ActiveSilos, options.Value.MinimumSilos);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Starting replication with {Active} active silos, fewer than the {Wanted} expected (Mesh:Replication:MinimumSilos)")]
    private partial void LogFewerSilos(int active, int wanted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot create or read the internal topic {Topic} yet; retrying")]
    private partial void LogInternalTopicUnavailable(Exception e, string topic);

    [LoggerMessage(Level = LogLevel.Error, Message = "Replication is not starting: {Problem}, or checkpoints older than the topic's retention are lost. " +
        "Fix it with: {Fix}. This silo checks again every few seconds and goes on once it is fixed")]
    private partial void LogCheckpointTopicMisconfigured(string problem, string fix);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replication is not starting yet: {Problem}; checking again")]
    private partial void LogCheckpointTopicNotVisible(string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Checkpoint topic {Topic} is compacted now; starting replication")]
    private partial void LogCheckpointTopicFixed(string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot read the configs of {Topic} (does this principal have DescribeConfigs on it?); " +
        "starting replication without checking that it is compacted")]
    private partial void LogCheckpointConfigsUnreadable(Exception e, string topic);

    [LoggerMessage(Level = LogLevel.Information, Message = "Region {Region} replicating from: {Peers}")]
    private partial void LogStarted(string region, string peers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not reach link {Peer}->{Region}; retrying")]
    private partial void LogPingFailed(Exception e, string peer, string region);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot read the configs of {Topic}; not checking how long it keeps quarantined records")]
    private partial void LogQuarantineConfigsUnreadable(Exception e, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Problem}; set retention.ms=-1 and cleanup.policy=delete on it")]
    private partial void LogQuarantineTopicMisconfigured(string problem);
}
