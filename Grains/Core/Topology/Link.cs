namespace Mesh.Core.Topology;

/// <summary>A replication link after pattern expansion: <paramref name="From"/>'s topics selected by <paramref name="Topics"/> flow to <paramref name="To"/>.</summary>
public sealed record Link(string From, string To, LinkMode Mode, TopicSelector Topics)
{
    /// <summary>A link whose selector includes nothing moves no record and is left out of routing.</summary>
    public bool Carries => !Topics.IsEmpty;

    public override string ToString() => $"{From} -> {To}";
}

/// <summary>
/// The links a pattern expands to, and how a document's explicit links add to, change or remove them.
/// </summary>
public static class PatternExpansion
{
    /// <summary>
    /// The ordered pairs <paramref name="pattern"/> creates over <paramref name="regionIds"/>. A pattern
    /// missing what it needs (a primary, a hub, exactly two regions) creates none; the validator says why.
    /// </summary>
    public static IReadOnlyList<(string From, string To)> Pairs(TopologyPattern pattern, IEnumerable<string> regionIds, string? primary, string? hub)
    {
        var ids = regionIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        return pattern switch
        {
            TopologyPattern.ActivePassive when primary is not null && ids.Contains(primary) =>
                ids.Where(id => id != primary).Select(standby => (primary, standby)).ToArray(),
            TopologyPattern.ActiveActive when ids.Length == 2 => [(ids[0], ids[1]), (ids[1], ids[0])],
            TopologyPattern.HubSpoke when hub is not null && ids.Contains(hub) =>
                ids.Where(id => id != hub).SelectMany(spoke => new[] { (hub, spoke), (spoke, hub) }).ToArray(),
            TopologyPattern.Mesh => ids.SelectMany(from => ids.Where(to => to != from).Select(to => (from, to))).ToArray(),
            _ => [],
        };
    }

    /// <summary>
    /// The document's effective links, ordered by (from, to): the pattern's pairs with the default
    /// topic selection, then each explicit link in file order, which changes the link it names (or
    /// adds it) and removes it when disabled. Links naming unknown regions are left out.
    /// </summary>
    public static IReadOnlyList<Link> Links(TopologyDocument document)
    {
        var regionIds = document.Regions.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        var defaults = document.Topics.Selection;
        var links = new Dictionary<(string, string), Link>();
        foreach (var (from, to) in Pairs(document.Pattern, regionIds, document.Primary, document.Hub))
            links[(from, to)] = new Link(from, to, LinkMode.Pull, defaults);

        foreach (var stated in document.Links)
        {
            if (!regionIds.Contains(stated.From) || !regionIds.Contains(stated.To) || stated.From == stated.To) continue;
            var key = (stated.From, stated.To);
            if (!stated.Enabled)
            {
                links.Remove(key);
                continue;
            }
            var existing = links.GetValueOrDefault(key);
            links[key] = new Link(
                stated.From,
                stated.To,
                stated.Mode ?? existing?.Mode ?? LinkMode.Pull,
                stated.Topics?.Over(defaults) ?? existing?.Topics ?? defaults);
        }

        return links.Values
            .OrderBy(l => l.From, StringComparer.Ordinal)
            .ThenBy(l => l.To, StringComparer.Ordinal)
            .ToArray();
    }
}
