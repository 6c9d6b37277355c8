namespace Mesh.Core.Topology;

/// <summary>
/// One link as the region that runs it sees it: where records come from and go to, which topics,
/// which origins (the topology's forwarding row) and how remote topics are named. Derived from the
/// model only, so the topology grain, the link grain and the tests share one meaning of a link.
/// </summary>
/// <param name="AllOrigins">Prefix naming: every origin crosses (loops are cut by topic name and hops).</param>
/// <param name="Origins">Identity naming: the origins the link carries, sorted; never empty.</param>
public sealed record LinkPlan(
    string From,
    string To,
    LinkMode Mode,
    TopicSelector Topics,
    bool AllOrigins,
    ValueList<string> Origins,
    NamingPolicy Naming)
{
    public string Key => $"{From}->{To}";

    public override string ToString() =>
        $"{From} -> {To} ({(AllOrigins ? "every origin" : "origins " + string.Join(", ", Origins))}; {Topics}{(Mode == LinkMode.Push ? "; push" : "")})";
}

/// <summary>
/// The links one region runs under a topology: pull links into it (its silos read the source), and
/// push links out of it (its silos write into a destination that cannot open connections to it).
/// </summary>
public static class RegionPlan
{
    public static IReadOnlyList<LinkPlan> For(Topology topology, string region)
    {
        if (!topology.HasRegion(region)) return [];
        var plans = new List<LinkPlan>();
        var runHere = topology.Links.Where(l => (l.To == region && l.Mode == LinkMode.Pull) || (l.From == region && l.Mode == LinkMode.Push));
        foreach (var link in runHere)
        {
            if (!link.Carries) continue;
            if (topology.Naming == NamingPolicy.Prefix)
            {
                plans.Add(new LinkPlan(link.From, link.To, link.Mode, link.Topics, true, [], topology.Naming));
                continue;
            }
            var origins = topology.Forwarding.OriginsCarried(link.From, link.To).Order(StringComparer.Ordinal).ToValueList();
            // A link whose source is never the predecessor on any route moves no record (a longer
            // parallel path, say): nothing to run.
            if (origins.Count == 0) continue;
            plans.Add(new LinkPlan(link.From, link.To, link.Mode, link.Topics, false, origins, topology.Naming));
        }
        return plans;
    }
}
