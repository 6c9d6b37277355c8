using Mesh.Core.Replication;

namespace Mesh.Core.Topology;

/// <summary>The origins whose records one link carries.</summary>
public sealed record LinkOrigins(string From, string To, ValueList<string> Origins)
{
    public override string ToString() => $"{From} -> {To}: {(Origins.Count == 0 ? "(none)" : string.Join(", ", Origins))}";
}

/// <summary>
/// For each link S -> D, the origins whose records it carries: O is carried iff S is D's
/// predecessor on the route from O. A full mesh carries only S's own records on S -> D; a hub
/// carries to each spoke everything that did not start at that spoke. The runtime additionally
/// drops a record whose hops already contain D.
/// </summary>
public sealed class ForwardingTable
{
    private static readonly IReadOnlySet<string> NoOrigins = new HashSet<string>();

    private readonly Dictionary<(string From, string To), IReadOnlySet<string>> _origins;

    public ForwardingTable(IEnumerable<Link> links, RouteTable routes)
    {
        var linkKeys = links.Select(l => (l.From, l.To)).ToHashSet();
        var origins = new Dictionary<(string, string), SortedSet<string>>();
        foreach (var key in linkKeys) origins[key] = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var route in routes.All)
        {
            // Routes use only existing links, so the predecessor's link is always present.
            if (origins.TryGetValue((route.Predecessor, route.Destination), out var set)) set.Add(route.Origin);
        }
        _origins = origins.ToDictionary(e => e.Key, e => (IReadOnlySet<string>)e.Value);
        Entries = origins
            .OrderBy(e => e.Key.Item1, StringComparer.Ordinal)
            .ThenBy(e => e.Key.Item2, StringComparer.Ordinal)
            .Select(e => new LinkOrigins(e.Key.Item1, e.Key.Item2, e.Value.ToValueList()))
            .ToArray();
    }

    /// <summary>Every link with the origins it carries, ordered by (from, to).</summary>
    public IReadOnlyList<LinkOrigins> Entries { get; }

    public bool ShouldForward(string origin, string from, string to) =>
        _origins.TryGetValue((from, to), out var origins) && origins.Contains(origin);

    /// <summary>The origins link <paramref name="from"/> -> <paramref name="to"/> carries; empty when there is no such link.</summary>
    public IReadOnlySet<string> OriginsCarried(string from, string to) => _origins.GetValueOrDefault((from, to)) ?? NoOrigins;
}
