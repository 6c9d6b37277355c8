using Mesh.Core.Offsets;
using Mesh.Core.Topology;
using Mesh.Grains;
using Mesh.Grains.Options;
using Mesh.Kafka.Offsets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Silo.Hosting;

/// <summary>
/// Runs <see cref="OffsetSync"/> at the interval the applied topology's <c>offsets:</c> section gives
/// (re-read from the region's topology grain each round, so an apply changes it without a restart).
/// The rounds run on their own thread: the Kafka calls they make block.
/// </summary>
internal sealed partial class OffsetSyncService(
    IGrainFactory grains,
    ReplicationReadiness readiness,
    OffsetSync sync,
    IOptions<ReplicationOptions> options,
    ILogger<OffsetSyncService> logger) : BackgroundService
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(5);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var region = options.Value.LocalRegion;
        while (!readiness.IsReady) await Task.Delay(200, stoppingToken);
        var topologyGrain = grains.GetGrain<ITopologyGrain>(region);
        long version = -1;
        Topology? topology = null;
        var settings = OffsetSyncSettings.Disabled;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var applied = await topologyGrain.GetAsync();
                if (applied.Version != version)
                {
                    topology = applied.Version == 0 ? null : Topology.Load(applied.Document, "applied topology").Topology;
                    settings = OffsetSyncSettings.From(topology?.Offsets);
                    version = applied.Version;
                    if (settings.Enabled) LogEnabled(region, string.Join(", ", settings.Groups), settings.Interval.TotalSeconds);
                }
                if (topology is not null && settings.Enabled) await sync.RunOnceAsync(topology, settings, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRoundFailed(e, region);
            }
            await Task.Delay(settings.Enabled ? settings.Interval : Idle, stoppingToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Region {Region} syncs the offsets of consumer groups {Groups} every {Seconds} s")]
    private partial void LogEnabled(string region, string groups, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "An offset sync round in {Region} failed; trying again next round")]
    private partial void LogRoundFailed(Exception e, string region);
}
