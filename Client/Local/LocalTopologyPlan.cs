using System.Text;
using Mesh.Core.Topology;

namespace Mesh.Client.Local;

/// <summary>
/// One link as a local mesh runs it: where it reads from, which origins it carries, which topics.
/// A pull link runs in its destination <see cref="To"/>; a <see cref="Push"/> link in its source <see cref="From"/>.
/// </summary>
public sealed record LocalLink(string From, string To, List<string> Origins, List<string> Include, List<string> Exclude, bool Push = false)
{
    /// <summary>The region whose silos run the link.</summary>
    public string RunsIn => Push ? From : To;
}

/// <summary>
/// Which local regions replicate what from where, derived from the topology model: the full mesh
/// by default, a preset pattern (<c>--pattern</c>), or a topology file (<c>--topology</c>). The
/// silos run <see cref="Document"/> itself; <see cref="Links"/> is what the local mesh expects of
/// them (readiness checks, what <c>local up</c> prints).
/// </summary>
public sealed record LocalTopologyPlan(string Description, IReadOnlyList<string> Regions, IReadOnlyList<LocalLink> Links, TopologyDocument Document)
{
    public long Version => Document.Version ?? 0;

    /// <summary>
    /// The plan with every region's silos backing up into <paramref name="directory"/> (made absolute: the silos run
    /// in their own folders). A document that already has a backup section keeps its settings with this store;
    /// one without backs up every topic the mesh replicates with the default settings.
    /// </summary>
    public LocalTopologyPlan WithBackup(string directory)
    {
        if (string.IsNullOrWhiteSpace(directory))
            throw new MeshCommandException("--backup: give the directory to back up into, e.g. --backup ./mesh-backup.", 2);
        var store = Path.GetFullPath(directory);
        return WithBackup(Document.Backup is { } backup ? backup with { Store = store } : new BackupSettings(store));
    }

    /// <summary>The plan with <paramref name="backup"/> as the topology's backup section.</summary>
    public LocalTopologyPlan WithBackup(BackupSettings backup) => this with { Document = Document with { Backup = backup } };

    public static LocalTopologyPlan FullMesh(IReadOnlyList<string> regions) =>
        FromPattern(regions, "mesh", hub: null, primary: null);

    /// <summary>Expands a preset pattern over the given regions.</summary>
    public static LocalTopologyPlan FromPattern(IReadOnlyList<string> regions, string pattern, string? hub, string? primary)
    {
        var yaml = new StringBuilder();
        yaml.AppendLine("name: local").AppendLine("version: 1").AppendLine("naming: identity");
        yaml.AppendLine($"pattern: {pattern}");
        if (hub is not null) yaml.AppendLine($"hub: {hub}");
        if (primary is not null) yaml.AppendLine($"primary: {primary}");
        yaml.AppendLine("regions:");
        foreach (var region in regions) yaml.AppendLine($"  {region}: {{}}");
        return Build(yaml.ToString(), $"--pattern {pattern}", option: "--pattern/--hub/--primary");
    }

    /// <summary>Reads a topology file; its regions become the local regions (each with an embedded Kafka).</summary>
    public static LocalTopologyPlan FromFile(string path)
    {
        if (!File.Exists(path)) throw new MeshCommandException($"--topology: file '{path}' does not exist.", 2);
        var plan = Build(File.ReadAllText(path), Path.GetFileName(path), option: "--topology");
        // The silos run in folders of their own: a backup directory relative to the file is made absolute here.
        if (plan.Document.Backup is { } backup && IsRelativeDirectory(backup.Store))
            plan = plan.WithBackup(backup with { Store = Path.GetFullPath(backup.Store, Path.GetDirectoryName(Path.GetFullPath(path))!) });
        return plan;
    }

    private static bool IsRelativeDirectory(string store) =>
        !store.Contains("://", StringComparison.Ordinal) && !Path.IsPathRooted(store);

    /// <summary>What a local mesh expects of a valid topology: its regions, and the links that carry records.</summary>
    public static LocalTopologyPlan Of(Topology topology)
    {
        var links = topology.Links
            .Where(l => l.Carries)
            .Select(l => new LocalLink(l.From, l.To, Origins(topology, l), [.. l.Topics.Include], [.. l.Topics.Exclude], l.Mode == LinkMode.Push))
            .Where(l => l.Origins.Count > 0)
            .ToList();
        var description = topology.Pattern switch
        {
            TopologyPattern.HubSpoke => $"hub-spoke (hub {topology.Hub})",
            TopologyPattern.ActivePassive => $"active-passive (primary {topology.Primary})",
            TopologyPattern.Mesh => "full mesh",
            _ => TopologyKeywords.Word(topology.Pattern),
        };
        if (topology.Naming == NamingPolicy.Prefix) description += ", prefix naming";
        return new LocalTopologyPlan(description, [.. topology.Regions.Select(r => r.Id)], links, topology.Document);
    }

    // Under prefix naming a link carries every origin's records that reach its source, renamed at
    // each hop; only what came from the destination stops (by its name), so the forwarding table
    // does not apply.
    private static List<string> Origins(Topology topology, Link link) =>
        topology.Naming == NamingPolicy.Prefix
            ? [.. topology.Regions.Select(r => r.Id)
                .Where(id => id != link.To && (id == link.From || topology.FindRoute(id, link.From) is not null))]
            : [.. topology.Forwarding.OriginsCarried(link.From, link.To).Order(StringComparer.Ordinal)];

    private static LocalTopologyPlan Build(string text, string sourceName, string option)
    {
        var load = Topology.Load(text, sourceName);
        if (load.Topology is not { } topology)
            throw new MeshCommandException($"{option}: the topology is invalid:\n" +
                string.Join("\n", load.Errors.Select(p => $"  {p.Describe(sourceName)}\n    fix: {p.Fix}")), 2);
        return Of(topology);
    }
}
