namespace Mesh.Core.Topology;

/// <summary>
/// The records of <paramref name="Origin"/> reach <paramref name="Destination"/> over <paramref name="Before"/>
/// and, after a change, over <paramref name="After"/>, and the two links run in different regions.
/// </summary>
public sealed record RouteMove(string Destination, string Origin, Link Before, Link After)
{
    public string RunsBefore => LinkPause.RunsIn(Before);

    public string RunsAfter => LinkPause.RunsIn(After);
}

/// <summary>
/// Route changes the regions cannot order by themselves. Each region stops the links that lose an origin
/// before it starts the links that gain it, but only among the links it runs: a pull link runs in its
/// destination, a push link in its source. When an origin moves from a link run in one region to a link
/// run in another, the new link may read the destination (to learn where to go on from) while the old one
/// still writes there, and records are written twice.
/// </summary>
public static class RouteMoves
{
    /// <summary>Every (destination, origin) whose carrier moves to a link run in another region; empty under prefix naming.</summary>
    public static IReadOnlyList<RouteMove> AcrossRegions(Topology before, Topology after)
    {
        // Prefix naming writes what each link carries into topics named after its source: two links never write the same topic.
        if (before.Naming == NamingPolicy.Prefix || after.Naming == NamingPolicy.Prefix) return [];
        var oldCarriers = Carriers(before);
        var moves = new List<RouteMove>();
        foreach (var (key, link) in Carriers(after))
        {
            if (oldCarriers.GetValueOrDefault(key) is not { } was || LinkPause.RunsIn(was) == LinkPause.RunsIn(link)) continue;
            moves.Add(new RouteMove(key.Destination, key.Origin, was, link));
        }
        return [.. moves.OrderBy(m => m.Destination, StringComparer.Ordinal).ThenBy(m => m.Origin, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The moves of <paramref name="after"/> whose old link is not paused in the region that runs it: what each
    /// region runs (its own document decides what its links carry) and the pauses it holds. A region whose
    /// topology could not be read (<see cref="RegionRuns.Runs"/> null) is taken to run what the others run,
    /// with no pause known.
    /// </summary>
    public static IReadOnlyList<RouteMove> Unpaused(IReadOnlyList<RegionRuns> regions, Topology after)
    {
        var known = regions.Where(r => r.Runs is not null).Select(r => r.Runs!).DistinctBy(t => t.Document).ToList();
        var moves = new List<RouteMove>();
        foreach (var region in regions)
        {
            foreach (var before in region.Runs is { } runs ? [runs] : known)
                moves.AddRange(AcrossRegions(before, after).Where(m =>
                    m.RunsBefore == region.Region && !(region.Runs is not null && LinkPause.IsPaused(m.Before, region.Paused))));
        }
        return [.. moves.Distinct().OrderBy(m => m.Destination, StringComparer.Ordinal).ThenBy(m => m.Origin, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Why a version with such moves is refused and what to do instead, one line each: per old link, the destination,
    /// the origins that move and between which links; then the commands (pause the old links, apply, resume the
    /// ones that remain). <paramref name="file"/> names the file in the commands.
    /// </summary>
    public static IReadOnlyList<string> Refusal(IReadOnlyList<RouteMove> moves, Topology after, string file)
    {
        var lines = new List<string>
        {
            $"{file} version {after.Version} moves routes between links that run in different regions. A region stops the old carrier of a route " +
            "before it starts the new one only among the links it runs itself (a pull link runs in its destination, a push link in its source), " +
            "so the new link could write records the old one is still writing:",
        };
        var byOldLink = moves.GroupBy(m => m.Before).OrderBy(g => g.Key.To, StringComparer.Ordinal).ThenBy(g => g.Key.From, StringComparer.Ordinal).ToList();
        foreach (var group in byOldLink)
        {
            foreach (var to in group.GroupBy(m => m.After))
                lines.Add($"  into {group.Key.To}: the records of {string.Join(", ", to.Select(m => m.Origin))} move from {Describe(group.Key)} to {Describe(to.Key)}");
        }
        lines.Add("fix: pause the links that carry them now (each checkpoints and stops writing), apply, then resume the links the new version keeps; " +
                  "records of the moved origins continue over the new links from where the old ones stopped, exactly once " +
                  "(give each command this apply's --dir or --gateways):");
        foreach (var group in byOldLink) lines.Add($"  mesh link pause {group.Key.From} {group.Key.To}");
        lines.Add($"  mesh topology apply {file}");
        foreach (var group in byOldLink)
        {
            lines.Add(after.FindLink(group.Key.From, group.Key.To) is { } kept && LinkPause.RunsIn(kept) == LinkPause.RunsIn(group.Key)
                ? $"  mesh link resume {group.Key.From} {group.Key.To}"
                : $"  ({group.Key} is not run in {LinkPause.RunsIn(group.Key)} by version {after.Version}: its pause goes with it)");
        }
        lines.Add("Nothing was applied.");
        return lines;
    }

    private static string Describe(Link link) =>
        $"{link.From} -> {link.To} ({(link.Mode == LinkMode.Push ? "push" : "pull")}, run in {LinkPause.RunsIn(link)})";

    /// <summary>The link that carries each origin's records into each destination (one: the route's last hop).</summary>
    private static Dictionary<(string Destination, string Origin), Link> Carriers(Topology topology)
    {
        var carriers = new Dictionary<(string, string), Link>();
        foreach (var entry in topology.Forwarding.Entries)
        {
            if (topology.FindLink(entry.From, entry.To) is not { Carries: true } link) continue;
            foreach (var origin in entry.Origins.Where(o => o != entry.To)) carriers[(entry.To, origin)] = link;
        }
        return carriers;
    }
}

/// <summary>What one region runs: its topology (null when it could not be read) and the pauses it holds.</summary>
public sealed record RegionRuns(string Region, Topology? Runs, IReadOnlyList<string> Paused);

/// <summary>Where a link runs, and how its region keeps a pause of it.</summary>
public static class LinkPause
{
    /// <summary>A pull link runs in its destination, a push link in its source.</summary>
    public static string RunsIn(Link link) => link.Mode == LinkMode.Push ? link.From : link.To;

    /// <summary>The entry of the whole link in the paused list of the region it runs in: the source's id for a pull link, <c>-&gt;destination</c> for a push link.</summary>
    public static string Entry(LinkMode mode, string from, string to) => mode == LinkMode.Push ? "->" + to : from;

    /// <summary>The whole link (not only some of its topics) is paused in <paramref name="paused"/>, the list of the region it runs in.</summary>
    public static bool IsPaused(Link link, IEnumerable<string> paused) => paused.Contains(Entry(link.Mode, link.From, link.To), StringComparer.Ordinal);

    /// <summary>
    /// The entries of <paramref name="paused"/> (whole links, or <c>entry/topic</c>) whose link <paramref name="region"/>
    /// still runs under <paramref name="topology"/>: a version that drops a link (or moves it to the other region by
    /// changing its mode) drops its pause, so the link does not come back paused in a later version.
    /// </summary>
    public static IReadOnlyList<string> Kept(IEnumerable<string> paused, Topology topology, string region)
    {
        var entries = topology.Links.Where(l => RunsIn(l) == region).Select(l => Entry(l.Mode, l.From, l.To)).ToHashSet(StringComparer.Ordinal);
        return [.. paused.Where(p => entries.Contains(p.Split('/', 2)[0]))];
    }
}
