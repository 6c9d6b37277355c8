using System.Text.Json;
using Mesh.Client.Traffic;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// Three regions in a full mesh, brought up and inspected through the real <c>mesh</c> command
/// line; producers write into every region at once; afterwards every region holds every record
/// exactly once, in per-origin order, with application headers intact, and the counts stay put.
/// </summary>
public sealed class ThreeRegionFullMeshTests
{
    private static readonly string[] Regions = ["us-east", "eu-west", "ap-south"];
    private const string Topic = "orders";
    private const int PerRegion = 3000;

    [Fact]
    public async Task Every_region_holds_every_record_exactly_once_and_nothing_loops()
    {
        await using var mesh = TestMesh.InNewFolder("three");
        var up = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(3),
            "local", "up", "--regions", string.Join(",", Regions), "--partitions", "6", "--topics", Topic, "--dir", mesh.Dir);
        Assert.True(up.ExitCode == 0, $"mesh local up failed: {up}");
        foreach (var region in Regions)
        {
            var bootstrap = File.ReadAllText(Path.Combine(mesh.Dir, region, "bootstrap")).Trim();
            Assert.Contains(bootstrap, up.Stdout);
        }

        // Producers in every region at once.
        var produced = Regions.ToDictionary(r => r, _ => PerRegion);
        await Task.WhenAll(Regions.Select(r => Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap(r), r, Topic, PerRegion, keys: 100))));
        var sinceProduced = System.Diagnostics.Stopwatch.StartNew();

        var check = await mesh.WaitAndCheckAsync(Topic, produced, TimeSpan.FromMinutes(2));
        Assert.True(check.Ok, "replicas differ:\n" + string.Join("\n", check.Problems));
        Assert.All(check.RecordsPerRegion.Values, n => Assert.Equal(PerRegion * Regions.Length, n));

        // Quiescence: every link reports no lag, and each destination was sent exactly what the others produced.
        var statusJson = await Eventually.WaitAsync("every link to report zero lag",
            async () => await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "status", "--json", "--dir", mesh.Dir),
            r => r.ExitCode == 0 && AllLagZero(r.Stdout), TimeSpan.FromMinutes(1), r => r.ToString());
        using var status = JsonDocument.Parse(statusJson.Stdout);
        // Latency percentiles cover the records written in the last 30-60 s: a status read sooner than that after the writes has them.
        var percentilesDue = sinceProduced.Elapsed < TimeSpan.FromSeconds(25);
        foreach (var region in status.RootElement.GetProperty("regions").EnumerateArray())
        {
            Assert.Equal("up", region.GetProperty("kafka").GetString());
            Assert.Equal("up", region.GetProperty("silo").GetString());
            var links = region.GetProperty("links").EnumerateArray().ToList();
            Assert.Equal(Regions.Length - 1, links.Count);
            foreach (var link in links)
            {
                var topic = Assert.Single(link.GetProperty("topics").EnumerateArray());
                Assert.Equal("replicating", topic.GetProperty("state").GetString());
                Assert.Equal(PerRegion, topic.GetProperty("recordsReplicated").GetInt64());
                Assert.Equal(JsonValueKind.Null, topic.GetProperty("error").ValueKind);
                Assert.True(topic.GetProperty("latestLatencyMs").GetDouble() >= 0);
                if (topic.GetProperty("latencyP50Ms").ValueKind == JsonValueKind.Null)
                {
                    Assert.False(percentilesDue, $"no latency percentiles {sinceProduced.Elapsed.TotalSeconds:0} s after the writes: {topic}");
                    continue;
                }
                var (p50, p99) = (topic.GetProperty("latencyP50Ms").GetDouble(), topic.GetProperty("latencyP99Ms").GetDouble());
                Assert.True(p50 >= 0 && p50 <= p99 && p99 < 120_000, $"latency p50 {p50} ms, p99 {p99} ms: {topic}");
            }
        }

        // No loop: with every link drained, the counts do not move.
        foreach (var region in Regions)
            Assert.Equal(PerRegion * Regions.Length, mesh.RecordCount(region, Topic));

        var down = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "local", "down", "--dir", mesh.Dir);
        Assert.True(down.ExitCode == 0, down.ToString());
        foreach (var region in Regions)
        {
            Assert.False(mesh.Local.IsSiloRunning(region), $"{region} silo still running after down");
            Assert.False(mesh.Local.IsKafkaRunning(region), $"{region} kafka still running after down");
        }
    }

    private static bool AllLagZero(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("regions").EnumerateArray().All(r =>
            r.GetProperty("links").EnumerateArray().All(l =>
                l.GetProperty("topics").EnumerateArray().All(t =>
                    t.GetProperty("lagRecords").ValueKind == JsonValueKind.Number && t.GetProperty("lagRecords").GetInt64() == 0)));
    }
}
