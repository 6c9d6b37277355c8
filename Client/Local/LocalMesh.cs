using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mesh.Client.Admin;
using Mesh.Core.Replication;
using Mesh.Grains;

namespace Mesh.Client.Local;

/// <summary>
/// Runs regions on this machine: per region, an embedded Kafka (the region host) and a silo, each
/// its own background process, all regions pulling from each other (full mesh, identical topic names).
/// The CLI verbs and the multi-region tests both drive it.
/// </summary>
public sealed class LocalMesh(string dir, Action<string>? progress = null)
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
        TimeSpan readyTimeout, CancellationToken cancellationToken = default, int silosPerRegion = 1)
    {
        ValidateUp(regions, brokers, partitions, topics, silosPerRegion);
        return UpAsync(LocalTopologyPlan.FullMesh(regions), brokers, partitions, topics, readyTimeout, cancellationToken, silosPerRegion);
    }

    /// <summary>Starts every region of <paramref name="plan"/>, creates the topics everywhere and waits until every link replicates them.</summary>
    public async Task<LocalMeshState> UpAsync(LocalTopologyPlan plan, int brokers, int partitions, IReadOnlyList<string> topics,
        TimeSpan readyTimeout, CancellationToken cancellationToken = default, int silosPerRegion = 1)
    {
        var regions = plan.Regions;
        ValidateUp(regions, brokers, partitions, topics, silosPerRegion);
        if (LocalMeshState.TryLoad(Paths.Root) is { } existing && existing.Regions.Any(r => IsKafkaRunning(r.Id) || IsSiloRunning(r.Id)))
            throw new MeshCommandException($"A local mesh is already running in {Paths.Root} ({string.Join(", ", existing.Regions.Select(r => r.Id))}). Run 'mesh local down --dir {Paths.Root}' first, or use another --dir.");

        var ports = new Queue<int>(FreePorts(regions.Count * silosPerRegion * 2));
        var state = new LocalMeshState
        {
            Regions = [.. regions.Select(id => new LocalRegion
            {
                Id = id,
                Silos = [.. Enumerable.Range(1, silosPerRegion).Select(i => new LocalSilo(i, ports.Dequeue(), ports.Dequeue()))],
            })],
            Brokers = brokers,
            Partitions = partitions,
            Topics = [.. topics],
            Topology = plan.Description,
            Links = [.. plan.Links],
        };
        state.Save(Paths.Root);
        EnsureMeshKey();
        try
        {
            await Task.WhenAll(state.Regions.Select(r => StartKafkaAsync(state, r.Id, cancellationToken)));
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
    }

    /// <summary>Every silo pid file of a region, whether or not the state file still lists it.</summary>
    private IEnumerable<string> SiloPidFiles(string region) =>
        Directory.Exists(Paths.RegionDir(region)) ? Directory.GetFiles(Paths.RegionDir(region), "silo-*.pid") : [];

    private async Task StopSilosAsync(string region)
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
            _progress($"{region}'s embedded Kafka started empty, a new incarnation: it is refilled from its peers, and its peers replicate " +
                      "its new records from the start of its new log (its own records from before are not rebuilt into it yet)");
            foreach (var other in state.Regions.Where(r => r.Id != region && IsSiloRunning(r.Id)))
            {
                await StopSilosAsync(other.Id);
                foreach (var silo in other.Silos) StartSilo(state, other.Id, silo.Instance);
                started.Add($"silos of {other.Id} (restarted with {region}'s new Kafka address)");
            }
            await StopSilosAsync(region);
        }
        var me = state.Region(region);
        if (me.Silos.Count > 1 && !IsSiloRunning(region, 1) && IsSiloRunning(region))
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

    public bool IsSiloRunning(string region, int instance) =>
        LocalProcesses.Running(Paths.SiloPidFile(region, instance), LocalMeshPaths.SiloBinary) is not null;

    public string Bootstrap(string region) => File.ReadAllText(Paths.BootstrapFile(region)).Trim();

    private string Control(string region) => File.ReadAllText(Paths.KafkaControlFile(region)).Trim();

    private async Task StartKafkaAsync(LocalMeshState state, string region, CancellationToken cancellationToken)
    {
        var kafkaDir = Paths.KafkaDir(region);
        Directory.CreateDirectory(kafkaDir);
        File.Delete(Paths.KafkaControlFile(region));
        LocalProcesses.StartDetached(LocalMeshPaths.Binary(LocalMeshPaths.RegionHostBinary),
            ["--dir", kafkaDir, "--brokers", state.Brokers.ToString(), "--region", region],
            Paths.KafkaLog(region), Paths.KafkaPidFile(region));
        _progress($"{region}: starting Kafka ({state.Brokers} brokers)");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!File.Exists(Paths.KafkaControlFile(region)))
        {
            if (!IsKafkaRunning(region))
                throw new MeshCommandException($"{region}'s Kafka host exited during start; see {Paths.KafkaLog(region)}:\n{Tail(Paths.KafkaLog(region))}");
            if (DateTime.UtcNow > deadline)
                throw new MeshCommandException($"{region}'s Kafka host did not become ready within 60 s; see {Paths.KafkaLog(region)}.");
            await Task.Delay(100, cancellationToken);
        }
        var bootstrap = File.ReadAllText(Paths.KafkaBootstrapFile(region)).Trim();
        File.WriteAllText(Paths.BootstrapFile(region), bootstrap + Environment.NewLine);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        foreach (var topic in state.Topics)
            await CreateTopicAsync(http, region, topic, state.Partitions, cancellationToken);
    }

    /// <summary>Creates a topic in one region through its Kafka host (the embedded Kafka has no CreateTopics).</summary>
    public async Task CreateTopicAsync(string region, string topic, int partitions, CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await CreateTopicAsync(http, region, topic, partitions, cancellationToken);
    }

    private async Task CreateTopicAsync(HttpClient http, string region, string topic, int partitions, CancellationToken cancellationToken)
    {
        using var response = await http.PutAsync($"{Control(region)}/topics/{Uri.EscapeDataString(topic)}?partitions={partitions}", null, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new MeshCommandException($"Creating topic '{topic}' in {region} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
    }

    private void StartSilo(LocalMeshState state, string region, int instance)
    {
        var me = state.Region(region);
        var silo = me.Silo(instance);
        var peers = new JsonObject();
        foreach (var link in state.LinksInto(region))
        {
            peers[link.From] = new JsonObject
            {
                ["BootstrapServers"] = Bootstrap(link.From),
                ["Origins"] = new JsonArray([.. link.Origins.Select(o => (JsonNode)o)]),
                ["Topics"] = new JsonObject
                {
                    ["Include"] = new JsonArray([.. link.Include.Select(o => (JsonNode)o)]),
                    ["Exclude"] = new JsonArray([.. link.Exclude.Select(o => (JsonNode)o)]),
                },
            };
        }
        var config = new JsonObject
        {
            ["Mesh"] = new JsonObject
            {
                ["Region"] = region,
                ["Kafka"] = new JsonObject { ["BootstrapServers"] = Bootstrap(region), ["EmbeddedControl"] = Control(region) },
                ["Peers"] = peers,
                ["Replication"] = new JsonObject { ["MinimumSilos"] = me.Silos.Count },
                ["Orleans"] = new JsonObject
                {
                    ["Clustering"] = "localhost",
                    ["ClusterId"] = me.ClusterId,
                    ["SiloPort"] = silo.SiloPort,
                    ["GatewayPort"] = silo.GatewayPort,
                    ["PrimarySiloPort"] = instance == 1 ? null : me.Silos[0].SiloPort,
                },
            },
        };
        File.WriteAllText(Paths.SiloConfig(region, instance), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        // The mesh key goes through the environment: the config file above is for reading, the key is not.
        LocalProcesses.StartDetached(LocalMeshPaths.Binary(LocalMeshPaths.SiloBinary), ["--config", Paths.SiloConfig(region, instance)],
            Paths.SiloLog(region, instance), Paths.SiloPidFile(region, instance),
            new Dictionary<string, string>(SiloEnvironment.GetValueOrDefault(region) ?? []) { [MeshKeyVariable] = EnsureMeshKey() });
        _progress($"{region}: starting silo {instance} of {me.Silos.Count} (gateway 127.0.0.1:{silo.GatewayPort})");
    }

    /// <summary>The environment variable a silo reads its mesh key from.</summary>
    public const string MeshKeyVariable = "MESH_Mesh__Provenance__Key";

    /// <summary>
    /// The local mesh's key: generated once per mesh folder (so every region signs and verifies with
    /// the same one), kept in a file only its owner can read.
    /// </summary>
    public string EnsureMeshKey()
    {
        if (File.Exists(Paths.MeshKeyFile)) return File.ReadAllText(Paths.MeshKeyFile).Trim();
        Directory.CreateDirectory(Paths.Root);
        var key = MeshKeys.Generate();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(Paths.MeshKeyFile, options))
        using (var writer = new StreamWriter(file))
            writer.WriteLine(key);
        return key;
    }

    /// <summary>Connects to one region's silos.</summary>
    public Task<RegionConnection> ConnectAsync(string region, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var r = State.Region(region);
        return RegionConnection.ConnectAsync(region, r.ClusterId, "mesh",
            [.. r.Silos.Where(s => IsSiloRunning(region, s.Instance)).DefaultIfEmpty(r.Silos[0]).Select(s => new IPEndPoint(IPAddress.Loopback, s.GatewayPort))],
            timeout, cancellationToken);
    }

    /// <summary>Waits until every region reports every peer link replicating every topic.</summary>
    public async Task WaitUntilReplicatingAsync(LocalMeshState state, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        var pending = state.Regions.Select(r => r.Id).ToHashSet();
        var lastReason = new Dictionary<string, string>();
        while (pending.Count > 0)
        {
            foreach (var region in pending.ToArray())
            {
                if (!IsSiloRunning(region))
                    throw new MeshCommandException($"{region}'s silos exited; see {Paths.SiloLog(region, 1)}:\n{Tail(Paths.SiloLog(region, 1))}");
                var reason = await NotReplicatingReasonAsync(state, region, cancellationToken);
                if (reason is null)
                {
                    pending.Remove(region);
                    _progress($"{region}: every inbound link is replicating");
                }
                else lastReason[region] = reason;
            }
            if (pending.Count == 0) break;
            if (DateTime.UtcNow > deadline)
                throw new MeshCommandException("Regions not replicating within " + timeout.TotalSeconds + " s: " +
                    string.Join("; ", pending.Select(r => $"{r}: {lastReason.GetValueOrDefault(r, "no answer")} (log {Paths.SiloLog(r, 1)})")));
            await Task.Delay(500, cancellationToken);
        }
    }

    /// <summary>Waits until each region's silos answer a status request (a silo that died at start is reported).</summary>
    public async Task WaitUntilAnsweringAsync(IEnumerable<string> regions, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        foreach (var region in regions)
        {
            while (true)
            {
                if (!IsSiloRunning(region))
                    throw new MeshCommandException($"{region}'s silos exited; see {Paths.SiloLog(region, 1)}:\n{Tail(Paths.SiloLog(region, 1))}");
                try
                {
                    await using var connection = await ConnectAsync(region, TimeSpan.FromSeconds(10), cancellationToken);
                    await connection.GetStatusAsync(TimeSpan.FromSeconds(10));
                    break;
                }
                catch (Exception e) when (e is IOException or TimeoutException or OrleansException)
                {
                    if (DateTime.UtcNow > deadline)
                        throw new MeshCommandException($"{region}'s silo did not answer within {timeout.TotalSeconds} s ({e.Message}); see {Paths.SiloLog(region, 1)}.");
                    await Task.Delay(500, cancellationToken);
                }
            }
        }
    }

    private async Task<string?> NotReplicatingReasonAsync(LocalMeshState state, string region, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await ConnectAsync(region, TimeSpan.FromSeconds(10), cancellationToken);
            var status = await connection.GetStatusAsync(TimeSpan.FromSeconds(10));
            foreach (var expected in state.LinksInto(region))
            {
                var source = expected.From;
                var link = status.InboundLinks.FirstOrDefault(l => l.Source == source);
                if (link is null) return $"no link from {source}";
                var filter = new TopicFilter(expected.Include, expected.Exclude);
                foreach (var topic in state.Topics.Where(filter.Matches))
                {
                    var t = link.Topics.FirstOrDefault(x => x.Topic == topic);
                    if (t is null) return $"{source}->{region} has not found topic '{topic}' yet{(link.Error is null ? "" : $" ({link.Error})")}";
                    if (t.State == ReplicationState.Stopped) throw new MeshCommandException($"{source}->{region} topic '{topic}' stopped: {t.Error}");
                    if (t.State != ReplicationState.Replicating) return $"{source}->{region} topic '{topic}' is {t.State}{(t.Error is null ? "" : $": {t.Error}")}";
                }
            }
            return null;
        }
        catch (IOException e)
        {
            return e.Message;
        }
        catch (TimeoutException)
        {
            return "status request timed out";
        }
        catch (OrleansException e)
        {
            return e.Message;
        }
    }

    private static string Tail(string logFile, int lines = 15)
    {
        try
        {
            return string.Join('\n', File.ReadLines(logFile).TakeLast(lines));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    // Silo and gateway ports are chosen before the silos bind them, while the embedded Kafka brokers and
    // every client take ephemeral ports all the time. Picking below the kernel's ephemeral range means
    // nothing else on the machine is handed one of ours in between (a silo that cannot bind exits).
    private static int[] FreePorts(int count)
    {
        var (low, _) = EphemeralRange();
        var ceiling = Math.Max(2048, low);
        var floor = Math.Max(1024, ceiling - 12000);
        var ports = new List<int>();
        for (var attempt = 0; ports.Count < count && attempt < 10_000; attempt++)
        {
            var port = Random.Shared.Next(floor, ceiling);
            if (ports.Contains(port)) continue;
            try
            {
                var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                listener.Stop();
                ports.Add(port);
            }
            catch (SocketException)
            {
                // in use: try another
            }
        }
        if (ports.Count < count)
            throw new MeshCommandException($"Could not find {count} free TCP ports between {floor} and {ceiling} on 127.0.0.1.");
        return [.. ports];
    }

    private static (int Low, int High) EphemeralRange()
    {
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            return (int.Parse(parts[0]), int.Parse(parts[1]));
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return (32768, 60999); // Linux's default
        }
    }
}
