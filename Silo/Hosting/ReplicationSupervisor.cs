using Mesh.Grains;
using Mesh.Grains.Options;
using Mesh.Grains.Ports;
using Mesh.Kafka.Replication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Silo.Hosting;

/// <summary>
/// Keeps every inbound link grain of this region active. Each silo does this; the calls are
/// idempotent, and when a silo dies Orleans re-activates its grains on the next ping elsewhere.
/// </summary>
internal sealed partial class ReplicationSupervisor(
    IGrainFactory grains,
    ReplicationReadiness readiness,
    ITopicCatalog catalog,
    KafkaCheckpointStore checkpoints,
    IOptions<ReplicationOptions> options,
    ILogger<ReplicationSupervisor> logger) : BackgroundService
{
    private static readonly TimeSpan PingInterval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var region = options.Value.LocalRegion;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await catalog.CreateTopicAsync(region, KafkaCheckpointStore.Topic, 1, null, stoppingToken);
                await catalog.CreateTopicAsync(region, KafkaQuarantineStore.Topic, 1, null, stoppingToken);
                checkpoints.Start();
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogCheckpointTopicUnavailable(e, KafkaCheckpointStore.Topic);
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
            }
        }
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

    private async Task WaitForSilosAsync(CancellationToken stoppingToken)
    {
        while (!readiness.IsReady) await Task.Delay(200, stoppingToken);
        if (readiness.ActiveSilos < options.Value.MinimumSilos) LogFewerSilos(readiness.ActiveSilos, options.Value.MinimumSilos);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Starting replication with {Active} active silos, fewer than the {Wanted} expected (Mesh:Replication:MinimumSilos)")]
    private partial void LogFewerSilos(int active, int wanted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot create or read the checkpoint topic {Topic} yet; retrying")]
    private partial void LogCheckpointTopicUnavailable(Exception e, string topic);

    [LoggerMessage(Level = LogLevel.Information, Message = "Region {Region} replicating from: {Peers}")]
    private partial void LogStarted(string region, string peers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not reach link {Peer}->{Region}; retrying")]
    private partial void LogPingFailed(Exception e, string peer, string region);
}
