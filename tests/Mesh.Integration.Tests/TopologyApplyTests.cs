using System.Text.Json;
using Mesh.Client.Admin;
using Mesh.Client.Traffic;
using Mesh.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Mesh.Integration.Tests;

/// <summary>
/// <c>mesh topology apply</c> on running regions: one of two concurrent applies wins everywhere, bad
/// input changes nothing, a region that was away takes the new version when it returns, a dry run
/// changes nothing, and a paused link neither loses nor duplicates what was produced meanwhile.
/// </summary>
public sealed class TopologyApplyTests(ITestOutputHelper output, TopologyApplyTests.EastWest eastWest) : IClassFixture<TopologyApplyTests.EastWest>
{
    private const string Topic = "orders";
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(5);

    /// <summary>One region as <c>mesh topology get --json</c> shows it.</summary>
    private sealed record RegionTopology(string Region, bool Reachable, long? Version, string? Name, string? DocumentSha256, List<string> Links, List<string> Paused,
        string? AdoptedFrom)
    {
        public override string ToString() => Reachable ? $"{Region}: version {Version} '{Name}' ({DocumentSha256?[..8]})" : $"{Region}: unreachable";
    }

    [Fact]
    public async Task Of_two_concurrent_applies_exactly_one_wins_and_every_region_runs_its_document()
    {
        await using var mesh = TestMesh.InNewFolder("apply-race");
        await mesh.UpAsync(["east", "north", "west"], partitions: 1, Topic);
        Assert.All(await GetAsync(mesh), r => Assert.Equal(1, r.Version));

        var ring = await WriteAsync(mesh, "ring.yaml", """
            name: ring
            version: 2
            pattern: custom
            regions:
              east: {}
              north: {}
              west: {}
            links:
              - from: east
                to: north
              - from: north
                to: west
              - from: west
                to: east
            """);
        var hub = await WriteAsync(mesh, "hub.yaml", """
            name: hub
            version: 2
            pattern: hub-spoke
            hub: north
            regions:
              east: {}
              north: {}
              west: {}
            """);

        var results = await Task.WhenAll(
            MeshProcesses.MeshAsync(CliTimeout, "topology", "apply", ring, "--json", "--dir", mesh.Dir),
            MeshProcesses.MeshAsync(CliTimeout, "topology", "apply", hub, "--json", "--dir", mesh.Dir));
        var report = $"ring:\n{results[0]}\nhub:\n{results[1]}";
        Assert.True(results.Count(r => r.ExitCode == 0) == 1, "exactly one apply should win\n" + report);
        Assert.True(results.Count(r => r.ExitCode == 2) == 1, "the other should be refused with exit code 2\n" + report);
        var winner = results[0].ExitCode == 0 ? "ring" : "hub";
        var loser = results.Single(r => r.ExitCode == 2);
        Assert.Contains("runs version 2", loser.Stderr);

        using (var applied = JsonDocument.Parse(results.Single(r => r.ExitCode == 0).Stdout))
        {
            var regions = applied.RootElement.GetProperty("regions").EnumerateArray().ToList();
            Assert.Equal(["east", "north", "west"], regions.Select(r => r.GetProperty("region").GetString()));
            Assert.All(regions, r => Assert.Equal(2, r.GetProperty("versionAfter").GetInt64()));
            Assert.Single(regions, r => r.GetProperty("coordinator").GetBoolean() && r.GetProperty("region").GetString() == "east");
        }

        var now = await GetAsync(mesh);
        Assert.All(now, r => Assert.True(r.Version == 2 && r.Name == winner, $"every region should run '{winner}' version 2: {string.Join("; ", now)}"));
        Assert.Single(now.Select(r => r.DocumentSha256).Distinct());
        // The local mesh's own record follows the winner.
        Assert.Equal(2, mesh.Local.State.TopologyVersion);
        Assert.Equal(winner == "ring" ? "custom" : "hub-spoke (hub north)", mesh.Local.State.Topology);
    }

    [Fact]
    public async Task Bad_input_and_a_dry_run_change_no_region()
    {
        var mesh = await eastWest.GetAsync();
        var before = await GetAsync(mesh);
        Assert.All(before, r => Assert.Equal(1, r.Version));

        // Invalid: the problems with their fixes, and nothing sent.
        var invalid = await WriteAsync(mesh, "invalid.yaml", "name: bad\nversion: 2\npattern: hub-spoke\nhub: nowhere\nregions:\n  east: {}\n  west: {}\n");
        var refused = await MeshProcesses.MeshAsync(CliTimeout, "topology", "apply", invalid, "--dir", mesh.Dir);
        Assert.True(refused.ExitCode == 2, refused.ToString());
        Assert.Contains("nowhere", refused.Stderr);
        Assert.Contains("fix:", refused.Stderr);
        Assert.Contains("nothing was sent", refused.Stderr);

        // A region that cannot be reached: nothing is applied anywhere.
        var next = await WriteAsync(mesh, "next.yaml", """
            name: one-way
            version: 2
            pattern: active-passive
            primary: east
            regions:
              east: {}
              west: {}
            """);
        var eastGateway = mesh.Local.State.Region("east").Silos[0].GatewayPort;
        var refusedAt = System.Diagnostics.Stopwatch.StartNew();
        var unreachable = await MeshProcesses.MeshAsync(CliTimeout, mesh.OperatorTls, "topology", "apply", next, "--gateways", $"east=127.0.0.1:{eastGateway},west=127.0.0.1:1");
        Assert.True(unreachable.ExitCode == 3, unreachable.ToString());
        // A refused gateway is known at once, not after the Orleans client's whole connect timeout (15 s, which the whole
        // command used to take at least): the refusal itself is the message.
        Assert.True(refusedAt.Elapsed < MeshConnections.ConnectTimeout, $"the refused gateway took {refusedAt.Elapsed.TotalSeconds:0.0} s: {unreachable}");
        Assert.Contains("no gateway answers (127.0.0.1:1: Connection refused)", unreachable.Stderr);
        Assert.Contains("west", unreachable.Stderr);
        Assert.Contains("--allow-unreachable", unreachable.Stderr);
        await AssertUnchangedAsync(mesh, before, "after an apply with an unreachable region");

        // --dir and --gateways exclude each other.
        var both = await MeshProcesses.MeshAsync(CliTimeout, "topology", "apply", next, "--gateways", $"east=127.0.0.1:{eastGateway}", "--dir", mesh.Dir);
        Assert.True(both.ExitCode == 2, both.ToString());

        // A version that does not increase: every region's version and the fix.
        var same = await WriteAsync(mesh, "same-version.yaml", "name: again\nversion: 1\npattern: mesh\nregions:\n  east: {}\n  west: {}\n");
        var stale = await MeshProcesses.MeshAsync(CliTimeout, "topology", "apply", same, "--dir", mesh.Dir);
        Assert.True(stale.ExitCode == 2, stale.ToString());
        Assert.Contains("east runs version 1", stale.Stderr);
        Assert.Contains("west runs version 1", stale.Stderr);
        Assert.Contains("version: 2", stale.Stderr);

        // The file the mesh started from, again: already there, nothing to do.
        var again = await MeshProcesses.MeshAsync(CliTimeout, "topology", "apply", mesh.Local.Paths.TopologyFile, "--dir", mesh.Dir);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("already runs version 1", again.Stdout);

        // A dry run answers what would change and changes nothing.
        var dry = await MeshProcesses.MeshAsync(CliTimeout, "topology", "apply", next, "--dry-run", "--json", "--dir", mesh.Dir);
        Assert.True(dry.ExitCode == 0, dry.ToString());
        using (var json = JsonDocument.Parse(dry.Stdout))
        {
            Assert.True(json.RootElement.GetProperty("dryRun").GetBoolean());
            var regions = json.RootElement.GetProperty("regions").EnumerateArray().ToList();
            Assert.All(regions, r => Assert.Equal("would-apply", r.GetProperty("outcome").GetString()));
            // Active-passive from east drops west -> east, a pull link that runs in east.
            var east = regions.Single(r => r.GetProperty("region").GetString() == "east");
            Assert.Contains(east.GetProperty("linksRemoved").EnumerateArray(), l => l.GetString() == "west->east");
        }
        await AssertUnchangedAsync(mesh, before, "after a dry run");
    }

    [Fact]
    public async Task A_region_killed_during_an_apply_runs_the_new_version_once_it_is_started_again()
    {
        await using var mesh = TestMesh.InNewFolder("apply-away");
        await mesh.UpAsync(["eu", "hq", "us"], partitions: 1, Topic);
        var hub = await WriteAsync(mesh, "hub.yaml", """
            name: hub
            version: 2
            pattern: hub-spoke
            hub: hq
            regions:
              eu: {}
              hq: {}
              us: {}
            """);

        // us is not the coordinator (eu sorts first): the apply goes on without it.
        var apply = MeshProcesses.MeshAsync(CliTimeout, "topology", "apply", hub, "--allow-unreachable", "--json", "--dir", mesh.Dir);
        var killed = await mesh.Local.KillAsync("us", silo: true, kafka: false);
        var result = await apply;
        Assert.True(result.ExitCode == 0, $"killed {string.Join(", ", killed)}\n{result}");
        using (var json = JsonDocument.Parse(result.Stdout))
        {
            // Which way us went depends on when the kill landed: unreachable from the start (it adopts from a peer), or applied first.
            var us = json.RootElement.GetProperty("regions").EnumerateArray().Single(r => r.GetProperty("region").GetString() == "us");
            output.WriteLine($"us in the apply: {us.GetProperty("outcome").GetString()} ({us.GetProperty("error").GetString()})");
            // A region the apply could not read has no version to print (not 0).
            if (us.GetProperty("outcome").GetString() == "unreachable" && us.GetProperty("error").GetString()?.Contains("read again") != true)
                Assert.Equal(JsonValueKind.Null, us.GetProperty("versionAfter").ValueKind);
        }
        var during = await GetAsync(mesh, expectExitCode: null);
        Assert.All(during.Where(r => r.Region != "us"), r => Assert.Equal(2, r.Version));
        // The local mesh keeps the applied document, so later commands (audit, failover) read the routes it runs.
        Assert.Equal(Path.Combine(mesh.Local.Paths.Root, "topology-v2.yaml"), mesh.Local.RunningTopologyFile);
        Assert.Contains("hub: hq", await File.ReadAllTextAsync(mesh.Local.RunningTopologyFile));
        if (during.Single(r => r.Region == "us") is { Reachable: false } away) Assert.Null(away.Version);

        await mesh.Local.StartAsync("us");
        var after = await Eventually.WaitAsync("us to run version 2 after its restart",
            () => GetAsync(mesh, expectExitCode: null),
            regions => regions.All(r => r.Reachable && r.Version == 2),
            TimeSpan.FromMinutes(3),
            regions => string.Join("; ", regions));
        Assert.Single(after.Select(r => r.DocumentSha256).Distinct());
        Assert.All(after, r => Assert.Equal("hub", r.Name));
        output.WriteLine($"after the restart: {string.Join("; ", after)}; us adopted it from {after.Single(r => r.Region == "us").AdoptedFrom ?? "(nobody: it had it)"}");
    }

    [Fact]
    public async Task Records_produced_while_a_link_is_paused_arrive_once_after_it_resumes()
    {
        var mesh = await eastWest.GetAsync();

        var noLink = await MeshProcesses.MeshAsync(CliTimeout, "link", "pause", "nowhere", "west", "--dir", mesh.Dir);
        Assert.True(noLink.ExitCode == 2, noLink.ToString());
        var self = await MeshProcesses.MeshAsync(CliTimeout, "link", "pause", "west", "west", "--dir", mesh.Dir);
        Assert.True(self.ExitCode == 2, self.ToString());

        var pause = await MeshProcesses.MeshAsync(CliTimeout, "link", "pause", "east", "west", "--json", "--dir", mesh.Dir);
        Assert.True(pause.ExitCode == 0, pause.ToString());
        using (var json = JsonDocument.Parse(pause.Stdout))
            Assert.True(json.RootElement.GetProperty("paused").GetBoolean());
        await Eventually.WaitAsync("east -> west to show as paused",
            async () => (await mesh.StatusAsync("west")).InboundLinks.Single(l => l.Source == "east").Topics.SingleOrDefault(t => t.Topic == Topic)?.State.ToString(),
            state => state == "Paused", TimeSpan.FromMinutes(1), state => state ?? "(no topic)");
        Assert.Contains(await GetAsync(mesh), r => r.Region == "west" && r.Paused.Any(p => p.StartsWith("east", StringComparison.Ordinal)));

        var status = await MeshProcesses.MeshAsync(CliTimeout, "status", "--json", "--dir", mesh.Dir);
        Assert.True(status.ExitCode == 0, "a paused link is not an error\n" + status);
        Assert.Contains("\"paused\"", status.Stdout);

        // While paused: east's records stay in east. west -> east still flows, and once west's records
        // are in east, east's would have had every chance to reach west.
        const int records = 300;
        await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("east"), "east", Topic, records, keys: 10);
        await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("west"), "west", Topic, records, keys: 10);
        await Eventually.WaitAsync("west's records to reach east while east -> west is paused",
            () => Task.FromResult(mesh.RecordCount("east", Topic)), n => n >= 2 * records, TimeSpan.FromMinutes(2), n => $"{n} records in east");
        Assert.Equal(records, mesh.RecordCount("west", Topic));

        var resume = await MeshProcesses.MeshAsync(CliTimeout, "link", "resume", "east", "west", "--dir", mesh.Dir);
        Assert.True(resume.ExitCode == 0, resume.ToString());
        var check = await mesh.WaitAndCheckAsync(Topic, new Dictionary<string, int> { ["east"] = records, ["west"] = records }, TimeSpan.FromMinutes(2));
        Assert.True(check.Ok, string.Join("\n", check.Problems));
        Assert.All(check.RecordsPerRegion.Values, n => Assert.Equal(2 * records, n));
    }

    [Fact]
    public async Task A_region_new_in_the_applied_version_is_started_and_joins_the_mesh()
    {
        await using var mesh = TestMesh.InNewFolder("apply-grow");
        await mesh.UpAsync(["east", "west"], partitions: 1, Topic);
        var grown = await WriteAsync(mesh, "grown.yaml", """
            name: grown
            version: 2
            pattern: mesh
            regions:
              east: {}
              south: {}
              west: {}
            """);

        var apply = await MeshProcesses.MeshAsync(CliTimeout, "topology", "apply", grown, "--json", "--dir", mesh.Dir);
        Assert.True(apply.ExitCode == 0, apply.ToString());
        Assert.Equal(["east", "south", "west"], mesh.Local.State.Regions.Select(r => r.Id).Order());
        Assert.Contains(mesh.Local.State.Links, l => l.From == "south" && l.To == "east");
        var now = await GetAsync(mesh);
        Assert.All(now, r => Assert.True(r.Version == 2 && r.Name == "grown", string.Join("; ", now)));

        var produced = new Dictionary<string, int> { ["east"] = 100, ["south"] = 100, ["west"] = 100 };
        await Task.WhenAll(produced.Select(p => Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap(p.Key), p.Key, Topic, p.Value, keys: 10))));
        var check = await mesh.WaitAndCheckAsync(Topic, produced, TimeSpan.FromMinutes(3));
        Assert.True(check.Ok, string.Join("\n", check.Problems));
    }

    /// <summary>
    /// east and west at version 1, for the two tests that apply nothing: the bad-input test changes no region by
    /// definition, and the pause test resumes what it paused and is the only one to write records.
    /// </summary>
    public sealed class EastWest : SharedMesh
    {
        protected override string Name => "apply-ew";

        protected override Task StartAsync(TestMesh mesh) => mesh.UpAsync(["east", "west"], partitions: 2, Topic);
    }

    private static async Task<string> WriteAsync(TestMesh mesh, string name, string yaml)
    {
        var path = Path.Combine(mesh.Dir, name);
        await File.WriteAllTextAsync(path, yaml);
        return path;
    }

    private static async Task AssertUnchangedAsync(TestMesh mesh, IReadOnlyList<RegionTopology> before, string when)
    {
        var now = await GetAsync(mesh);
        Assert.True(before.Select(r => (r.Region, r.Version, r.DocumentSha256)).SequenceEqual(now.Select(r => (r.Region, r.Version, r.DocumentSha256))),
            $"{when}, the regions changed: before {string.Join("; ", before)}, now {string.Join("; ", now)}");
    }

    /// <summary><c>mesh topology get --json</c>; by default every region must answer.</summary>
    private static async Task<IReadOnlyList<RegionTopology>> GetAsync(TestMesh mesh, int? expectExitCode = 0)
    {
        var result = await MeshProcesses.MeshAsync(CliTimeout, "topology", "get", "--json", "--dir", mesh.Dir);
        if (expectExitCode is int code) Assert.True(result.ExitCode == code, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        return
        [
            .. json.RootElement.GetProperty("regions").EnumerateArray().Select(r => new RegionTopology(
                r.GetProperty("region").GetString()!,
                r.GetProperty("reachable").GetBoolean(),
                r.GetProperty("version").ValueKind == JsonValueKind.Number ? r.GetProperty("version").GetInt64() : null,
                r.GetProperty("name").GetString(),
                r.GetProperty("documentSha256").GetString(),
                Strings(r.GetProperty("links")),
                Strings(r.GetProperty("paused")),
                r.GetProperty("adoptedFrom").GetString())),
        ];
    }

    private static List<string> Strings(JsonElement array) =>
        array.ValueKind == JsonValueKind.Array ? [.. array.EnumerateArray().Select(e => e.GetString()!)] : [];
}
