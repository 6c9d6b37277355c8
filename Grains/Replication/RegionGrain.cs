namespace Mesh.Grains.Replication;

/// <summary>The region's status: its topology version and every inbound link it runs, asked in parallel.</summary>
public sealed class RegionGrain : Grain, IRegionGrain
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public async Task<RegionStatus> GetStatusAsync()
    {
        var region = this.GetPrimaryKeyString();
        var topology = await GrainFactory.GetGrain<ITopologyGrain>(region).GetAsync().WaitAsync(AskTimeout);
        var assignments = (topology.Assignments ?? []).OrderBy(a => a.Source, StringComparer.Ordinal).ThenBy(a => a.Destination, StringComparer.Ordinal).ToArray();
        var inbound = Task.WhenAll(assignments.Where(a => a.Destination == region).Select(a => LinkStatusAsync(a.Source, a.Destination)));
        var push = Task.WhenAll(assignments.Where(a => a.Source == region).Select(a => LinkStatusAsync(a.Source, a.Destination)));
        return new RegionStatus(region, await inbound, topology.Version, topology.Name, await push);
    }

    private async Task<LinkStatus> LinkStatusAsync(string source, string destination)
    {
        try
        {
            return await GrainFactory.GetGrain<ILinkGrain>(GrainKeys.Link(source, destination)).GetStatusAsync().WaitAsync(AskTimeout);
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            return new LinkStatus(source, destination, [], $"link not answering (its silo may have just died): {e.GetBaseException().Message}", null);
        }
    }
}
