using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mesh.Client.Admin;
using Mesh.Client.Local;
using Mesh.Client.Traffic;
using Mesh.Core.Replication;
using Mesh.Integration.Tests.Infrastructure;
using Mesh.Kafka.Native;

namespace Mesh.Integration.Tests;

/// <summary>
/// Two regions started by hand, as an operator deploys them (a region host for Kafka and a silo each, from the built
/// executables, with their own config files; no <c>mesh local</c>, no mesh.json), with mutual TLS from a CA and
/// certificates made by <c>mesh certs</c>: the admin verbs reach them through <c>--gateways</c> and through the topology
/// file's <c>gateway:</c> entries, presenting the operator's certificate named by MESH_TLS_CA/CERT/KEY.
/// </summary>
public sealed class DeployedMesh : IAsyncLifetime
{
    public static readonly string[] Regions = ["r1", "r2"];
    public const string Topic = "orders";

    private readonly HandStartedProcesses _processes = new();

    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "mesh-tests", "deployed-" + Guid.NewGuid().ToString("N")[..8]);
    public Dictionary<string, string> Bootstrap { get; } = [];
    public Dictionary<string, string> Control { get; } = [];
    public Dictionary<string, int> Gateway { get; } = [];
    public string TopologyFile => Path.Combine(Dir, "topology.yaml");
    public string Gateways => string.Join(",", Regions.Select(r => $"{r}=127.0.0.1:{Gateway[r]}"));
    public string CertificatesDir => Path.Combine(Dir, "certs");

    /// <summary>What an admin verb needs in its environment to present the operator's certificate.</summary>
    public Dictionary<string, string> Operator => new()
    {
        [ClientCredentials.CaVariable] = Path.Combine(CertificatesDir, "ca.crt"),
        [ClientCredentials.CertificateVariable] = Path.Combine(CertificatesDir, "ops.crt"),
        [ClientCredentials.KeyVariable] = Path.Combine(CertificatesDir, "ops.key"),
    };

    public async Task InitializeAsync()
    {
        KafkaNative.EnsureLoaded();
        Directory.CreateDirectory(Dir);
        await Task.WhenAll(Regions.Select(StartKafkaAsync));
        foreach (var region in Regions) Gateway[region] = LocalMesh.FreePort();
        var silos = Regions.ToDictionary(r => r, _ => LocalMesh.FreePort());
        await File.WriteAllTextAsync(TopologyFile, $"""
            name: deployed
            version: 1
            pattern: mesh
            regions:
            {string.Join("\n", Regions.Select(r => $"  {r}:\n    kafka:\n      bootstrap.servers: {Bootstrap[r]}\n    gateway: [127.0.0.1:{Gateway[r]}]"))}
            topics:
              include: ["{Topic}"]
            """.Replace("\r", ""));
        var key = MeshKeys.Generate();
        foreach (var args in new[] { new[] { "init", "--out", CertificatesDir, "--name", "deployed CA" }, ["issue", "--ca-dir", CertificatesDir, "--role", "operator", "--name", "ops"] }
                     .Concat(Regions.Select(r => new[] { "issue", "--ca-dir", CertificatesDir, "--role", "silo", "--name", r, "--host", "127.0.0.1" })))
        {
            var made = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), ["certs", .. args]);
            if (made.ExitCode != 0) throw new InvalidOperationException($"mesh certs {string.Join(' ', args)}: {made}");
        }
        foreach (var region in Regions)
        {
            var config = new JsonObject
            {
                ["Mesh"] = new JsonObject
                {
                    ["Region"] = region,
                    ["Kafka"] = new JsonObject { ["BootstrapServers"] = Bootstrap[region], ["EmbeddedControl"] = Control[region] },
                    // The peer's embedded Kafka has no CreateTopics: its control surface creates the topics the link writes.
                    ["Connections"] = new JsonObject(Regions.Where(r => r != region).Select(r => KeyValuePair.Create(r,
                        (JsonNode?)new JsonObject { ["BootstrapServers"] = Bootstrap[r], ["EmbeddedControl"] = Control[r] }))),
                    ["Topology"] = new JsonObject { ["File"] = TopologyFile },
                    ["Orleans"] = new JsonObject
                    {
                        ["Clustering"] = "localhost", ["SiloPort"] = silos[region], ["GatewayPort"] = Gateway[region],
                        ["Tls"] = new JsonObject
                        {
                            ["CaFile"] = Path.Combine(CertificatesDir, "ca.crt"),
                            ["CertificateFile"] = Path.Combine(CertificatesDir, $"silo-{region}.crt"),
                            ["KeyFile"] = Path.Combine(CertificatesDir, $"silo-{region}.key"),
                        },
                    },
                },
            };
            var file = Path.Combine(Dir, $"{region}-silo.json");
            await File.WriteAllTextAsync(file, config.ToJsonString());
            _processes.Start(LocalMeshPaths.SiloBinary, Path.Combine(Dir, $"{region}-silo.log"), new Dictionary<string, string> { [LocalMesh.MeshKeyVariable] = key }, "--config", file);
        }
    }

    private async Task StartKafkaAsync(string region)
    {
        var dir = Path.Combine(Dir, region, "kafka");
        _processes.Start(LocalMeshPaths.RegionHostBinary, Path.Combine(Dir, $"{region}-kafka.log"), null, "--dir", dir, "--brokers", "1", "--region", region);
        var control = Path.Combine(dir, "control");
        await Eventually.WaitAsync($"{region}'s region host to write {control}", () => Task.FromResult(File.Exists(control)), done => done, TimeSpan.FromSeconds(60));
        Control[region] = (await File.ReadAllTextAsync(control)).Trim().TrimEnd('/');
        Bootstrap[region] = (await File.ReadAllTextAsync(Path.Combine(dir, "bootstrap"))).Trim();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        (await http.PutAsync($"{Control[region]}/topics/{Topic}?partitions=2", null)).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        await _processes.DisposeAsync();
        if (Environment.GetEnvironmentVariable("MESH_KEEP_TEST_DIRS") != "1")
            try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}

public sealed class DeployedMeshAdminTests(DeployedMesh mesh) : IClassFixture<DeployedMesh>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(1);

    private async Task<(MeshProcesses.Result Result, JsonDocument? Json)> StatusAsync(params string[] args)
    {
        var result = await MeshProcesses.MeshAsync(CliTimeout, mesh.Operator, ["status", "--json", .. args]);
        try { return (result, JsonDocument.Parse(result.Stdout)); }
        catch (JsonException) { return (result, null); }
    }

    private static JsonElement Region(JsonDocument json, string id) =>
        json.RootElement.GetProperty("regions").EnumerateArray().Single(r => r.GetProperty("region").GetString() == id);

    private static IEnumerable<string> TopicStates(JsonDocument json) =>
        json.RootElement.GetProperty("regions").EnumerateArray().SelectMany(r => r.GetProperty("links").EnumerateArray())
            .SelectMany(l => l.GetProperty("topics").EnumerateArray()).Select(t => t.GetProperty("state").GetString()!);

    private static bool Healthy((MeshProcesses.Result Result, JsonDocument? Json) s) =>
        s.Json is { } json && s.Result.ExitCode == 0 && DeployedMesh.Regions.All(r => Region(json, r).GetProperty("kafka").GetString() == "up")
        && TopicStates(json).Count() == 2 && TopicStates(json).All(t => t == "replicating");

    [Fact]
    public async Task Status_and_link_pause_reach_hand_started_regions_through_gateways_and_the_topology_file()
    {
        var byGateways = await Eventually.WaitAsync("both regions up and both links replicating through --gateways", () => StatusAsync("--gateways", mesh.Gateways),
            Healthy, Deadline, s => s.Result.ToString());
        Assert.All(DeployedMesh.Regions, r => Assert.Equal(1, Region(byGateways.Json!, r).GetProperty("silos").GetInt32()));

        // Records go both ways: the regions replicate, and status says so through the topology file's gateways.
        await Task.WhenAll(DeployedMesh.Regions.Select(r => Task.Run(() => TestTraffic.ProduceAsync(mesh.Bootstrap[r], r, DeployedMesh.Topic, 100, keys: 10))));
        var byFile = await Eventually.WaitAsync("each link to have replicated 100 records, through --topology", () => StatusAsync("--topology", mesh.TopologyFile),
            s => Healthy(s) && s.Json!.RootElement.GetProperty("regions").EnumerateArray()
                .All(r => r.GetProperty("links").EnumerateArray().Single().GetProperty("recordsReplicated").GetInt64() == 100),
            Deadline, s => s.Result.ToString());
        Assert.Equal(0, byFile.Result.ExitCode);

        // Another admin verb through the gateways: pause the link r1 -> r2, see it paused, resume it.
        var pause = await MeshProcesses.MeshAsync(CliTimeout, mesh.Operator, "link", "pause", "r1", "r2", "--gateways", mesh.Gateways);
        Assert.True(pause.ExitCode == 0, pause.ToString());
        await Eventually.WaitAsync("r1 -> r2 paused", () => StatusAsync("--gateways", mesh.Gateways),
            s => s.Json is { } json && Region(json, "r2").GetProperty("links")[0].GetProperty("topics")[0].GetProperty("state").GetString() == "paused",
            Deadline, s => s.Result.ToString());
        var resume = await MeshProcesses.MeshAsync(CliTimeout, mesh.Operator, "link", "resume", "r1", "r2", "--topology", mesh.TopologyFile);
        Assert.True(resume.ExitCode == 0, resume.ToString());
        await Eventually.WaitAsync("both links replicating again", () => StatusAsync("--gateways", mesh.Gateways), Healthy, Deadline, s => s.Result.ToString());
    }

    [Fact]
    public async Task A_gateway_that_refuses_fails_fast_naming_the_region_and_address()
    {
        var refused = LocalMesh.FreePort();
        var clock = Stopwatch.StartNew();
        var (result, json) = await StatusAsync("--gateways", $"r1=127.0.0.1:{mesh.Gateway["r1"]},r2=127.0.0.1:{refused}");
        clock.Stop();
        // Under the Orleans client's connect timeout (15 s), which a refused gateway used to cost in full.
        Assert.True(clock.Elapsed < MeshConnections.ConnectTimeout, $"took {clock.Elapsed.TotalSeconds:0.0} s: {result}");
        Assert.True(result.ExitCode == 3, result.ToString());
        var r2 = Region(json!, "r2");
        Assert.Equal("unreachable", r2.GetProperty("kafka").GetString());
        Assert.False(r2.GetProperty("reachable").GetBoolean());
        var error = r2.GetProperty("error").GetString()!;
        Assert.Contains("r2", error);
        Assert.Contains($"no gateway answers (127.0.0.1:{refused}: Connection refused)", error);
        Assert.Equal("up", Region(json!, "r1").GetProperty("kafka").GetString());

        // A topology file that names no gateway for a region says which, and a file that does not parse gives the validator's messages.
        var noGateway = Path.Combine(mesh.Dir, "no-gateway.yaml");
        await File.WriteAllTextAsync(noGateway, (await File.ReadAllTextAsync(mesh.TopologyFile)).Replace($"    gateway: [127.0.0.1:{mesh.Gateway["r2"]}]\n", ""));
        var missing = await MeshProcesses.MeshAsync(CliTimeout, mesh.Operator, "status", "--topology", noGateway);
        Assert.True(missing.ExitCode == 2, missing.ToString());
        Assert.Contains("no gateway for r2", missing.Stderr);
        var broken = Path.Combine(mesh.Dir, "broken.yaml");
        await File.WriteAllTextAsync(broken, "name: x\nversion: 1\npattern: hub-spoke\nhub: nowhere\nregions:\n  r1: {}\n");
        var invalid = await MeshProcesses.MeshAsync(CliTimeout, mesh.Operator, "status", "--topology", broken);
        Assert.True(invalid.ExitCode == 2, invalid.ToString());
        Assert.Contains("nowhere", invalid.Stderr);
        Assert.DoesNotContain("   at ", invalid.Stderr);
    }

    [Fact]
    public async Task Without_the_operators_certificate_the_admin_client_is_refused_and_told_what_to_set()
    {
        await Eventually.WaitAsync("both regions up", () => StatusAsync("--gateways", mesh.Gateways), Healthy, Deadline, s => s.Result.ToString());

        var (bare, bareJson) = await StatusWithAsync(new Dictionary<string, string>());
        Assert.True(bare.ExitCode == 3, bare.ToString());
        Assert.All(DeployedMesh.Regions, r => Assert.Contains("require mutual TLS and this client has no mesh certificate", Region(bareJson!, r).GetProperty("error").GetString()));

        var partial = mesh.Operator;
        partial.Remove(ClientCredentials.KeyVariable);
        var (half, _) = await StatusWithAsync(partial);
        Assert.True(half.ExitCode == 2, half.ToString());
        Assert.Contains($"{ClientCredentials.KeyVariable} is not set", half.Stderr);

        var wrongKey = mesh.Operator;
        wrongKey[ClientCredentials.KeyVariable] = Path.Combine(mesh.CertificatesDir, "silo-r1.key");
        var (mismatched, _) = await StatusWithAsync(wrongKey);
        Assert.True(mismatched.ExitCode == 2, mismatched.ToString());
        Assert.Contains("cannot be loaded", mismatched.Stderr);
        Assert.DoesNotContain("   at ", mismatched.Stderr);
    }

    private async Task<(MeshProcesses.Result Result, JsonDocument? Json)> StatusWithAsync(Dictionary<string, string> environment)
    {
        var result = await MeshProcesses.MeshAsync(CliTimeout, environment, "status", "--json", "--gateways", mesh.Gateways);
        try { return (result, JsonDocument.Parse(result.Stdout)); }
        catch (JsonException) { return (result, null); }
    }
}
