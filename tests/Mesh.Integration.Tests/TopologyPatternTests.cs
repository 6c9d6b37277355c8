using Mesh.Client.Local;
using Mesh.Client.Traffic;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// The topology model drives real regions: links and the forwarding table come from the pattern,
/// records travel along routes (through the hub), and each reaches each region it should once.
/// </summary>
public sealed class TopologyPatternTests
{
    private const string Topic = "orders";

    [Fact]
    public async Task Hub_and_spoke_carries_spoke_records_through_the_hub_to_the_other_spokes_exactly_once()
    {
        string[] regions = ["hq", "east", "west"];
        await using var mesh = TestMesh.InNewFolder("hub");
        var up = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(3),
            "local", "up", "--regions", string.Join(",", regions), "--pattern", "hub-spoke", "--hub", "hq", "--partitions", "3", "--topics", Topic, "--dir", mesh.Dir);
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Contains("link hq -> east carries records from hq, west", up.Stdout);
        Assert.Contains("link east -> hq carries records from east", up.Stdout);
        Assert.DoesNotContain("link east -> west", up.Stdout);

        var produced = regions.ToDictionary(r => r, _ => 1000);
        await Task.WhenAll(regions.Select(r => Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap(r), r, Topic, 1000, keys: 50))));
        var check = await mesh.WaitAndCheckAsync(Topic, produced, TimeSpan.FromMinutes(2));
        Assert.True(check.Ok, string.Join("\n", check.Problems));

        // east's records reached west by way of the hub: their hops say so.
        var west = TestTraffic.ReadAll(mesh.Local.Bootstrap("west"), Topic, TimeSpan.FromSeconds(30));
        var fromEast = west.Where(r => r.Provenance?.OriginRegion == "east").ToList();
        Assert.Equal(1000, fromEast.Count);
        Assert.All(fromEast, r => Assert.Equal(["east", "hq", "west"], r.Provenance!.Hops.ToArray()));
        Assert.All(check.RecordsPerRegion.Values, n => Assert.Equal(3000, n));
    }

    [Fact]
    public async Task Active_passive_replicates_the_primary_to_the_standby_and_never_back()
    {
        await using var mesh = TestMesh.InNewFolder("ap");
        await mesh.UpAsync(LocalTopologyPlan.FromPattern(["dc1", "dc2"], "active-passive", hub: null, primary: "dc1"), partitions: 2, Topic);
        Assert.Equal(["dc1 -> dc2"], mesh.Local.State.Links.Select(l => $"{l.From} -> {l.To}"));

        var produced = new Dictionary<string, int> { ["dc1"] = 1500, ["dc2"] = 100 };
        await Task.WhenAll(produced.Select(p => Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap(p.Key), p.Key, Topic, p.Value, keys: 20))));
        var check = await mesh.WaitAndCheckAsync(Topic, produced, TimeSpan.FromMinutes(2), reaches: (region, origin) => origin == "dc1");
        Assert.True(check.Ok, string.Join("\n", check.Problems));
        Assert.Equal(1500, check.RecordsPerRegion["dc1"]);
        Assert.Equal(1600, check.RecordsPerRegion["dc2"]);
    }

    [Fact]
    public async Task A_topology_file_selects_topics_with_include_and_exclude_expressions()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, """
            name: selective
            version: 1
            naming: identity
            pattern: active-active
            regions:
              left: {}
              right: {}
            topics:
              include: [ "orders.*" ]
              exclude: [ ".*-dlq" ]
            """);
        await using var mesh = TestMesh.InNewFolder("select");
        try
        {
            var up = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(3),
                "local", "up", "--topology", file, "--partitions", "2", "--topics", "orders,orders-dlq,audit", "--dir", mesh.Dir);
            Assert.True(up.ExitCode == 0, up.ToString());
        }
        finally
        {
            File.Delete(file);
        }

        foreach (var topic in new[] { "orders", "orders-dlq", "audit" })
            await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("left"), "left", topic, 100, keys: 10);
        var check = await mesh.WaitAndCheckAsync("orders", new Dictionary<string, int> { ["left"] = 100 }, TimeSpan.FromMinutes(1));
        Assert.True(check.Ok, string.Join("\n", check.Problems));

        // Discovery has seen every topic (orders replicated), yet the excluded and the unselected stay home.
        var link = (await mesh.StatusAsync("right")).InboundLinks.Single();
        Assert.Equal(["orders"], link.Topics.Select(t => t.Topic));
        Assert.Equal(0, mesh.RecordCount("right", "orders-dlq"));
        Assert.Equal(0, mesh.RecordCount("right", "audit"));
    }

    [Fact]
    public async Task An_invalid_topology_file_is_refused_before_anything_starts()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "name: t\nversion: 1\npattern: hub-spoke\nhub: nowhere\nregions:\n  a: {}\n  b: {}\n");
        try
        {
            var dir = Path.Combine(Path.GetTempPath(), "mesh-tests", "badtopo-" + Guid.NewGuid().ToString("N")[..8]);
            var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "local", "up", "--topology", file, "--dir", dir);
            Assert.Equal(2, result.ExitCode);
            Assert.Contains("hub", result.Stderr);
            Assert.Contains("nowhere", result.Stderr);
            Assert.False(Directory.Exists(dir), "nothing should have been started");
        }
        finally
        {
            File.Delete(file);
        }
    }
}
