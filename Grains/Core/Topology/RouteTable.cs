namespace Mesh.Core.Topology;

/// <summary>The path an origin's records take to one destination.</summary>
/// <param name="Path">Regions from <paramref name="Origin"/> to <paramref name="Destination"/>, both included.</param>
public sealed record Route(string Origin, string Destination, ValueList<string> Path)
{
    public int Hops => Path.Count - 1;

    /// <summary>The region that hands the origin's records to the destination.</summary>
    public string Predecessor => Path[^2];

    public override string ToString() => string.Join(" -> ", Path);
}

/// <summary>
/// One route for every (origin, destination) pair that the links connect: a shortest path, with
/// ties broken by region id. The destination's predecessor is, among the regions one hop closer
/// to the origin that link to it, the one whose id sorts first (ordinal). The routes from one
/// origin thus form a tree, which is what makes every record arrive exactly once.
/// </summary>
public sealed class RouteTable
{
    private readonly Dictionary<(string Origin, string Destination), Route> _routes;

    private RouteTable(Dictionary<(string, string), Route> routes, IReadOnlyList<Route> all)
    {
        _routes = routes;
        All = all;
    }

    /// <summary>Every route, ordered by origin then destination.</summary>
    public IReadOnlyList<Route> All { get; }

    public static RouteTable Build(IEnumerable<string> regionIds, IEnumerable<Link> links)
    {
        var ids = regionIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var outgoing = ids.ToDictionary(id => id, _ => new List<string>(), StringComparer.Ordinal);
        foreach (var link in links)
        {
            if (link.Carries && outgoing.TryGetValue(link.From, out var targets) && outgoing.ContainsKey(link.To))
                targets.Add(link.To);
        }

        var routes = new Dictionary<(string, string), Route>();
        var all = new List<Route>();
        foreach (var origin in ids)
        {
            var predecessor = new Dictionary<string, string>(StringComparer.Ordinal);
            var reached = new HashSet<string>(StringComparer.Ordinal) { origin };
            // Layers in ordinal order, so the first region to claim a destination has the smallest id.
            var layer = new List<string> { origin };
            while (layer.Count > 0)
            {
                var next = new List<string>();
                foreach (var region in layer)
                {
                    foreach (var target in outgoing[region])
                    {
                        if (!reached.Add(target)) continue;
                        predecessor[target] = region;
                        next.Add(target);
                    }
                }
                next.Sort(StringComparer.Ordinal);
                layer = next;
            }

            foreach (var destination in ids)
            {
                if (destination == origin || !predecessor.ContainsKey(destination)) continue;
                var path = new List<string> { destination };
                for (var at = destination; at != origin; at = predecessor[at]) path.Add(predecessor[at]);
                path.Reverse();
                var route = new Route(origin, destination, path.ToValueList());
                routes[(origin, destination)] = route;
                all.Add(route);
            }
        }
        return new RouteTable(routes, all);
    }

    /// <summary>The route, or null when the links never bring the origin's records to the destination.</summary>
    public Route? Find(string origin, string destination) => _routes.GetValueOrDefault((origin, destination));
}
