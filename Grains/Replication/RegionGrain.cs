using Mesh.Grains.Options;
using Microsoft.Extensions.Options;

namespace Mesh.Grains.Replication;

/// <summary>The region's status: every inbound link, asked in parallel.</summary>
public sealed class RegionGrain(IOptions<ReplicationOptions> options) : Grain, IRegionGrain
{
    public async Task<RegionStatus> GetStatusAsync()
    {
        var region = this.GetPrimaryKeyString();
        var links = await Task.WhenAll(options.Value.Peers.Select(peer =>
            GrainFactory.GetGrain<ILinkGrain>(GrainKeys.Link(peer, region)).GetStatusAsync()));
        return new RegionStatus(region, links);
    }
}
