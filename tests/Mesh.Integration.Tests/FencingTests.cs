using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Mesh.Client.Local;
using Mesh.Client.Traffic;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// A forced double activation of real silos: next to eu-west's silo, a second eu-west silo configured as a
/// separate Orleans cluster (its own cluster id and ports; the same Kafka, topology file and mesh key), so two
/// silos each run every us-east -> eu-west replicator at once while both regions produce. The later claims
/// fence the earlier activations; nothing is lost and nothing is written twice.
/// </summary>
[Collection(Alone.Name)] // a second cluster of silos, 800 records a second from each region
public sealed class FencingTests
{
    private static readonly string[] Regions = ["us-east", "eu-west"];
    private const string Topic = "orders";
    private const int Partitions = 4;

    [Fact]
    public async Task A_second_cluster_of_a_region_running_the_same_replicators_fences_the_first_and_writes_each_record_once()
    {
        await using var mesh = TestMesh.InNewFolder("fence");
        // Short, so a take-over from an activation that did not let go waits F + W + margin = 8 s, not 19 s.
        mesh.WithShortTakeOver(Regions);
        await mesh.UpAsync(Regions, Partitions, Topic);

        const int perRegion = 12000;
        var producers = mesh.StreamIntoAsync(Regions, Topic, perRegion, recordsPerSecond: 800);
        await Eventually.WaitAsync("us-east -> eu-west to replicate a part of the stream",
            () => mesh.ReplicatedAsync("us-east", "eu-west", Topic), n => n > 500, TimeSpan.FromMinutes(1));

        var rogue = StartSecondCluster(mesh, "eu-west");
        try
        {
            await Eventually.WaitAsync("the second cluster to claim every us-east -> eu-west replicator",
                () => Task.FromResult(PartitionsIn(rogue.Log, @"us-east->eu-west\|orders\|(\d+): claimed as epoch")),
                p => p.Count == Partitions, TimeSpan.FromMinutes(1), p => $"claimed: [{string.Join(",", p.Order())}]; second cluster's log:\n{Tail(rogue.Log)}");
            await producers;
            // Records after the claims, so every first-cluster activation has a write to attempt (an idle one
            // writes nothing, so nothing fences it) while the second cluster waits out its grace and after.
            const int afterClaims = 1000;
            await Task.WhenAll(Regions.Select(r => Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap(r), r, Topic, afterClaims, keys: 64, firstSequence: perRegion))));
            var produced = Regions.ToDictionary(r => r, _ => perRegion + afterClaims);

            var original = mesh.Local.Paths.SiloLog("eu-west", 1);
            var fenced = await Eventually.WaitAsync("every us-east -> eu-west replicator of the first cluster to be fenced",
                () => Task.FromResult(PartitionsIn(original, @"us-east->eu-west\|orders\|(\d+): fenced by epoch \d+ from ")),
                p => p.Count == Partitions, TimeSpan.FromMinutes(1), p => $"fenced: [{string.Join(",", p.Order())}]; second cluster's log:\n{Tail(rogue.Log)}");
            Assert.Equal(Partitions, fenced.Count);

            var check = await mesh.WaitAndCheckAsync(Topic, produced, TimeSpan.FromMinutes(2));
            Assert.True(check.Ok, string.Join("\n", check.Problems) + $"\nsecond cluster's log:\n{Tail(rogue.Log)}");
            Assert.All(check.RecordsPerRegion.Values, n => Assert.Equal(2 * (perRegion + afterClaims), n));

            // The second cluster claimed after the first, whose claims were never released: it waited for their
            // writes to settle, then read the destination back and went on from there.
            var taken = PartitionsIn(rogue.Log, @"us-east->eu-west\|orders\|(\d+): claimed as epoch \d+; the previous claim \(epoch \d+\) was not released");
            Assert.Equal(Partitions, taken.Count);
            Assert.Equal(Partitions, PartitionsIn(rogue.Log, @"us-east->eu-west\|orders\|(\d+): resuming at source offset").Count);
        }
        finally
        {
            await LocalProcesses.StopAsync(rogue.Pid, LocalMeshPaths.SiloBinary, TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>
    /// Starts a silo of <paramref name="region"/> from a copy of its first silo's configuration, as an Orleans
    /// cluster of its own: a cluster id and ports of its own, everything else (Kafka, topology, key) the same.
    /// </summary>
    private static (int Pid, string Log) StartSecondCluster(TestMesh mesh, string region)
    {
        var paths = mesh.Local.Paths;
        var config = JsonNode.Parse(File.ReadAllText(paths.SiloConfig(region, 1)))!;
        var orleans = config["Mesh"]!["Orleans"]!;
        orleans["ClusterId"] = $"mesh-{region}-second";
        orleans["SiloPort"] = FreePort();
        orleans["GatewayPort"] = FreePort();
        orleans["PrimarySiloPort"] = null;
        // Its own metrics port too: the first silo listens on the copied one.
        config["Mesh"]!["Metrics"]!["Port"] = FreePort();
        var file = Path.Combine(paths.RegionDir(region), "second-cluster.json");
        File.WriteAllText(file, config.ToJsonString());
        var log = Path.Combine(paths.RegionDir(region), "second-cluster.log");
        var pid = LocalProcesses.StartDetached(LocalMeshPaths.Binary(LocalMeshPaths.SiloBinary), ["--config", file], log,
            Path.Combine(paths.RegionDir(region), "second-cluster.pid"),
            new Dictionary<string, string> { [LocalMesh.MeshKeyVariable] = mesh.Local.EnsureMeshKey(), [TestMesh.ShortTakeOverVariable] = TestMesh.ShortTakeOverWriteTimeoutMs });
        return (pid, log);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static HashSet<int> PartitionsIn(string log, string pattern) =>
        [.. Regex.Matches(Read(log), pattern).Select(m => int.Parse(m.Groups[1].Value))];

    private static string Read(string log)
    {
        if (!File.Exists(log)) return "";
        using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }

    private static string Tail(string log) => string.Join("\n", Read(log).Split('\n').TakeLast(30));
}
