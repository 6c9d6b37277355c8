using System.Diagnostics;
using System.Text.Json.Nodes;
using Mesh.Client.Traffic;
using Mesh.Grains;
using Mesh.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Mesh.Integration.Tests;

/// <summary>
/// Topologies applied to a running mesh while every region produces: routes move between links,
/// and every region still ends with every record exactly once, in each origin's order. Only the
/// partitions whose links or forwarding rows changed are restarted.
/// </summary>
public sealed class RouteChangeTests(ITestOutputHelper output)
{
    private const string Topic = "orders";
    private static readonly string[] Regions = ["r1", "r2", "r3", "r4"];

    private static string Document(long version, string pattern, IEnumerable<string> regions, string? hub = null) =>
        $"name: live\nversion: {version}\nnaming: identity\npattern: {pattern}\n" + (hub is null ? "" : $"hub: {hub}\n") +
        "regions:\n" + string.Concat(regions.Select(r => $"  {r}: {{}}\n"));

    [Fact]
    public async Task Full_mesh_to_hub_and_spoke_and_back_under_load_keeps_every_record_exactly_once_and_restarts_only_what_changed()
    {
        await using var mesh = TestMesh.InNewFolder("route");
        await UpAsync(mesh, Document(1, "mesh", Regions));

        // One stream at 80 records/s from before the first apply until after the second: each change lands while records
        // come, however long the apply before it took on a busy machine.
        using var stop = new CancellationTokenSource();
        var stream = StreamUntilStoppedAsync(mesh, stop.Token);
        try
        {
            await WaitForFlowAsync(mesh);

            // Links into the hub carry the same origins in both topologies: they must never restart.
            var untouched = await AssignedAtAsync(mesh, "r1");
            Assert.Equal(6, untouched.Count);

            var applied = Stopwatch.StartNew();
            Assert.False(stream.IsCompleted, "production ended before the apply of version 2: the change would not be under load");
            var toHub = await ApplyAsync(mesh, Document(2, "hub-spoke", Regions, hub: "r1"));
            var firstOnNewRoute = await FirstViaHubAsync(mesh, applied);
            output.WriteLine($"full mesh -> hub-spoke: apply took {toHub.Elapsed.TotalSeconds:0.0} s, first r2 record through r1 into r3 after {firstOnNewRoute.TotalSeconds:0.0} s, " +
                             $"partitions restarted {toHub.Restarted}");
            Assert.Equal(untouched, await AssignedAtAsync(mesh, "r1"));
            // Each spoke now pulls only from the hub, which carries every other origin to it.
            var r3 = await mesh.StatusAsync("r3");
            Assert.Equal(2, r3.TopologyVersion);
            Assert.Equal(["r1"], r3.InboundLinks.Select(l => l.Source));
            // Spoke to spoke links stopped (3 spokes x 2 links x 2 partitions) and hub to spoke links gained origins (3 x 2).
            Assert.Equal(12 + 6, toHub.Restarted);

            await Task.Delay(TimeSpan.FromSeconds(4)); // records flow on the hub's routes before they change back
            Assert.False(stream.IsCompleted, "production ended before the apply of version 3: the change would not be under load");
            var back = await ApplyAsync(mesh, Document(3, "mesh", Regions));
            output.WriteLine($"hub-spoke -> full mesh: apply took {back.Elapsed.TotalSeconds:0.0} s, partitions restarted {back.Restarted}");
            Assert.Equal(untouched, await AssignedAtAsync(mesh, "r1"));
            // Hub to spoke links lost origins (3 x 2); spoke to spoke links are new, not restarts.
            Assert.Equal(6, back.Restarted);

            await Task.Delay(TimeSpan.FromSeconds(4)); // records flow on the full mesh's routes again before production stops
            await stop.CancelAsync();
            var produced = await stream;
            output.WriteLine($"produced per region: {string.Join(", ", produced.Select(p => $"{p.Key}={p.Value}"))}");
            var check = await mesh.WaitAndCheckAsync(Topic, produced, TimeSpan.FromMinutes(3));
            Assert.True(check.Ok, string.Join("\n", check.Problems));
            Assert.All(check.RecordsPerRegion.Values, n => Assert.Equal(produced.Values.Sum(), n));
            File.WriteAllText(Path.Combine(mesh.Dir, "..", "route-change-figures.txt"),
                $"apply to first record on the new route: {firstOnNewRoute.TotalSeconds:0.0} s; partitions restarted: {toHub.Restarted} then {back.Restarted}\n");
        }
        finally
        {
            stop.Cancel(); // a test that failed midway stops its stream too
        }
    }

    [Fact]
    public async Task A_region_added_to_a_running_mesh_receives_the_whole_history_and_a_removed_one_stops_receiving()
    {
        await using var mesh = TestMesh.InNewFolder("grow");
        string[] first = ["r1", "r2", "r3"];
        await UpAsync(mesh, Document(1, "mesh", first));
        await Task.WhenAll(first.Select(r => Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap(r), r, Topic, 300, keys: 20))));
        var before = await mesh.WaitAndCheckAsync(Topic, first.ToDictionary(r => r, _ => 300), TimeSpan.FromMinutes(2));
        Assert.True(before.Ok, string.Join("\n", before.Problems));
        var r1Links = await AssignedAtAsync(mesh, "r1");

        await ApplyAsync(mesh, Document(2, "mesh", Regions));
        Assert.Equal(r1Links, (await AssignedAtAsync(mesh, "r1")).Where(e => !e.Key.StartsWith("r4->", StringComparison.Ordinal)).ToDictionary());
        await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("r4"), "r4", Topic, 300, keys: 20);
        var grown = Regions.ToDictionary(r => r, _ => 300);
        var withR4 = await mesh.WaitAndCheckAsync(Topic, grown, TimeSpan.FromMinutes(2));
        Assert.True(withR4.Ok, string.Join("\n", withR4.Problems));

        // r2 leaves: it keeps what it has and receives nothing more; the others go on among themselves.
        string[] rest = ["r1", "r3", "r4"];
        var r3Links = (await AssignedAtAsync(mesh, "r3")).Where(e => !e.Key.StartsWith("r2->", StringComparison.Ordinal)).ToDictionary();
        await ApplyAsync(mesh, Document(3, "mesh", rest));
        Assert.Equal(r3Links, await AssignedAtAsync(mesh, "r3"));
        var r2Before = mesh.RecordCount("r2", Topic);
        await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("r1"), "r1-late", Topic, 200, keys: 20);
        await Eventually.WaitAsync("r3 and r4 to receive r1's late records",
            () => Task.FromResult(rest.Sum(r => mesh.RecordCount(r, Topic))),
            total => total >= 3 * (1200 + 200), TimeSpan.FromMinutes(2), total => $"{total} records in r1, r3, r4");
        await Task.Delay(TimeSpan.FromSeconds(5)); // what would have reached r2 by now has had time to
        Assert.Equal(r2Before, mesh.RecordCount("r2", Topic));
        Assert.Empty((await mesh.StatusAsync("r2")).InboundLinks);
    }

    private static string WriteTemp(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mesh-topology-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    private sealed record Applied(TimeSpan Elapsed, int Restarted);

    private static async Task UpAsync(TestMesh mesh, string document)
    {
        var file = WriteTemp(document);
        try
        {
            var up = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(4), "local", "up", "--topology", file, "--partitions", "2", "--topics", Topic, "--dir", mesh.Dir);
            Assert.True(up.ExitCode == 0, up.ToString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<Applied> ApplyAsync(TestMesh mesh, string document)
    {
        var file = WriteTemp(document);
        try
        {
            var started = Stopwatch.StartNew();
            var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(4), "topology", "apply", file, "--dir", mesh.Dir, "--json");
            Assert.True(result.ExitCode == 0, result.ToString());
            var json = JsonNode.Parse(result.Stdout)!;
            var regions = json["regions"]!.AsArray();
            Assert.All(regions, r => Assert.Equal("applied", r!["outcome"]!.GetValue<string>(), StringComparer.OrdinalIgnoreCase));
            return new Applied(started.Elapsed, regions.Sum(r => r!["partitionsRestarted"]!.GetValue<int>()));
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>When each partition replicator into <paramref name="region"/> began its current assignment, by key.</summary>
    private static async Task<Dictionary<string, DateTimeOffset?>> AssignedAtAsync(TestMesh mesh, string region) =>
        (await mesh.StatusAsync(region)).InboundLinks
            .SelectMany(l => l.Topics.SelectMany(t => t.PartitionDetail.Select(p => (Key: GrainKeys.Partition(l.Source, region, t.Topic, p.Partition), p.AssignedAt))))
            .ToDictionary(e => e.Key, e => e.AssignedAt);

    /// <summary>
    /// Produces into every region at 80 records/s, a second's worth at a time, until <paramref name="stop"/> (the second under
    /// way is finished): how many records each region got.
    /// </summary>
    private static async Task<Dictionary<string, int>> StreamUntilStoppedAsync(TestMesh mesh, CancellationToken stop)
    {
        const int perSecond = 80;
        var sent = await Task.WhenAll(Regions.Select(region => Task.Run(async () =>
        {
            var bootstrap = mesh.Local.Bootstrap(region);
            var count = 0;
            while (!stop.IsCancellationRequested)
            {
                await TestTraffic.ProduceAsync(bootstrap, region, Topic, perSecond, keys: 64, firstSequence: count, recordsPerSecond: perSecond);
                count += perSecond;
            }
            return (Region: region, Count: count);
        })));
        return sent.ToDictionary(s => s.Region, s => s.Count);
    }

    private static Task WaitForFlowAsync(TestMesh mesh) =>
        Eventually.WaitAsync("records to flow on every link",
            async () => await Task.WhenAll(Regions.Select(mesh.StatusAsync)),
            statuses => statuses.All(s => s.InboundLinks.Count == 3 && s.InboundLinks.All(l => l.Topics.Any(t => t.RecordsReplicated > 0))),
            TimeSpan.FromMinutes(2),
            statuses => string.Join("; ", statuses.Select(s => $"{s.Region}: {string.Join(",", s.InboundLinks.Select(l => $"{l.Source}={l.Topics.Sum(t => t.RecordsReplicated)}"))}")));

    /// <summary>Time from the start of the apply until r3 holds an r2 record that came through the hub r1.</summary>
    private static async Task<TimeSpan> FirstViaHubAsync(TestMesh mesh, Stopwatch sinceApply)
    {
        await Eventually.WaitAsync("an r2 record to reach r3 through r1",
            () => Task.FromResult(TestTraffic.ReadAll(mesh.Local.Bootstrap("r3"), Topic, TimeSpan.FromSeconds(30))
                .Any(r => r.Provenance is { OriginRegion: "r2" } p && p.Hops.SequenceEqual(["r2", "r1", "r3"]))),
            found => found, TimeSpan.FromMinutes(2), _ => "none yet");
        return sinceApply.Elapsed;
    }
}
