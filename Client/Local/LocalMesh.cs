using System.Net;
using Mesh.Client.Admin;
using Mesh.Core.Replication;

namespace Mesh.Client.Local;

/// <summary>
/// Runs regions on this machine: per region, an embedded Kafka (the region host) and one or more
/// silos, each its own background process. The silos start from the mesh's topology file (a full
/// mesh unless told otherwise) and take later versions through <c>mesh topology apply</c>. The CLI
/// verbs and the multi-region tests both drive it. This file: starting and stopping; the others,
/// by concern: Kafka, Silos, Readiness, Topology.
/// </summary>
public sealed partial class LocalMesh(string dir, Action<string>? progress = null)
{
    public static readonly TimeSpan DefaultReadyTimeout = TimeSpan.FromMinutes(3);
    private readonly Action<string> _progress = progress ?? (_ => { });

    public LocalMeshPaths Paths { get; } = new(dir);

    /// <summary>
    /// Extra settings for one region's silos, as <c>MESH_</c> environment variables (e.g.
    /// <c>MESH_Mesh__Provenance__Untrusted=strict</c>); for tests and experiments with this instance.
    /// </summary>
    public Dictionary<string, Dictionary<string, string>> SiloEnvironment { get; } = new(StringComparer.Ordinal);

    public LocalMeshState State => LocalMeshState.Load(Paths.Root);

    /// <summary>Starts every region in a full mesh, creates the topics everywhere and waits until every link replicates them.</summary>
    public Task<LocalMeshState> UpAsync(IReadOnlyList<string> regions, int brokers, int partitions, IReadOnlyList<string> topics,
        TimeSpan readyTimeout, CancellationToken cancellationToken = default, int silosPerRegion = 1, string clustering = LocalClustering.Localhost)
    {
        ValidateUp(regions, brokers, partitions, topics, silosPerRegion);
        return UpAsync(LocalTopologyPlan.FullMesh(regions), brokers, partitions, topics, readyTimeout, cancellationToken, silosPerRegion, clustering);
    }

    /// <summary>Starts every region of <paramref name="plan"/>, creates the topics everywhere and waits until every link replicates them.</summary>
    /// <param name="plainText">Run the silos' Orleans ports without TLS (for comparison, or for silos of a version before it).</param>
    public async Task<LocalMeshState> UpAsync(LocalTopologyPlan plan, int brokers, int partitions, IReadOnlyList<string> topics,
        TimeSpan readyTimeout, CancellationToken cancellationToken = default, int silosPerRegion = 1, string clustering = LocalClustering.Localhost,
        bool plainText = false)
    {
        var regions = plan.Regions;
        ValidateUp(regions, brokers, partitions, topics, silosPerRegion);
        if (!LocalClustering.IsValid(clustering))
            throw new MeshCommandException($"--clustering must be {LocalClustering.Localhost} or {LocalClustering.Postgres}, not '{clustering}'.", 2);
        if (LocalMeshState.TryLoad(Paths.Root) is { } existing && existing.Regions.Any(r => IsKafkaRunning(r.Id) || IsSiloRunning(r.Id)))
            throw new MeshCommandException($"A local mesh is already running in {Paths.Root} ({string.Join(", ", existing.Regions.Select(r => r.Id))}). Run 'mesh local down --dir {Paths.Root}' first, or use another --dir.");

        // Before anything is written or started: a MESH_KEY that cannot be used stops here.
        EnsureMeshKey();
        var ports = new Queue<int>(FreePorts(regions.Count * silosPerRegion * LocalSilo.PortsPerSilo + 1));
        var postgres = clustering == LocalClustering.Postgres ? new LocalPostgresState(ports.Dequeue(), PostgresServer.DataDir) : null;
        var state = new LocalMeshState
        {
            Regions = [.. regions.Select(id => new LocalRegion
            {
                Id = id,
                Silos = [.. Enumerable.Range(1, silosPerRegion).Select(i => LocalSilo.Take(i, ports))],
            })],
            Brokers = brokers,
            Partitions = partitions,
            Topics = [.. topics],
            Topology = plan.Description,
            TopologyVersion = plan.Version,
            Links = [.. plan.Links],
            Clustering = clustering,
            Postgres = postgres,
            PlainTextOrleans = plainText,
        };
        state.Save(Paths.Root);
        if (!plainText) EnsureCertificates(regions);
        // Versions applied to an earlier mesh in this folder: never a region's starting point again.
        foreach (var stale in Directory.GetFiles(Paths.Root, "topology-v*.yaml")) File.Delete(stale);
        try
        {
            var database = postgres is null ? Task.CompletedTask : Task.Run(() => StartPostgres(state, fresh: true), cancellationToken);
            await Task.WhenAll(state.Regions.Select(r => StartKafkaAsync(state, r.Id, cancellationToken)).Append(database));
            WriteStartupTopology(plan.Document, Paths.TopologyFile, $"Written by 'mesh local up' ({plan.Description}).");
            foreach (var region in state.Regions)
                foreach (var silo in region.Silos)
                    StartSilo(state, region.Id, silo.Instance);
            await WaitUntilReplicatingAsync(state, readyTimeout, cancellationToken);
            return state;
        }
        catch
        {
            await DownAsync();
            throw;
        }
    }

    private static void ValidateUp(IReadOnlyList<string> regions, int brokers, int partitions, IReadOnlyList<string> topics, int silosPerRegion)
    {
        ValidateRegions(regions);
        if (silosPerRegion is < 1 or > 8) throw new MeshCommandException($"--silos must be from 1 to 8, not {silosPerRegion}.", 2);
        if (brokers is < 1 or > 32) throw new MeshCommandException($"--brokers must be from 1 to 32, not {brokers}.", 2);
        if (partitions is < 1 or > 1000) throw new MeshCommandException($"--partitions must be from 1 to 1000, not {partitions}.", 2);
        foreach (var topic in topics)
        {
            if (topic.Length is 0 or > 249 || topic.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')))
                throw new MeshCommandException($"--topics: '{topic}' is not a valid Kafka topic name (1-249 of a-z A-Z 0-9 . _ -).", 2);
            if (TopicFilter.IsInternal(topic))
                throw new MeshCommandException($"--topics: '{topic}' is an internal name ('__' prefix) and is never replicated; pick another.", 2);
        }
    }

    /// <summary>At least two distinct, valid region ids.</summary>
    public static void ValidateRegions(IReadOnlyList<string> regions)
    {
        if (regions.Count < 2)
            throw new MeshCommandException("--regions needs at least two regions, e.g. --regions us-east,eu-west.", 2);
        foreach (var region in regions)
            if (!RegionIds.IsValid(region, out var reason))
                throw new MeshCommandException($"--regions: {reason}.", 2);
        if (regions.Distinct().Count() != regions.Count)
            throw new MeshCommandException($"--regions names a region twice ({string.Join(",", regions)}).", 2);
    }

    /// <summary>Stops everything this mesh started: silos first (so they checkpoint), then Kafka.</summary>
    public async Task DownAsync()
    {
        var state = LocalMeshState.TryLoad(Paths.Root);
        var regions = state?.Regions.Select(r => r.Id).ToList()
            ?? (Directory.Exists(Paths.Root) ? Directory.GetDirectories(Paths.Root).Select(Path.GetFileName).OfType<string>().ToList() : []);
        await Task.WhenAll(regions.Select(StopSilosAsync));
        await Task.WhenAll(regions.Select(r => StopAsync(Paths.KafkaPidFile(r), LocalMeshPaths.RegionHostBinary)));
        foreach (var region in regions) File.Delete(Paths.KafkaPidFile(region));
        // Last: the silos above left the membership tables as they stopped.
        if (PostgresServer.IsRunning()) PostgresServer.Stop();
    }

    /// <summary>Every silo pid file of a region, whether or not the state file still lists it.</summary>
    private IEnumerable<string> SiloPidFiles(string region) =>
        Directory.Exists(Paths.RegionDir(region)) ? Directory.GetFiles(Paths.RegionDir(region), "silo-*.pid") : [];

    /// <summary>Stops a region's silos the orderly way (each checkpoints and gives its partitions up), its Kafka left running.</summary>
    public async Task StopSilosAsync(string region)
    {
        // The first silo is the localhost cluster's primary: stop the others before it.
        var pidFiles = SiloPidFiles(region).OrderByDescending(f => f, StringComparer.Ordinal).ToList();
        await Task.WhenAll(pidFiles.Where(f => !f.EndsWith("silo-1.pid", StringComparison.Ordinal)).Select(f => StopAsync(f, LocalMeshPaths.SiloBinary)));
        foreach (var primary in pidFiles.Where(f => f.EndsWith("silo-1.pid", StringComparison.Ordinal))) await StopAsync(primary, LocalMeshPaths.SiloBinary);
        foreach (var file in pidFiles) File.Delete(file);
    }

    private static async Task StopAsync(string pidFile, string binary)
    {
        if (LocalProcesses.Running(pidFile, binary) is int pid)
            await LocalProcesses.StopAsync(pid, binary, TimeSpan.FromSeconds(15));
    }

    /// <summary>SIGKILLs a region's silos (all, or one <paramref name="instance"/>), its Kafka, or both; nothing is given a chance to clean up.</summary>
    public async Task<IReadOnlyList<string>> KillAsync(string region, bool silo, bool kafka, int? instance = null)
    {
        var r = State.Region(region);
        var killed = new List<string>();
        var silos = !silo ? [] : instance is int i ? [r.Silo(i)] : r.Silos;
        foreach (var one in silos)
        {
            if (LocalProcesses.Running(Paths.SiloPidFile(region, one.Instance), LocalMeshPaths.SiloBinary) is not int siloPid) continue;
            LocalProcesses.Kill(siloPid);
            await LocalProcesses.WaitForExitAsync(siloPid, LocalMeshPaths.SiloBinary, TimeSpan.FromSeconds(10));
            killed.Add(r.Silos.Count == 1 ? $"silo (pid {siloPid})" : $"silo {one.Instance} (pid {siloPid})");
        }
        if (kafka && LocalProcesses.Running(Paths.KafkaPidFile(region), LocalMeshPaths.RegionHostBinary) is int kafkaPid)
        {
            LocalProcesses.Kill(kafkaPid);
            await LocalProcesses.WaitForExitAsync(kafkaPid, LocalMeshPaths.RegionHostBinary, TimeSpan.FromSeconds(10));
            killed.Add($"kafka (pid {kafkaPid})");
        }
        return killed;
    }

    /// <summary>
    /// Starts whatever of a region is not running. A restarted embedded Kafka starts empty on new
    /// ports, so its topics are created again and every silo that talks to it is restarted with the
    /// new address.
    /// </summary>
    public async Task<IReadOnlyList<string>> StartAsync(string region, CancellationToken cancellationToken = default)
    {
        var state = State;
        state.Region(region);
        var started = new List<string>();
        if (!IsKafkaRunning(region))
        {
            await StartKafkaAsync(state, region, cancellationToken);
            started.Add("kafka");
            _progress($"{region}'s embedded Kafka started empty, a new incarnation: it is rebuilt from its peers (their records, and its own " +
                      "records from before, which they hold as replicas), and its peers replicate its new records from the start of its new log");
            // Every region's silos stop at once: a silo's orderly stop can take its whole grace period (15 s).
            var others = state.Regions.Where(r => r.Id != region && IsSiloRunning(r.Id)).ToList();
            await Task.WhenAll(others.Select(o => StopSilosAsync(o.Id)).Append(StopSilosAsync(region)));
            foreach (var other in others)
            {
                foreach (var silo in other.Silos) StartSilo(state, other.Id, silo.Instance);
                started.Add($"silos of {other.Id} (restarted with {region}'s new Kafka address)");
            }
        }
        var me = state.Region(region);
        if (state.Postgres is not null && !PostgresServer.IsRunning())
        {
            StartPostgres(state, fresh: false);
            started.Add("postgres");
        }
        // With postgres clustering any silo can die and come back alone; only localhost's first silo cannot.
        if (state.Postgres is null && me.Silos.Count > 1 && !IsSiloRunning(region, me.Silos[0].Instance) && IsSiloRunning(region))
        {
            // The first silo holds a localhost cluster's membership: the others cannot rejoin a new
            // one, so the whole region restarts (its replicators resume from their checkpoints).
            await StopSilosAsync(region);
            started.Add("all silos (the first silo, which the others join, was down)");
        }
        foreach (var silo in me.Silos.Where(s => !IsSiloRunning(region, s.Instance)))
        {
            StartSilo(state, region, silo.Instance);
            started.Add(me.Silos.Count == 1 ? "silo" : $"silo {silo.Instance}");
        }
        await WaitUntilAnsweringAsync(state.Regions.Where(r => IsSiloRunning(r.Id)).Select(r => r.Id), TimeSpan.FromMinutes(1), cancellationToken);
        return started;
    }

    public bool IsKafkaRunning(string region) => LocalProcesses.Running(Paths.KafkaPidFile(region), LocalMeshPaths.RegionHostBinary) is not null;

    /// <summary>True when any of the region's silos runs.</summary>
    public bool IsSiloRunning(string region) => SiloPidFiles(region).Any(f => LocalProcesses.Running(f, LocalMeshPaths.SiloBinary) is not null);

    /// <summary>The process id of a region's silo, while it runs.</summary>
    public int? SiloPid(string region, int instance = 1) => LocalProcesses.Running(Paths.SiloPidFile(region, instance), LocalMeshPaths.SiloBinary);

    public bool IsSiloRunning(string region, int instance) =>
        LocalProcesses.Running(Paths.SiloPidFile(region, instance), LocalMeshPaths.SiloBinary) is not null;

    public string Bootstrap(string region) => File.ReadAllText(Paths.BootstrapFile(region)).Trim();

    private string Control(string region) => File.ReadAllText(Paths.KafkaControlFile(region)).Trim();

    /// <summary>Connects to one region's silos.</summary>
    public Task<RegionConnection> ConnectAsync(string region, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var r = State.Region(region);
        return RegionConnection.ConnectAsync(region, r.ClusterId, "mesh",
            [.. r.Silos.Where(s => IsSiloRunning(region, s.Instance)).DefaultIfEmpty(r.Silos[0]).Select(s => new IPEndPoint(IPAddress.Loopback, s.GatewayPort))],
            timeout, cancellationToken, OperatorCredentials());
    }
}
