using Mesh.Grains.Options;
using Microsoft.Extensions.Options;

namespace Mesh.Grains.Replication;

/// <summary>The region's status: every inbound link, asked in parallel.</summary>
public sealed class RegionGrain(IOptions<ReplicationOptions> options) : Grain, IRegionGrain
{
    public async Task<RegionStatus> GetStatusAsync()
    {
        var region = this.GetPrimaryKeyString();
        var links = await Task.WhenAll(options.Value.Peers.Select(peer => LinkStatusAsync(peer, region)));
        return new RegionStatus(region, links);
    }

    private async Task<LinkStatus> LinkStatusAsync(string peer, string region)
    {
        try
        {
            return await GrainFactory.GetGrain<ILinkGrain>(GrainKeys.Link(peer, region)).GetStatusAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            return new LinkStatus(peer, region, [], $"link not answering (its silo may have just died): {e.GetBaseException().Message}", null);
        }
    }
}
