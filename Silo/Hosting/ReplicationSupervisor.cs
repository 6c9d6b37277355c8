using Mesh.Core.Topology;
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
/// Keeps the region's topology grain active and offers it the topology file this silo started with;
/// the topology grain keeps the links running. Each silo does this (the calls are idempotent, and when
/// a silo dies Orleans re-activates its grains on the next ping elsewhere) and keeps its own Kafka
/// connections in step with the applied topology. First it creates the mesh's internal topics and
/// checks that the checkpoint topic is compacted: replication does not start on a checkpoint topic
/// that would lose checkpoints.
/// </summary>
internal sealed partial class ReplicationSupervisor(
    IGrainFactory grains,
    ReplicationReadiness readiness,
    ITopicCatalog catalog,
    KafkaCheckpointStore checkpoints,
    IRegionConnections connections,
    MeshSiloHosting.TopologyStartup startup,
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
        var startupDocument = string.IsNullOrEmpty(startup.File) ? null : await File.ReadAllTextAsync(startup.File, stoppingToken);
        if (startupDocument is not null && Topology.Load(startupDocument, startup.File).Topology is { } fromFile) connections.Update(fromFile);
        var topologyGrain = grains.GetGrain<ITopologyGrain>(region);

        using var timer = new PeriodicTimer(PingInterval);
        long running = -1;
        do
        {
            try
            {
                await topologyGrain.EnsureRunningAsync(startupDocument);
                await grains.GetGrain<ISpreadGrain>(region).EnsureRunningAsync();
                var applied = await topologyGrain.GetAsync();
                if (applied.Version != running)
                {
                    // This silo's replicators need the connections of whatever regions the version names.
                    if (Topology.Load(applied.Document, "applied topology").Topology is { } topology) connections.Update(topology);
                    running = applied.Version;
                    if (applied.Version == 0) LogNoTopology(region);
                    else LogRunning(region, applied.Version, applied.Links.Count == 0 ? "(no inbound link)" : string.Join("; ", applied.Links));
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogPingFailed(e, region);
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
            (InternalTopics.Topology, InternalTopics.TopologyPartitions, InternalTopics.TopologyConfigs),
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Region {Region} runs topology version {Version}: {Links}")]
    private partial void LogRunning(string region, long version, string links);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Region {Region} has no topology yet (no Mesh:Topology:File, none persisted): it runs no link until 'mesh topology apply' gives it one")]
    private partial void LogNoTopology(string region);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not reach the topology grain of {Region}; retrying")]
    private partial void LogPingFailed(Exception e, string region);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot read the configs of {Topic}; not checking how long it keeps quarantined records")]
    private partial void LogQuarantineConfigsUnreadable(Exception e, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Problem}; set retention.ms=-1 and cleanup.policy=delete on it")]
    private partial void LogQuarantineTopicMisconfigured(string problem);
}
