namespace Mesh.Core.Tests.Topology;

// Inside the namespace, so that "Topology" names the type rather than the namespace Mesh.Core.Topology.
using Mesh.Core.Topology;

/// <summary>Small documents built in code, and a compact text form for links and routes in test tables.</summary>
internal static class TopologyBuilder
{
    /// <param name="regions">Comma-separated region ids.</param>
    /// <param name="links">Space-separated explicit links: <c>a>b</c> adds or changes, <c>!a>b</c> disables, <c>a>b:push</c> sets the mode.</param>
    public static TopologyDocument Document(TopologyPattern pattern, string regions, string? primary = null, string? hub = null, string links = "") => new()
    {
        Name = "test",
        Version = 1,
        Pattern = pattern,
        Primary = primary,
        Hub = hub,
        Regions = Ids(regions).Select(id => new Region(id, new KafkaSettings(("bootstrap.servers", $"{id}-kafka:9092")), [])).ToValueList(),
        Links = links.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(ParseLink).ToValueList(),
    };

    public static Topology Build(TopologyPattern pattern, string regions, string? primary = null, string? hub = null, string links = "") =>
        Topology.FromDocument(Document(pattern, regions, primary, hub, links));

    /// <summary><c>a>b a>c</c>, in the topology's (from, to) order.</summary>
    public static string LinkText(IEnumerable<Link> links) => string.Join(" ", links.Select(l => $"{l.From}>{l.To}"));

    public static string[] Ids(string regions) => regions.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static LinkDocument ParseLink(string text)
    {
        var enabled = !text.StartsWith('!');
        var body = text.TrimStart('!');
        var mode = (LinkMode?)null;
        if (body.EndsWith(":push", StringComparison.Ordinal)) { mode = LinkMode.Push; body = body[..^5]; }
        else if (body.EndsWith(":pull", StringComparison.Ordinal)) { mode = LinkMode.Pull; body = body[..^5]; }
        var parts = body.Split('>');
        return new LinkDocument(parts[0], parts[1]) { Enabled = enabled, Mode = mode };
    }
}
