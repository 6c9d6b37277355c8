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

/// <summary>The links one region runs under a topology: pull links into it (push links out of it are not run yet).</summary>
public static class RegionPlan
{
    public static IReadOnlyList<LinkPlan> For(Topology topology, string region)
    {
        if (!topology.HasRegion(region)) return [];
        var plans = new List<LinkPlan>();
        foreach (var link in topology.LinksInto(region))
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

    /// <summary>Why the runtime cannot run <paramref name="topology"/> as it is, or null when it can.</summary>
    public static string? Unsupported(Topology topology) =>
        topology.Links.FirstOrDefault(l => l.Mode == LinkMode.Push) is { } push
            ? $"link {push} is in push mode, which the runtime does not run yet; use pull (the default): the destination's silos read the source"
            : null;
}
