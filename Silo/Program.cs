using Mesh.Kafka.Native;
using Mesh.Silo.Hosting;
using Mesh.Silo.Hosting.Clustering;
using Mesh.Silo.Options;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// One silo of one region. Configuration: appsettings.json beside the binary, then the file given
// with --config, then MESH_-prefixed environment variables (MESH_Mesh__Region=us-east).
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine("""
        Mesh.Silo: runs one Orleans silo of one region.

        Usage: Mesh.Silo [--config <region.json>]

        The region configuration is the "Mesh" section of appsettings.json, the --config file and
        environment variables prefixed MESH_ (use __ for nesting, e.g. MESH_Mesh__Region=us-east):
          Mesh:Region                    this region's id
          Mesh:Kafka:BootstrapServers    this region's Kafka
          Mesh:Kafka:Settings:<key>      any librdkafka setting (security.protocol, sasl.*, ssl.*)
          Mesh:Kafka:EmbeddedControl     region host URL (embedded Kafka only)
          Mesh:Topology:File             the topology file (YAML or JSON) to start from; the region
                                         runs the newer of it and the version persisted in its Kafka
                                         (__mesh_topology). Without either it waits for
                                         'mesh topology apply'. Links, topics, routes and naming all
                                         come from the topology.
          Mesh:Connections:<region>:...  another region's Kafka (same shape as Mesh:Kafka), winning
                                         over the topology's 'kafka' settings for that region
          Mesh:Replication:Compression   codec of the records written into this region:
                                         none (default) | gzip | snappy | lz4 | zstd
          Mesh:TopicPolicies:<i>:Topics  whole-name regular expression; the first matching entry wins
          Mesh:TopicPolicies:<i>:Compression  that entry's codec, instead of Mesh:Replication:Compression
          Mesh:TopicPolicies:<i>:OnBadRecord  that entry's bad-record action, instead of Mesh:Replication:OnBadRecord
          Mesh:Replication:OnBadRecord   a record the mesh cannot take: quarantine (default) | stop
          Mesh:Replication:InternalTopics:ReplicationFactor  replicas of the mesh's own topics
                                         (-1, default: the cluster's default.replication.factor)
          Mesh:Replication:InternalTopics:MinInsyncReplicas  their min.insync.replicas (default 2
                                         when the replication factor is 3 or more)
          Mesh:Replication:ColdAfterMs   how long an idle source partition is fetched with short
                                         waits before its cheaper cold lane (default 30000)
          Mesh:Replication:TopicConfigCheckIntervalMs  how often links compare topic configs between
                                         regions (config drift in 'mesh status'; default 60000)
          Mesh:Provenance:Key            the mesh key (secret: set it through the environment,
                                         MESH_Mesh__Provenance__Key); empty: unsigned provenance
          Mesh:Provenance:AdditionalKey  a second key accepted (not used to sign) during a rotation
          Mesh:Provenance:Untrusted      a header the mesh cannot trust: local (default) | strict
          Mesh:Provenance:UntrustedHeader  keep (default, as mesh.provenance.untrusted) | strip
          Mesh:Orleans:Clustering        localhost (silos on this machine, joining the first) |
                                         adonet (membership in PostgreSQL: any silo may die)
          Mesh:Orleans:SiloPort / GatewayPort / ClusterId / ServiceId / PrimarySiloPort (localhost)
          Mesh:Orleans:AdoNet:ConnectionString  the region's PostgreSQL database (adonet); the silo
                                         creates the membership tables in it when they are missing.
                                         Holds a password? Set it through the environment.
          Mesh:Orleans:AdoNet:Invariant  Npgsql (default, the only one supported)
          Mesh:Orleans:Tls:CaFile / CertificateFile / KeyFile  mutual TLS on the silo and gateway
                                         ports: the mesh's CA (the only one trusted), this silo's
                                         certificate (role silo, CN the region) and its PEM key;
                                         unset: plain text ('mesh certs' makes them)
          Mesh:Orleans:Tls:CrlFile       a revocation list signed by the CA ('mesh certs revoke')
          Mesh:Orleans:Tls:ExpiryWarningDays  warn this long before a certificate expires (30)
          Mesh:Orleans:AdvertisedAddress the address other silos and clients reach this one at
                                         (adonet; default 127.0.0.1)
          Mesh:Metrics:Port              serve Prometheus metrics at http://Host:Port/metrics
                                         (default 0: no endpoint)
          Mesh:Metrics:Host              the address it listens on: 127.0.0.1 (default) | the
                                         address of this host that Prometheus scrapes
          Mesh:Metrics:KafkaStatisticsIntervalMs  librdkafka statistics of the shared Kafka
                                         clients while the endpoint is on, every N ms (default 0: off;
                                         costly with thousands of partitions)
        """);
    return 0;
}

var configPath = ArgValue(args, "--config");
if (configPath is not null && !File.Exists(configPath))
{
    Console.Error.WriteLine($"--config: file '{configPath}' does not exist. Pass the path of the region's JSON configuration.");
    return 2;
}

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.Sources.Clear();
builder.Configuration.AddJsonFile("appsettings.json", optional: true);
if (configPath is not null) builder.Configuration.AddJsonFile(Path.GetFullPath(configPath), optional: false);
builder.Configuration.AddEnvironmentVariables("MESH_");

var region = new RegionOptions();
try
{
    builder.Configuration.GetSection(RegionOptions.Section).Bind(region);
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"Invalid region configuration: {e.Message}");
    return 2;
}
var problems = RegionOptionsValidator.Validate(region).ToList();
// Settings of the per-silo topology this build replaced: say where they went rather than ignore them.
foreach (var gone in new[] { "Peers", "Topics" })
    if (builder.Configuration.GetSection($"{RegionOptions.Section}:{gone}").Exists())
        problems.Add($"Mesh:{gone} (env MESH_Mesh__{gone}): is no longer read: links, peers and topic selections come from the topology. " +
                     "Write them in a topology file and set Mesh:Topology:File to it (or apply one with 'mesh topology apply'); " +
                     "a peer's Kafka address that differs from the topology's goes in Mesh:Connections:<region>.");
if (!string.IsNullOrEmpty(region.Topology.File) && File.Exists(region.Topology.File))
{
    var load = Mesh.Core.Topology.Topology.Load(File.ReadAllText(region.Topology.File), region.Topology.File);
    foreach (var error in load.Errors)
        problems.Add($"Mesh:Topology:File: {error.Describe(region.Topology.File)} (fix: {error.Fix})");
}
// The metrics endpoint listens from inside the host's start, where a port taken by another process shows only as a
// stack trace: say which setting and what to do instead.
if (problems.Count == 0 && MeshMetricsHosting.PortTaken(region.Metrics) is { } taken)
    problems.Add(taken);
if (problems.Count > 0)
{
    Console.Error.WriteLine($"Invalid region configuration ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}):");
    foreach (var problem in problems) Console.Error.WriteLine($"  - {problem}");
    return 2;
}

if (region.Orleans.Clustering.Equals("adonet", StringComparison.OrdinalIgnoreCase))
{
    var applied = await MembershipDatabase.PrepareAsync(region.Orleans.AdoNet.ConnectionString, TimeSpan.FromSeconds(30));
    if (applied != 0) return applied;
}

KafkaNative.EnsureLoaded();
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
builder.Logging.AddFilter("Orleans", LogLevel.Warning);
// A refused TLS peer is logged once, by the mesh, with its address and the reason (Mesh.Security.MeshTls).
builder.Logging.AddFilter("Orleans.Connections.Security", LogLevel.Error);
builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
builder.Logging.AddFilter("Polly", LogLevel.Warning);
builder.UseOrleans(silo => silo.UseMeshClustering(region).UseMeshTls(region));
builder.Services.AddMeshReplication(region);
builder.Services.AddMeshMetrics(region);

using var host = builder.Build();
await host.RunAsync();
return 0;

static string? ArgValue(string[] args, string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
