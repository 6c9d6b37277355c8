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
/// checks that the checkpoint and topology topics are compacted and as durable as configured:
/// replication does not start on topics that could lose checkpoints or the applied topology.
/// </summary>
internal sealed partial class ReplicationSupervisor(
    IGrainFactory grains,
    ReplicationReadiness readiness,
    KafkaTopicCatalog catalog,
    InternalTopicDurability durability,
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
    /// Creates the internal topics (an existing one is kept as it is) with the configured durability, then
    /// waits until the checkpoint and topology topics are compacted and as durable as configured. A wrong
    /// topic is an operator's to fix; once fixed, the next check lets the silo go on without a restart.
    /// Configs that cannot be read (no DescribeConfigs permission) are not a reason to stop: the topic was
    /// most likely created by this code. A quarantine that could lose records is only warned about.
    /// </summary>
    private async Task PrepareInternalTopicsAsync(string region, CancellationToken stoppingToken)
    {
        foreach (var topic in InternalTopics.All)
        {
            while (true)
            {
                try
                {
                    await catalog.CreateTopicAsync(region, topic.Name, topic.Partitions, durability.ReplicationFactor,
                        InternalTopics.CreationConfigs(topic, durability), stoppingToken);
                    break;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogInternalTopicUnavailable(e, topic.Name);
                    await Task.Delay(InternalTopicsRetry, stoppingToken);
                }
            }
        }

        var bootstrap = clusters.Value.Local.BootstrapServers;
        var firstPass = true;
        string? lastReport = null;
        var lastLoggedAt = DateTimeOffset.MinValue;
        while (true)
        {
            var waiting = new List<string>();
            foreach (var topic in InternalTopics.All.Where(t => t.Required || firstPass))
            {
                var (problems, why) = await CheckAsync(region, topic, stoppingToken);
                if (!topic.Required)
                {
                    foreach (var problem in problems) LogOptionalTopicMisconfigured(problem.ToString(), InternalTopics.Fix([problem], bootstrap));
                    continue;
                }
                if (why is not null) waiting.Add(why);
                else if (problems.Count > 0)
                    waiting.Add($"{string.Join("; ", problems)}. Fix it with: {InternalTopics.Fix(problems, bootstrap)}");
            }
            firstPass = false;
            if (waiting.Count == 0)
            {
                if (lastReport is not null) LogInternalTopicsFixed();
                return;
            }
            var report = string.Join(" | ", waiting);
            if (report != lastReport || DateTimeOffset.UtcNow - lastLoggedAt >= ConfigErrorRepeat)
            {
                LogInternalTopicsMisconfigured(report);
                lastReport = report;
                lastLoggedAt = DateTimeOffset.UtcNow;
            }
            await Task.Delay(ConfigCheckRetry, stoppingToken);
        }
    }

    /// <summary>
    /// One internal topic's problems; or why it cannot be judged yet (created, not reported yet). A topic
    /// whose configs or metadata cannot be read has no problems: see <see cref="PrepareInternalTopicsAsync"/>.
    /// </summary>
    private async Task<(IReadOnlyList<InternalTopicProblem> Problems, string? Why)> CheckAsync(string region, InternalTopic topic, CancellationToken stoppingToken)
    {
        IReadOnlyDictionary<string, string>? configs;
        try
        {
            configs = await catalog.GetTopicConfigsAsync(region, topic.Name, stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogConfigsUnreadable(e, topic.Name);
            return ([], null);
        }
        if (configs is null) return ([], $"topic {topic.Name} was created but the cluster does not report it yet");
        int? replicas = null;
        if (durability.ReplicationFactor > 0)
        {
            try
            {
                replicas = await catalog.ReplicationFactorAsync(region, topic.Name, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogReplicationFactorUnreadable(e, topic.Name);
            }
        }
        return (InternalTopics.Problems(topic, configs, replicas, durability), null);
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Replication is not starting: {Problems}. " +
        "This silo checks again every few seconds and goes on once it is fixed")]
    private partial void LogInternalTopicsMisconfigured(string problems);

    [LoggerMessage(Level = LogLevel.Information, Message = "The mesh's internal topics are as they must be now; starting replication")]
    private partial void LogInternalTopicsFixed();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot read the configs of {Topic} (does this principal have DescribeConfigs on it?); " +
        "starting replication without checking them")]
    private partial void LogConfigsUnreadable(Exception e, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot read the replication factor of {Topic} from the cluster's metadata; not checking it")]
    private partial void LogReplicationFactorUnreadable(Exception e, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Problem}. Fix it with: {Fix}")]
    private partial void LogOptionalTopicMisconfigured(string problem, string fix);

    [LoggerMessage(Level = LogLevel.Information, Message = "Region {Region} runs topology version {Version}: {Links}")]
    private partial void LogRunning(string region, long version, string links);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Region {Region} has no topology yet (no Mesh:Topology:File, none persisted): it runs no link until 'mesh topology apply' gives it one")]
    private partial void LogNoTopology(string region);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not reach the topology grain of {Region}; retrying")]
    private partial void LogPingFailed(Exception e, string region);
}
