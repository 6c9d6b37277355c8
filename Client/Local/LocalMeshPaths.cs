namespace Mesh.Client.Local;

/// <summary>Where a local mesh keeps each region's files, and where the built binaries are.</summary>
public sealed class LocalMeshPaths(string dir)
{
    public string Root { get; } = Path.GetFullPath(dir);

    public string RegionDir(string region) => Path.Combine(Root, region);
    public string KafkaDir(string region) => Path.Combine(Root, region, "kafka");
    public string BootstrapFile(string region) => Path.Combine(Root, region, "bootstrap");
    public string KafkaBootstrapFile(string region) => Path.Combine(KafkaDir(region), "bootstrap");
    public string KafkaControlFile(string region) => Path.Combine(KafkaDir(region), "control");
    public string KafkaPidFile(string region) => Path.Combine(Root, region, "kafka.pid");
    public string KafkaLog(string region) => Path.Combine(Root, region, "kafka.log");
    public string SiloPidFile(string region, int instance) => Path.Combine(Root, region, $"silo-{instance}.pid");
    public string SiloLog(string region, int instance) => Path.Combine(Root, region, $"silo-{instance}.log");
    public string SiloConfig(string region, int instance) => Path.Combine(Root, region, $"silo-{instance}.json");

    /// <summary>The effective topology of <c>local up</c>: every silo of the regions it started begins from it.</summary>
    public string TopologyFile => Path.Combine(Root, TopologyFileName);

    /// <summary>The document of version <paramref name="version"/> as applied to this mesh, where regions added with it start.</summary>
    public string AppliedTopologyFile(long version) => Path.Combine(Root, $"topology-v{version}.yaml");

    public const string TopologyFileName = "topology.yaml";

    /// <summary>The local mesh's key (readable by its owner only); handed to each silo through its environment.</summary>
    public string MeshKeyFile => Path.Combine(Root, "mesh.key");

    /// <summary>The local mesh's CA and certificates (<c>mesh local up</c> makes them; the keys are readable by their owner only).</summary>
    public string CertificatesDir => Path.Combine(Root, "certs");

    public const string SiloBinary = "Mesh.Silo.dll";
    public const string RegionHostBinary = "Mesh.RegionHost.dll";
    public const string ClientBinary = "mesh.dll";

    /// <summary>
    /// The silo and region host are built next to the client under artifacts/bin/&lt;project&gt;/&lt;config&gt;/;
    /// MESH_SILO_DLL and MESH_REGIONHOST_DLL override that.
    /// </summary>
    public static string Binary(string fileName)
    {
        var (project, variable) = fileName switch
        {
            SiloBinary => ("Mesh.Silo", "MESH_SILO_DLL"),
            RegionHostBinary => ("Mesh.RegionHost", "MESH_REGIONHOST_DLL"),
            ClientBinary => ("Mesh.Client", "MESH_CLIENT_DLL"),
            _ => throw new ArgumentException($"unknown binary {fileName}", nameof(fileName)),
        };
        var configured = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrEmpty(configured)) return configured;

        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        // .../artifacts/bin/<client project>/<Configuration>/<tfm>
        var tfm = here.Name;
        var configuration = here.Parent?.Name;
        var bin = here.Parent?.Parent?.Parent;
        if (bin is not null && configuration is not null)
        {
            var candidate = Path.Combine(bin.FullName, project, configuration, tfm, fileName);
            if (File.Exists(candidate)) return candidate;
        }
        throw new MeshCommandException($"Cannot find {fileName} (looked under {bin?.FullName ?? AppContext.BaseDirectory}). Build the solution (./mesh builds it) or set {variable}.");
    }
}
