namespace Mesh.Core.Topology;

/// <summary>
/// One link as the region that runs it sees it: where records come from and go to, which topics,
/// which origins (the topology's forwarding row) and how remote topics are named. Derived from the
/// model only, so the topology grain, the link grain and the tests share one meaning of a link.
/// </summary>
/// <param name="AllOrigins">Prefix naming: every origin crosses (loops are cut by topic name and hops).</param>
/// <param name="Origins">Identity naming: the origins the link carries, sorted; never empty.</param>
/// <param name="OwnPast">The source holds the destination's own records (they reach it): after the destination lost its
/// Kafka, this link may be the one that writes back the destination's records of its earlier incarnation. Which of these
/// links does is decided per partition when the rebuild begins: the one whose source holds the most of them.</param>
public sealed record LinkPlan(
    string From,
    string To,
    LinkMode Mode,
    TopicSelector Topics,
    bool AllOrigins,
    ValueList<string> Origins,
    NamingPolicy Naming,
    bool OwnPast = false)
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
            var carried = topology.Forwarding.OriginsCarried(link.From, link.To);
            // A link whose source is never the predecessor on any route moves no record (a longer
            // parallel path, say): nothing to run.
            if (carried.Count == 0) continue;
            plans.Add(new LinkPlan(link.From, link.To, link.Mode, link.Topics, false, carried.Order(StringComparer.Ordinal).ToValueList(), topology.Naming,
                OwnPastSources(topology, link.To).Contains(link.From)));
        }
        return plans;
    }

    /// <summary>
    /// The sources of links into <paramref name="region"/> that hold the region's own records (its records
    /// reach them), sorted: after the region lost its Kafka they can write its earlier records back. None
    /// under prefix naming (its records live in other regions under other names).
    /// </summary>
    public static IReadOnlyList<string> OwnPastSources(Topology topology, string region)
    {
        if (topology.Naming == NamingPolicy.Prefix) return [];
        return [.. topology.Links
            .Where(l => l.To == region && l.Carries && topology.Forwarding.OriginsCarried(l.From, l.To).Count > 0)
            .Select(l => l.From)
            .Where(source => topology.Forwarding.Entries.Any(e => e.To == source && e.Origins.Contains(region)))
            .Distinct()
            .Order(StringComparer.Ordinal)];
    }
}
