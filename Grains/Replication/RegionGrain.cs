namespace Mesh.Grains.Replication;

/// <summary>The region's status: its topology version and every inbound link it runs, asked in parallel.</summary>
public sealed class RegionGrain : Grain, IRegionGrain
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public async Task<RegionStatus> GetStatusAsync()
    {
        var region = this.GetPrimaryKeyString();
        var topology = await GrainFactory.GetGrain<ITopologyGrain>(region).GetAsync().WaitAsync(AskTimeout);
        var sources = (topology.Assignments ?? []).Select(a => a.Source).Distinct().Order(StringComparer.Ordinal);
        var links = await Task.WhenAll(sources.Select(source => LinkStatusAsync(source, region)));
        return new RegionStatus(region, links, topology.Version, topology.Name);
    }

    private async Task<LinkStatus> LinkStatusAsync(string peer, string region)
    {
        try
        {
            return await GrainFactory.GetGrain<ILinkGrain>(GrainKeys.Link(peer, region)).GetStatusAsync().WaitAsync(AskTimeout);
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            return new LinkStatus(peer, region, [], $"link not answering (its silo may have just died): {e.GetBaseException().Message}", null);
        }
    }
}
