using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mesh.Core.Replication;

namespace Mesh.Client.Local;

// Each region's silos: their configuration, the mesh key they are handed, the ports they take.
public sealed partial class LocalMesh
{
    private void StartSilo(LocalMeshState state, string region, int instance)
    {
        var me = state.Region(region);
        var silo = me.Silo(instance);
        File.WriteAllText(Paths.SiloConfig(region, instance), SiloConfig(state, me, silo).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        // The mesh key goes through the environment: the config file above is for reading, the key is not. A region's own
        // environment comes after it, so a rehearsal of a key rotation can hand one region another key.
        var environment = new Dictionary<string, string> { [MeshKeyVariable] = EnsureMeshKey() };
        foreach (var (name, value) in SiloEnvironment.GetValueOrDefault(region) ?? []) environment[name] = value;
        LocalProcesses.StartDetached(LocalMeshPaths.Binary(LocalMeshPaths.SiloBinary), ["--config", Paths.SiloConfig(region, instance)],
            Paths.SiloLog(region, instance), Paths.SiloPidFile(region, instance), environment);
        _progress($"{region}: starting silo {instance} of {me.Silos.Count} (gateway 127.0.0.1:{silo.GatewayPort}{(silo.MetricsUrl is { } metrics ? $", metrics {metrics}" : "")})");
    }

    /// <summary>
    /// One silo's configuration. The links come from the topology file; <c>Connections</c> carries
    /// every other local region's Kafka as it is now, which wins over the document's address (an
    /// embedded Kafka that restarted is on new ports, the documents still name the old ones).
    /// </summary>
    private JsonObject SiloConfig(LocalMeshState state, LocalRegion region, LocalSilo silo)
    {
        var connections = new JsonObject();
        foreach (var other in state.Regions.Where(r => r.Id != region.Id && File.Exists(Paths.BootstrapFile(r.Id))))
        {
            connections[other.Id] = new JsonObject
            {
                ["BootstrapServers"] = Bootstrap(other.Id),
                ["EmbeddedControl"] = File.Exists(Paths.KafkaControlFile(other.Id)) ? Control(other.Id) : null,
            };
        }
        return new JsonObject
        {
            ["Mesh"] = new JsonObject
            {
                ["Region"] = region.Id,
                ["Kafka"] = new JsonObject { ["BootstrapServers"] = Bootstrap(region.Id), ["EmbeddedControl"] = Control(region.Id) },
                ["Connections"] = connections,
                ["Topology"] = new JsonObject { ["File"] = Path.Combine(Paths.Root, region.TopologyFile) },
                ["Replication"] = new JsonObject { ["MinimumSilos"] = region.Silos.Count },
                ["Metrics"] = silo.MetricsPort == 0 ? null : new JsonObject { ["Port"] = silo.MetricsPort, ["Host"] = "127.0.0.1" },
                ["Orleans"] = WithTls(state, region, state.Postgres is { } postgres
                    ? new JsonObject
                    {
                        // Any silo may die, the first included: membership lives in the region's database.
                        ["Clustering"] = "adonet",
                        ["ClusterId"] = region.ClusterId,
                        ["SiloPort"] = silo.SiloPort,
                        ["GatewayPort"] = silo.GatewayPort,
                        ["AdoNet"] = new JsonObject { ["Invariant"] = "Npgsql", ["ConnectionString"] = LocalPostgres.ConnectionString(postgres.Port, region.Database) },
                    }
                    : new JsonObject
                    {
                        ["Clustering"] = "localhost",
                        ["ClusterId"] = region.ClusterId,
                        ["SiloPort"] = silo.SiloPort,
                        ["GatewayPort"] = silo.GatewayPort,
                        ["PrimarySiloPort"] = silo.Instance == region.Silos[0].Instance ? null : region.Silos[0].SiloPort,
                    }),
            },
        };
    }

    /// <summary>The region's silo certificate in its Orleans settings, unless the mesh runs without TLS.</summary>
    private JsonObject WithTls(LocalMeshState state, LocalRegion region, JsonObject orleans)
    {
        if (state.PlainTextOrleans) return orleans;
        EnsureCertificates([region.Id]);
        var files = CertificateFiles(SiloHolder(region.Id));
        orleans["Tls"] = new JsonObject { ["CaFile"] = files.CaFile, ["CertificateFile"] = files.CertificateFile, ["KeyFile"] = files.KeyFile };
        return orleans;
    }

    /// <summary>The environment variable a silo reads its mesh key from.</summary>
    public const string MeshKeyVariable = "MESH_Mesh__Provenance__Key";

    /// <summary>The environment variable <c>mesh local up</c> takes the mesh key from, when it is set.</summary>
    public const string OperatorKeyVariable = "MESH_KEY";

    /// <summary>
    /// The local mesh's key: <c>MESH_KEY</c> when set, otherwise generated, once per mesh folder (so every region signs
    /// and verifies with the same one), kept in a file only its owner can read. No message repeats a key.
    /// </summary>
    /// <exception cref="MeshCommandException"><c>MESH_KEY</c> is not a valid key, or is not the key the folder's mesh was made with.</exception>
    public string EnsureMeshKey()
    {
        var given = Environment.GetEnvironmentVariable(OperatorKeyVariable);
        if (string.IsNullOrEmpty(given)) given = null;
        if (given is not null && !MeshKeys.IsValidKey(given, out var reason))
            throw new MeshCommandException($"{OperatorKeyVariable} {reason}. Set it to a key of at least {MeshKeys.MinimumKeyLength} characters " +
                                           $"(for example: export {OperatorKeyVariable}=$(openssl rand -base64 32)), or unset it to have one generated.", 2);
        if (File.Exists(Paths.MeshKeyFile))
        {
            var existing = File.ReadAllText(Paths.MeshKeyFile).Trim();
            if (given is not null && given != existing)
                throw new MeshCommandException($"{OperatorKeyVariable} is not the key this mesh was made with ({Paths.MeshKeyFile}): its regions sign and " +
                                               $"verify with that one. Unset {OperatorKeyVariable}, or start a new mesh with another --dir.", 2);
            return existing;
        }
        Directory.CreateDirectory(Paths.Root);
        var key = given ?? MeshKeys.Generate();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(Paths.MeshKeyFile, options))
        using (var writer = new StreamWriter(file))
            writer.WriteLine(key);
        return key;
    }

    // Silo and gateway ports are chosen before the silos bind them, while the embedded Kafka brokers and
    // every client take ephemeral ports all the time. Picking below the kernel's ephemeral range means
    // nothing else on the machine is handed one of ours in between (a silo that cannot bind exits).
    // A port handed out stays free until its silo binds it, seconds later: another mesh started in between must not be
    // handed it too, so each is kept back for a while: in this process (tests start two at a time), and across processes
    // (a 'mesh local up' or 'mesh bench' beside another) by a file per port, made only by whoever gets it first.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, long> HandedOut = new();
    private static readonly TimeSpan KeepHandedOutFor = TimeSpan.FromMinutes(10);
    private static readonly string ReservedPorts = Path.Combine(Path.GetTempPath(), "mesh-local-ports");

    /// <summary>Keeps <paramref name="port"/> back for this process, and for every other one on the machine that picks ports here.</summary>
    private static bool TryReserve(int port, long now)
    {
        if (!HandedOut.TryAdd(port, now)) return false;
        var file = Path.Combine(ReservedPorts, port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            Directory.CreateDirectory(ReservedPorts);
            if (File.Exists(file) && DateTime.UtcNow - File.GetLastWriteTimeUtc(file) > KeepHandedOutFor) File.Delete(file);
            using (new FileStream(file, FileMode.CreateNew, FileAccess.Write)) { }
            return true;
        }
        catch (IOException)
        {
            // Another process holds it (or held it lately).
            HandedOut.TryRemove(port, out _);
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            // The folder is another user's: this process's own reservation is all there is.
            return true;
        }
    }

    private static int[] FreePorts(int count)
    {
        var (low, _) = EphemeralRange();
        var ceiling = Math.Max(2048, low);
        var floor = Math.Max(1024, ceiling - 12000);
        var ports = new List<int>();
        var now = Environment.TickCount64;
        foreach (var (old, at) in HandedOut)
            if (now - at > KeepHandedOutFor.TotalMilliseconds) HandedOut.TryRemove(old, out _);
        for (var attempt = 0; ports.Count < count && attempt < 10_000; attempt++)
        {
            var port = Random.Shared.Next(floor, ceiling);
            if (ports.Contains(port) || !TryReserve(port, now)) continue;
            try
            {
                var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                listener.Stop();
                ports.Add(port);
            }
            catch (SocketException)
            {
                // In use: try another, and leave it to whoever holds it (its file stays: a port in use is no loss to skip).
                HandedOut.TryRemove(port, out _);
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
