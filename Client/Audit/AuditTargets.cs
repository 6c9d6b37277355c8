using Mesh.Client.Local;
using Mesh.Core.Replication;
using Mesh.Core.Topology;
using Mesh.Kafka.Replication;

namespace Mesh.Client.Audit;

/// <summary>The regions to audit, how to reach their Kafka, and the topology that says which records should be where.</summary>
/// <param name="Topology">Null when none is known: every origin's records are then expected in every region holding the topic.</param>
/// <param name="Notes">What people should know about where these came from (printed on standard error).</param>
public sealed record AuditTargets(IReadOnlyList<AuditRegion> Regions, Topology? Topology, IReadOnlyList<string> Notes)
{
    private const string BootstrapServers = "bootstrap.servers";

    /// <summary>
    /// A local mesh: its regions, each region's embedded Kafka as it runs now, and the newest topology
    /// (<paramref name="topologyFile"/>, or the newest of the mesh folder's documents and what the regions keep in their Kafka).
    /// </summary>
    /// <exception cref="MeshCommandException">No local mesh there (2); a region's Kafka is not running (3).</exception>
    public static AuditTargets FromLocalMesh(string dir, string? topologyFile)
    {
        if (LocalMeshState.TryLoad(dir) is not { } state)
            throw new MeshCommandException($"No local mesh in '{dir}' (no {LocalMeshState.FileName}). Give the folder of a local mesh with --dir, " +
                "or the regions' Kafka with --bootstrap region=host:port,...", 2);
        var mesh = new LocalMesh(dir);
        var notes = new List<string>();
        var regions = state.Regions.Select(r => r.Id).ToList();
        bool Up(string region) => mesh.IsKafkaRunning(region) && File.Exists(mesh.Paths.BootstrapFile(region));
        AuditRegion Reach(string region) => new(region, new Dictionary<string, string> { [BootstrapServers] = mesh.Bootstrap(region) });
        var topology = topologyFile is not null ? Load(topologyFile) : NewestLocalTopology(mesh, state, [.. regions.Where(Up).Select(Reach)], notes);
        if (topology is not null)
        {
            var outside = regions.Where(r => !topology.HasRegion(r)).ToList();
            if (outside.Count > 0)
                notes.Add($"not audited: {string.Join(", ", outside)} (running here, but not a region of topology version {topology.Version})");
            regions = [.. regions.Where(topology.HasRegion)];
        }
        var down = regions.Where(r => !Up(r)).ToList();
        if (down.Count > 0)
            throw new MeshCommandException($"Cannot audit: the Kafka of {string.Join(", ", down)} is not running " +
                $"(start it with {string.Join(" and ", down.Select(r => $"'mesh local start {r} --dir {mesh.Paths.Root}'"))}; an embedded Kafka that was killed comes back empty).", 3);
        return new AuditTargets([.. regions.Select(Reach)], topology, notes);
    }

    /// <summary>
    /// Regions named with <c>--bootstrap region=servers,...</c>; with a topology file, each region's other
    /// Kafka settings (security) come from it. Without one, the newest topology the regions keep in their
    /// Kafka says what to expect (routes, conflict policies).
    /// </summary>
    /// <exception cref="MeshCommandException">Malformed, or a region the topology file lacks (exit code 2).</exception>
    public static AuditTargets FromBootstrap(string value, string? topologyFile) =>
        FromBootstrap(value, topologyFile, RegionTopologies.Read);

    /// <param name="readRegions">Reads what the regions keep in <c>__mesh_topology</c> (replaceable in tests).</param>
    public static AuditTargets FromBootstrap(string value, string? topologyFile, Func<IReadOnlyList<AuditRegion>, IReadOnlyList<RegionTopology>> readRegions)
    {
        var named = ParseBootstrap(value);
        var notes = new List<string>();
        var topology = topologyFile is null ? null : Load(topologyFile);
        if (topology is not null)
        {
            var unknown = named.Keys.Where(r => !topology.HasRegion(r)).ToList();
            if (unknown.Count > 0)
                throw new MeshCommandException($"--bootstrap names {string.Join(", ", unknown)}, which {Path.GetFileName(topologyFile)} does not have " +
                    $"(its regions: {string.Join(", ", topology.Regions.Select(r => r.Id))}).", 2);
        }
        var regions = named.Select(n =>
        {
            var settings = topology is null ? new Dictionary<string, string>() : Resolve(topology, n.Key);
            settings[BootstrapServers] = n.Value;
            return new AuditRegion(n.Key, settings);
        }).ToList();
        if (topology is not null) return new AuditTargets(regions, topology, notes);

        var (kept, from) = RegionTopologies.Newest(readRegions(regions), notes);
        if (kept is null)
        {
            notes.Add($"no region holds a topology in {InternalTopics.Topology}: every region is expected to hold every origin's records " +
                      "and every topic is audited as append-only (give --topology FILE for routes and last-writer-wins topics)");
            return new AuditTargets(regions, null, notes);
        }
        notes.Add($"routes and conflict policies from topology version {kept.Version}, read from {from}'s {InternalTopics.Topology}");
        var outside = regions.Where(r => !kept.HasRegion(r.Id)).Select(r => r.Id).ToList();
        if (outside.Count > 0)
            notes.Add($"not audited: {string.Join(", ", outside)} (named with --bootstrap, but not a region of topology version {kept.Version})");
        return new AuditTargets([.. regions.Where(r => kept.HasRegion(r.Id))], kept, notes);
    }

    /// <summary>Every region of a topology file, reached with the Kafka settings it gives them.</summary>
    /// <exception cref="MeshCommandException">A region has no <c>bootstrap.servers</c>, or a secret it names is not set (exit code 2).</exception>
    public static AuditTargets FromTopology(string topologyFile)
    {
        var topology = Load(topologyFile);
        var settings = topology.Regions.ToDictionary(r => r.Id, r => Resolve(topology, r.Id));
        var without = settings.Where(s => !s.Value.ContainsKey(BootstrapServers)).Select(s => s.Key).ToList();
        if (without.Count > 0)
            throw new MeshCommandException($"{Path.GetFileName(topologyFile)} gives no 'kafka: bootstrap.servers' for {string.Join(", ", without)}: " +
                "name every region's Kafka with --bootstrap region=host:port,..., or audit a local mesh with --dir.", 2);
        return new AuditTargets([.. settings.Select(s => new AuditRegion(s.Key, s.Value))], topology, []);
    }

    /// <summary>
    /// <c>us-east=b1:9092,b2:9092,eu-west=b3:9092</c>: an entry with '=' starts a region, an entry
    /// without one adds a server to the region before it.
    /// </summary>
    /// <exception cref="MeshCommandException">Malformed (exit code 2), naming the entry and the expected form.</exception>
    public static Dictionary<string, string> ParseBootstrap(string value)
    {
        const string Example = "e.g. --bootstrap us-east=kafka-1.us-east:9092,kafka-2.us-east:9092,eu-west=kafka-1.eu-west:9092";
        var servers = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? current = null;
        foreach (var entry in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = entry.IndexOf('=');
            if (equals < 0)
            {
                if (current is null) throw new MeshCommandException($"--bootstrap: '{entry}' names no region; start with region=host:port ({Example}).", 2);
                current.Add(entry);
                continue;
            }
            var region = entry[..equals].Trim();
            var server = entry[(equals + 1)..].Trim();
            if (!RegionIds.IsValid(region, out var reason))
                throw new MeshCommandException($"--bootstrap: '{entry}': {reason} ({Example}).", 2);
            if (server.Length == 0 || server.Contains('='))
                throw new MeshCommandException($"--bootstrap: '{entry}' is not region=host:port ({Example}).", 2);
            if (servers.ContainsKey(region))
                throw new MeshCommandException($"--bootstrap names {region} twice; list all of a region's servers after one '{region}=' ({Example}).", 2);
            servers[region] = current = [server];
        }
        if (servers.Count == 0) throw new MeshCommandException($"--bootstrap: name at least one region's Kafka ({Example}).", 2);
        return servers.ToDictionary(s => s.Key, s => string.Join(',', s.Value), StringComparer.Ordinal);
    }

    /// <exception cref="MeshCommandException">Missing or invalid (exit code 2), with every problem.</exception>
    public static Topology Load(string path)
    {
        if (!File.Exists(path)) throw new MeshCommandException($"--topology: file '{path}' does not exist.", 2);
        var name = Path.GetFileName(path);
        var load = Topology.Load(File.ReadAllText(path), name);
        return load.Topology ?? throw new MeshCommandException($"{name} is not a valid topology:\n" +
            string.Join("\n", load.Errors.Select(p => $"  {p.Describe(name)}\n    fix: {p.Fix}")), 2);
    }

    /// <summary>
    /// The newest topology: of the documents in the mesh's folder (what <c>local up</c> wrote, or a later
    /// version an apply that added regions wrote) and what the running regions keep in their Kafka (an
    /// apply that added no region keeps its document only there).
    /// </summary>
    private static Topology? NewestLocalTopology(LocalMesh mesh, LocalMeshState state, IReadOnlyList<AuditRegion> running, List<string> notes)
    {
        var files = Directory.GetFiles(mesh.Paths.Root, "topology-v*.yaml").Append(mesh.Paths.TopologyFile).Where(File.Exists);
        var newest = files.Select(Load).MaxBy(t => t.Version);
        var regionNotes = new List<string>();
        var (kept, from) = running.Count == 0 ? (null, null) : RegionTopologies.Newest(RegionTopologies.Read(running), regionNotes);
        if (kept is not null && kept.Version > (newest?.Version ?? 0))
        {
            notes.AddRange(regionNotes);
            notes.Add($"routes from topology version {kept.Version}, read from {from}'s {InternalTopics.Topology} " +
                      $"({(newest is null ? "no document" : $"version {newest.Version}")} in {mesh.Paths.Root})");
            return kept;
        }
        if (newest is null)
        {
            notes.AddRange(regionNotes);
            notes.Add($"no topology file in {mesh.Paths.Root} and none in the regions' Kafka: every region is expected to hold every origin's records");
        }
        else if (state.TopologyVersion > newest.Version)
        {
            notes.AddRange(regionNotes);
            notes.Add($"routes from topology version {newest.Version}: the mesh runs version {state.TopologyVersion}, whose document is neither kept in {mesh.Paths.Root} " +
                      "nor readable from the regions' Kafka (give it with --topology FILE if its routes differ)");
        }
        return newest;
    }

    private static Dictionary<string, string> Resolve(Topology topology, string region)
    {
        try
        {
            return new Dictionary<string, string>(topology.ResolveKafkaSettings(region), StringComparer.Ordinal);
        }
        catch (UnresolvedSecretException e)
        {
            throw new MeshCommandException($"--topology: {e.Message}", 2);
        }
    }
}
