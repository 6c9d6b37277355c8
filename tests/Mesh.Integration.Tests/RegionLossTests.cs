using System.Text.Json;
using Mesh.Client.Traffic;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// A whole region (Kafka and silo) killed under load: the survivors go on replicating to each other,
/// and the region, started again with an empty Kafka (a new incarnation), is rebuilt from them with
/// its full history, its own earlier records included, each once; its new records reach the others.
/// </summary>
public sealed class RegionLossTests
{
    private static readonly string[] Regions = ["r1", "r2", "r3"];
    private const string Topic = "orders";
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_killed_region_is_rebuilt_with_its_whole_history_from_the_survivor_that_holds_most_of_it()
    {
        await using var mesh = TestMesh.InNewFolder("loss").WithShortTakeOver(Regions); // the survivors' silos restart with r1's new Kafka address
        await mesh.UpAsync(Regions, partitions: 2, Topic);
        await Task.WhenAll(Regions.Select(r => Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap(r), r, Topic, 300, keys: 20))));
        var first = await mesh.WaitAndCheckAsync(Topic, Regions.ToDictionary(r => r, _ => 300), Deadline);
        Assert.True(first.Ok, string.Join("\n", first.Problems));

        // r2 falls behind on r1's records (its link from r1 paused), r3 does not: at the kill, r3 holds
        // r1's last 200 records and r2 does not. The rebuild must take r1's past from r3, although r2
        // sorts first, and r2 must get those records too, from the rebuilt r1.
        await MeshAsync("link", "pause", "r1", "r2", "--dir", mesh.Dir);
        await Task.WhenAll(
            Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap("r1"), "r1", Topic, 200, keys: 20, firstSequence: 300)),
            Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap("r2"), "r2", Topic, 100, keys: 20, firstSequence: 300)),
            Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap("r3"), "r3", Topic, 100, keys: 20, firstSequence: 300)));
        await Eventually.WaitAsync("r3 to hold r1's 500 records and r2 r3's 400", () => Task.FromResult((R3: Count(mesh, "r3", "r1"), R2: Count(mesh, "r2", "r3"))),
            c => c.R3 == 500 && c.R2 == 400, Deadline, c => $"r3 holds {c.R3} of r1, r2 holds {c.R2} of r3");
        Assert.Equal(300, Count(mesh, "r2", "r1"));

        var killed = await mesh.Local.KillAsync("r1", silo: true, kafka: true);
        Assert.Equal(2, killed.Count);
        await MeshAsync("link", "resume", "r1", "r2", "--dir", mesh.Dir);

        // The survivors keep replicating to each other while r1 is gone.
        await Task.WhenAll(
            Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap("r2"), "r2", Topic, 100, keys: 20, firstSequence: 400)),
            Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap("r3"), "r3", Topic, 100, keys: 20, firstSequence: 400)));
        await Eventually.WaitAsync("r2 and r3 to hold each other's 500 records", () => Task.FromResult((R2: Count(mesh, "r2", "r3"), R3: Count(mesh, "r3", "r2"))),
            c => c.R2 == 500 && c.R3 == 500, Deadline, c => $"r2 holds {c.R2} of r3, r3 holds {c.R3} of r2");

        var started = await mesh.Local.StartAsync("r1");
        Assert.Contains("kafka", started);
        var rebuilt = await mesh.WaitAndCheckAsync(Topic, Regions.ToDictionary(r => r, _ => 500), Deadline);
        Assert.True(rebuilt.Ok, "after the rebuild:\n" + string.Join("\n", rebuilt.Problems));

        // r1's earlier records came back from r3, which held all of them.
        var log = await File.ReadAllTextAsync(mesh.Local.Paths.SiloLog("r1", 1));
        Assert.Contains("r1|orders|0: r3 writes back the region's earlier records", log);
        Assert.Contains("r1|orders|1: r3 writes back the region's earlier records", log);
        var status = await MeshAsync("status", "--json", "--dir", mesh.Dir);
        using (var json = JsonDocument.Parse(status.Stdout))
        {
            var r1 = json.RootElement.GetProperty("regions").EnumerateArray().Single(r => r.GetProperty("region").GetString() == "r1");
            var rebuilds = r1.GetProperty("links").EnumerateArray().Select(l => l.GetProperty("topics")[0].GetProperty("rebuild")).ToList();
            Assert.All(rebuilds, r => Assert.Equal(JsonValueKind.Object, r.ValueKind));
            await Eventually.WaitAsync("r1's rebuild to be reported done", async () => await MeshAsync("status", "--json", "--dir", mesh.Dir),
                s => s.Stdout.Contains("\"done\": true") && !s.Stdout.Contains("\"done\": false"), Deadline, s => s.Stdout);
        }

        // New records of r1 (its new incarnation) reach the others, once.
        await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("r1"), "r1", Topic, 100, keys: 20, firstSequence: 500);
        var after = await mesh.WaitAndCheckAsync(Topic, new Dictionary<string, int> { ["r1"] = 600, ["r2"] = 500, ["r3"] = 500 }, Deadline);
        Assert.True(after.Ok, "after r1's new records:\n" + string.Join("\n", after.Problems));

        var audit = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(2), "audit", "--dir", mesh.Dir);
        Assert.True(audit.ExitCode == 0, audit.ToString());
    }

    [Fact]
    public async Task A_rebuild_asked_for_a_healthy_region_or_an_unknown_one_changes_nothing()
    {
        await using var mesh = TestMesh.InNewFolder("rebuild-cli");
        await mesh.UpAsync(["r1", "r2"], partitions: 1, Topic);
        var healthy = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "region", "rebuild", "r1", "--dir", mesh.Dir);
        Assert.True(healthy.ExitCode == 2, healthy.ToString());
        Assert.Contains("stopped for lost records; nothing was changed", healthy.Stderr);
        var unknown = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "region", "rebuild", "r9", "--dir", mesh.Dir);
        Assert.True(unknown.ExitCode == 2, unknown.ToString());
        Assert.Contains("r9 is not a region of", unknown.Stderr);

        await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("r2"), "r2", Topic, 50, keys: 5);
        var check = await mesh.WaitAndCheckAsync(Topic, new Dictionary<string, int> { ["r2"] = 50 }, Deadline);
        Assert.True(check.Ok, string.Join("\n", check.Problems));
        // Forced, it re-reads everything and writes nothing twice.
        var forced = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "region", "rebuild", "r1", "--force", "--json", "--dir", mesh.Dir);
        Assert.True(forced.ExitCode == 0, forced.ToString());
        using (var json = JsonDocument.Parse(forced.Stdout))
            Assert.Equal(1, json.RootElement.GetProperty("partitionsRebuilding").GetInt32());
        await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("r2"), "r2", Topic, 50, keys: 5, firstSequence: 50);
        var again = await mesh.WaitAndCheckAsync(Topic, new Dictionary<string, int> { ["r2"] = 100 }, Deadline);
        Assert.True(again.Ok, string.Join("\n", again.Problems));

        await mesh.Local.KillAsync("r2", silo: true, kafka: false);
        var down = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "region", "rebuild", "r1", "--dir", mesh.Dir);
        Assert.True(down.ExitCode == 3, down.ToString());
        Assert.Contains("r2 cannot be reached", down.Stderr);
    }

    private static int Count(TestMesh mesh, string region, string origin) =>
        TestTraffic.ReadAll(mesh.Local.Bootstrap(region), Topic, TimeSpan.FromSeconds(60)).Count(r => r.Value?.StartsWith(origin + ":", StringComparison.Ordinal) == true);

    private static async Task<MeshProcesses.Result> MeshAsync(params string[] args)
    {
        var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(2), args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }
}
