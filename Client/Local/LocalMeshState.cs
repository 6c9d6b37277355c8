using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Client.Local;

/// <summary>What <c>mesh local up</c> started, kept in <c>&lt;dir&gt;/mesh.json</c> so later verbs find it.</summary>
public sealed record LocalMeshState
{
    public const string FileName = "mesh.json";

    public required List<LocalRegion> Regions { get; init; }
    public required int Brokers { get; init; }
    public required int Partitions { get; init; }
    public required List<string> Topics { get; init; }

    /// <summary>The pattern the links came from, for people.</summary>
    public string Topology { get; init; } = "full mesh";

    /// <summary>The version of the topology the mesh was last started on or applied (0: a state written before topologies had versions).</summary>
    public long TopologyVersion { get; init; }

    /// <summary>
    /// How each region's silos find each other: <c>localhost</c> (they join the first silo; a state
    /// written before this field existed) or <c>postgres</c> (membership in the mesh's PostgreSQL).
    /// </summary>
    public string Clustering { get; init; } = LocalClustering.Localhost;

    /// <summary>
    /// True when the silos' Orleans ports run without TLS (<c>local up --no-tls</c>); otherwise (the default) the mesh's own
    /// CA in <c>&lt;dir&gt;/certs</c> secures them, and the admin verbs present the local operator's certificate.
    /// </summary>
    public bool PlainTextOrleans { get; init; }

    /// <summary>The mesh's PostgreSQL server, with <c>postgres</c> clustering.</summary>
    public LocalPostgresState? Postgres { get; init; }

    /// <summary>Every link: who pulls from whom, which origins and topics it carries.</summary>
    public required List<LocalLink> Links { get; init; }

    public IEnumerable<LocalLink> LinksInto(string region) => Links.Where(l => l.To == region);

    /// <summary>The links a region's silos run: pull links into it and push links out of it.</summary>
    public IEnumerable<LocalLink> LinksRunBy(string region) => Links.Where(l => l.RunsIn == region);

    public LocalRegion Region(string id) =>
        Regions.FirstOrDefault(r => r.Id == id)
        ?? throw new MeshCommandException($"There is no region '{id}' in this local mesh; it has {string.Join(", ", Regions.Select(r => r.Id))}.");

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string PathIn(string dir) => System.IO.Path.Combine(dir, FileName);

    public static LocalMeshState? TryLoad(string dir)
    {
        var path = PathIn(dir);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<LocalMeshState>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new MeshCommandException($"{path} is not a readable local mesh state ({e.Message}). Run 'mesh local down --dir {dir}' and 'mesh local up' again.");
        }
    }

    public static LocalMeshState Load(string dir) =>
        TryLoad(dir) ?? throw new MeshCommandException($"No local mesh in '{dir}' (no {FileName}). Start one with 'mesh local up --regions us-east,eu-west --dir {dir}'.");

    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        var path = PathIn(dir);
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(this, Json));
        File.Move(path + ".tmp", path, overwrite: true);
    }
}

/// <summary>One local region: its own Orleans cluster of one or more silos.</summary>
public sealed record LocalRegion
{
    public required string Id { get; init; }

    /// <summary>The region's silos; under localhost clustering the first is the primary, which the others join.</summary>
    public required List<LocalSilo> Silos { get; init; }

    /// <summary>The region's membership database under postgres clustering.</summary>
    public string Database => LocalPostgres.DatabaseOf(Id);

    public string ClusterId => $"mesh-{Id}";

    /// <summary>
    /// The topology file the region's silos start from, relative to the mesh folder: the one written
    /// by <c>local up</c>, or for a region added by <c>topology apply</c> the version it was added with.
    /// A silo runs the newer of this file and the topology persisted in its Kafka, so the file is only
    /// where a region with an empty Kafka starts.
    /// </summary>
    public string TopologyFile { get; init; } = LocalMeshPaths.TopologyFileName;

    public LocalSilo Silo(int instance) =>
        Silos.FirstOrDefault(s => s.Instance == instance)
        ?? throw new MeshCommandException($"Region '{Id}' has no silo {instance}; it has silos {string.Join(", ", Silos.Select(s => s.Instance))}.", 2);
}

/// <summary>The local mesh's PostgreSQL server: its port on 127.0.0.1 and its data folder.</summary>
public sealed record LocalPostgresState(int Port, string DataDir);

public static class LocalClustering
{
    public const string Localhost = "localhost";
    public const string Postgres = "postgres";

    public static bool IsValid(string kind) => kind is Localhost or Postgres;
}

/// <summary>
/// One silo; its ports are fixed at <c>up</c> so a restarted silo comes back where clients expect it. Its Prometheus
/// endpoint is <c>http://127.0.0.1:MetricsPort/metrics</c> (0: a state written before silos served metrics).
/// </summary>
public sealed record LocalSilo(int Instance, int SiloPort, int GatewayPort, int MetricsPort = 0)
{
    /// <summary>How many ports <see cref="Take"/> takes for one silo.</summary>
    public const int PortsPerSilo = 3;

    /// <summary>Silo <paramref name="instance"/> on the next <see cref="PortsPerSilo"/> free ports.</summary>
    public static LocalSilo Take(int instance, Queue<int> ports) => new(instance, ports.Dequeue(), ports.Dequeue(), ports.Dequeue());

    public string? MetricsUrl => MetricsPort == 0 ? null : $"http://127.0.0.1:{MetricsPort}/metrics";
}

/// <summary>A command failed for a reason the operator can act on; the message says what and how.</summary>
public sealed class MeshCommandException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
