using Mesh.Client.Admin;
using Mesh.Client.Commands;
using Mesh.Grains;

namespace Mesh.Client.Ui;

/// <summary>Where the page's status comes from: the collection <c>mesh status</c> uses, for a local mesh or for regions reached through gateways.</summary>
internal static class StatusSources
{
    public static Func<CancellationToken, Task<IReadOnlyList<StatusCommand.RegionReport>>> For(IRegionGateways regions) => regions switch
    {
        LocalGateways local => cancellationToken => StatusCommand.CollectAsync(local.Mesh, cancellationToken),
        _ => cancellationToken => ThroughGatewaysAsync(regions, cancellationToken),
    };

    /// <summary>
    /// Regions known only by their gateways: each region's status as its silos answer it. Whether its
    /// Kafka and silos run cannot be told from a process here; until status reports what the silos see
    /// of their brokers, an answering region counts as up, with one silo per silo endpoint that runs
    /// replicators, and one that does not answer as unreachable (0 of 0 silos: not known).
    /// </summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(4);

    public static async Task<IReadOnlyList<StatusCommand.RegionReport>> ThroughGatewaysAsync(IRegionGateways regions, CancellationToken cancellationToken) =>
        await Task.WhenAll(regions.Regions.Select(async region =>
        {
            try
            {
                // Shorter than mesh status's 10 s: the page polls every 2 s and a region that does not answer should show soon.
                await using var connection = await regions.ConnectAsync(region, ConnectTimeout, cancellationToken);
                var status = await connection.GetStatusAsync(TimeSpan.FromSeconds(15));
                var silos = Math.Max(1, status.PartitionsPerSilo?.Count ?? 0);
                return new StatusCommand.RegionReport(region, true, silos, silos, true, null, status.InboundLinks, status.TopologyVersion, status.TopologyName,
                    status.PushLinks ?? [], status.Conflicts ?? [], status.PartitionsPerSilo ?? new Dictionary<string, int>());
            }
            catch (Exception e) when (e is IOException or TimeoutException or OrleansException)
            {
                return new StatusCommand.RegionReport(region, true, 0, 0, false, e.Message, []);
            }
        }));
}
