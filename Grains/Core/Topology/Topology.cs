namespace Mesh.Core.Topology;

/// <summary>
/// A valid topology and what follows from it: the links its pattern expands to, one route per
/// (origin, destination), the forwarding table, topic naming and conflict policies. Immutable.
/// </summary>
public sealed class Topology
{
    private readonly Dictionary<string, Region> _regions;
    private readonly Dictionary<(string From, string To), Link> _links;
    private readonly RouteTable _routes;

    private Topology(TopologyDocument document, IReadOnlyList<TopologyProblem> warnings)
    {
        Document = document;
        Warnings = warnings;
        Regions = document.Regions.OrderBy(r => r.Id, StringComparer.Ordinal).ToArray();
        _regions = Regions.ToDictionary(r => r.Id, StringComparer.Ordinal);
        Links = PatternExpansion.Links(document);
        _links = Links.ToDictionary(l => (l.From, l.To));
        _routes = RouteTable.Build(_regions.Keys, Links);
        Forwarding = new ForwardingTable(Links, _routes);
    }

    /// <summary>Parses, validates and derives in one step; <see cref="TopologyLoad.Topology"/> is null when any error was found.</summary>
    public static TopologyLoad Load(string text, string sourceName)
    {
        var parsed = TopologyParser.Parse(text, sourceName);
        if (parsed.Document is null) return new TopologyLoad(null, null, parsed.Problems);

        // A value the parser could not read also looks missing or wrong to the validator; the parser's report is the precise one.
        var unreadable = parsed.Problems.Where(p => p.IsError).Select(p => p.Path).ToArray();
        var problems = parsed.Problems
            .Concat(TopologyValidator.Validate(parsed.Document).Where(p => !unreadable.Any(u => IsWithin(p.Path, u))))
            .OrderBy(p => p.Line ?? int.MaxValue)
            .ThenBy(p => p.Column ?? int.MaxValue)
            .ToArray();
        var topology = problems.Any(p => p.IsError) ? null : new Topology(parsed.Document, problems);
        return new TopologyLoad(parsed.Document, topology, problems);
    }

    /// <exception cref="InvalidTopologyException">The document has errors.</exception>
    public static Topology FromDocument(TopologyDocument document)
    {
        var problems = TopologyValidator.Validate(document);
        if (problems.Any(p => p.IsError)) throw new InvalidTopologyException(problems);
        return new Topology(document, problems);
    }

    public TopologyDocument Document { get; }

    /// <summary>What the validator noted without rejecting the topology.</summary>
    public IReadOnlyList<TopologyProblem> Warnings { get; }

    public string Name => Document.Name ?? "";
    public long Version => Document.Version ?? 0;
    public NamingPolicy Naming => Document.Naming;

    /// <summary>Prefix naming's separator between the source region and the topic (<c>.</c> unless the document sets another).</summary>
    public string Separator => Document.Separator ?? TopicNaming.DefaultSeparator;
    public TopologyPattern Pattern => Document.Pattern;
    public string? Primary => Document.Pattern == TopologyPattern.ActivePassive ? Document.Primary : null;
    public string? Hub => Document.Pattern == TopologyPattern.HubSpoke ? Document.Hub : null;
    public TopicRules Topics => Document.Topics;
    public OffsetSettings? Offsets => Document.Offsets;

    /// <summary>Ordered by id.</summary>
    public IReadOnlyList<Region> Regions { get; }

    /// <summary>The effective links, pattern and explicit ones together, ordered by (from, to).</summary>
    public IReadOnlyList<Link> Links { get; }

    /// <summary>One route per connected (origin, destination), ordered by origin then destination.</summary>
    public IReadOnlyList<Route> Routes => _routes.All;

    public ForwardingTable Forwarding { get; }

    public Region GetRegion(string id) =>
        _regions.TryGetValue(id, out var region) ? region : throw new KeyNotFoundException($"region '{id}' is not in topology '{Name}' version {Version}");

    public bool HasRegion(string id) => _regions.ContainsKey(id);

    public Link? FindLink(string from, string to) => _links.GetValueOrDefault((from, to));

    public IEnumerable<Link> LinksInto(string region) => Links.Where(l => l.To == region);

    public IEnumerable<Link> LinksOutOf(string region) => Links.Where(l => l.From == region);

    /// <summary>The route <paramref name="origin"/>'s records take to <paramref name="destination"/>; null when they never get there.</summary>
    public Route? FindRoute(string origin, string destination) => _routes.Find(origin, destination);

    /// <summary>Link <paramref name="from"/> -> <paramref name="to"/> carries records that originated at <paramref name="origin"/>.</summary>
    public bool ShouldForward(string origin, string from, string to) => Forwarding.ShouldForward(origin, from, to);

    /// <summary>
    /// The name <paramref name="topic"/> of <paramref name="sourceRegion"/> has in
    /// <paramref name="targetRegion"/>: unchanged under identity naming, <c>source.topic</c> under prefix naming.
    /// </summary>
    public string RemoteTopicName(string sourceRegion, string topic, string targetRegion) =>
        TopicNaming.RemoteTopicName(Naming, sourceRegion, topic, Separator);

    /// <summary>
    /// Whether link <paramref name="from"/> -> <paramref name="to"/> replicates <paramref name="topic"/>
    /// (as named in <paramref name="from"/>): the link exists and selects it, it is not internal, and
    /// under prefix naming it did not come from <paramref name="to"/> (MM2's cycle rule).
    /// </summary>
    public bool IsReplicable(string topic, string from, string to) =>
        FindLink(from, to) is { } link
        && !TopicNaming.IsInternal(topic)
        && link.Topics.Matches(topic)
        && !(Naming == NamingPolicy.Prefix && TopicNaming.IsCycle(topic, to, Separator));

    public ConflictPolicy ConflictPolicyFor(string topic) => Topics.PolicyFor(topic);

    /// <summary>The conflict rule that applies to <paramref name="topic"/> (exact names first, then expressions in file order); null when none does.</summary>
    public ConflictRule? ConflictRuleFor(string topic) => Topics.RuleFor(topic);

    /// <summary>The region's Kafka settings with <c>${VAR}</c> references resolved through <paramref name="environment"/>.</summary>
    /// <exception cref="UnresolvedSecretException">A referenced variable is not set; the message names it.</exception>
    public IReadOnlyDictionary<string, string> ResolveKafkaSettings(string regionId, Func<string, string?> environment) =>
        GetRegion(regionId).Kafka.Resolve(regionId, environment);

    /// <summary>Resolves from the process environment.</summary>
    public IReadOnlyDictionary<string, string> ResolveKafkaSettings(string regionId) =>
        ResolveKafkaSettings(regionId, Environment.GetEnvironmentVariable);

    public override string ToString() => $"topology '{Name}' version {Version}: {TopologyKeywords.Word(Pattern)}, {Regions.Count} region{(Regions.Count == 1 ? "" : "s")}, {Links.Count} link{(Links.Count == 1 ? "" : "s")}";

    private static bool IsWithin(string path, string ancestor) =>
        path == ancestor
        || ancestor.Length == 0
        || (path.StartsWith(ancestor, StringComparison.Ordinal) && path.Length > ancestor.Length && path[ancestor.Length] is '.' or '[');
}

/// <param name="Document">Null when the file could not be read at all.</param>
/// <param name="Topology">Null when <paramref name="Problems"/> holds an error.</param>
/// <param name="Problems">Errors and warnings, ordered by position in the file.</param>
public sealed record TopologyLoad(TopologyDocument? Document, Topology? Topology, IReadOnlyList<TopologyProblem> Problems)
{
    public bool IsValid => Topology is not null;
    public IEnumerable<TopologyProblem> Errors => Problems.Where(p => p.IsError);
    public IEnumerable<TopologyProblem> Warnings => Problems.Where(p => !p.IsError);
}

public sealed class InvalidTopologyException(IReadOnlyList<TopologyProblem> problems)
    : Exception("invalid topology:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Where(p => p.IsError).Select(p => "  " + p.Describe())))
{
    public IReadOnlyList<TopologyProblem> Problems { get; } = problems;
}
