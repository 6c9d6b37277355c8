using System.Text.RegularExpressions;
using Mesh.Client.Traffic;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// A destination silo SIGKILLed while records flow, then restarted: it resumes from its checkpoint,
/// re-reads what it wrote after that checkpoint, and the destination ends with every record once.
/// </summary>
[Collection(Alone.Name)] // 4000 records a second from each region
public sealed class SiloCrashTests
{
    private static readonly string[] Regions = ["us-east", "eu-west"];
    private const string Topic = "orders";
    private const string CheckpointIntervalVariable = "MESH_Mesh__Replication__CheckpointIntervalMs";

    [Fact]
    public async Task A_silo_killed_mid_stream_and_restarted_loses_and_duplicates_nothing()
    {
        // eu-west's silo is killed below: an 8 s take-over wait, not 19 s.
        await using var mesh = TestMesh.InNewFolder("crash").WithShortTakeOver(Regions);
        // A long checkpoint interval makes it near certain that records were written after the last
        // checkpoint when the kill lands, so the recovery path (read back the destination) is exercised.
        // Only the first start has it (the restarted silo runs the default), as the silos' environment,
        // never the test process's, which tests running alongside would inherit.
        foreach (var region in Regions) mesh.Local.SiloEnvironment[region][CheckpointIntervalVariable] = "4000";
        await mesh.UpAsync(Regions, partitions: 4, Topic);
        foreach (var region in Regions) mesh.Local.SiloEnvironment[region].Remove(CheckpointIntervalVariable);

        const int perRegion = 20000;
        var produced = Regions.ToDictionary(r => r, _ => perRegion);
        var producers = mesh.StreamIntoAsync(Regions, Topic, perRegion, recordsPerSecond: 4000);

        // Kill eu-west's silo once it is visibly part-way through us-east's records.
        await Eventually.WaitAsync("us-east -> eu-west to replicate a part of the stream",
            () => mesh.ReplicatedAsync("us-east", "eu-west", Topic), n => n > 3000, TimeSpan.FromMinutes(1));
        var killed = await mesh.Local.KillAsync("eu-west", silo: true, kafka: false);
        Assert.Single(killed);
        var atKill = mesh.RecordCount("eu-west", Topic);
        Assert.False(mesh.Local.IsSiloRunning("eu-west"));

        var started = await mesh.Local.StartAsync("eu-west");
        Assert.Equal(["silo"], started);
        await producers;

        var check = await mesh.WaitAndCheckAsync(Topic, produced, TimeSpan.FromMinutes(2));
        Assert.True(check.Ok, $"after the kill (eu-west held {atKill} records then):\n" + string.Join("\n", check.Problems));
        Assert.All(check.RecordsPerRegion.Values, n => Assert.Equal(2 * perRegion, n));

        // The restarted silo found records written after its last checkpoint and skipped them.
        var log = await File.ReadAllTextAsync(mesh.Local.Paths.SiloLog("eu-west", 1));
        var recoveries = Regex.Matches(log, @"us-east->eu-west\|orders\|\d+: resuming at source offset (-?\d+), origin vector \[[^\]]*\], checkpointed destination end (\d+), destination end (\d+)")
            .Select(m => (checkpointEnd: long.Parse(m.Groups[2].Value), end: long.Parse(m.Groups[3].Value)))
            .ToList();
        Assert.True(recoveries.Count >= 8, $"expected a start and a restart per partition in the log, found {recoveries.Count}");
        Assert.Contains(recoveries, r => r.end > r.checkpointEnd);
    }
}

/// <summary>
/// A region's embedded Kafka SIGKILLed and started again comes back empty: a new cluster, so a new
/// incarnation. Its peers keep exactly what they had, the emptied region is refilled from them, and
/// the records it takes after its return (whose offsets start at 0 again) reach its peers, each
/// once: a new incarnation's offsets never collide with the old one's.
/// </summary>
public sealed class KafkaCrashTests
{
    private static readonly string[] Regions = ["us-east", "eu-west"];
    private const string Topic = "orders";

    [Fact]
    public async Task A_region_whose_kafka_restarts_empty_is_refilled_and_its_new_records_replicate_as_a_new_incarnation()
    {
        await using var mesh = TestMesh.InNewFolder("kafka");
        await mesh.UpAsync(Regions, partitions: 2, Topic);
        var produced = Regions.ToDictionary(r => r, _ => 500);
        await Task.WhenAll(Regions.Select(r => Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap(r), r, Topic, 500, keys: 10))));
        var before = await mesh.WaitAndCheckAsync(Topic, produced, TimeSpan.FromMinutes(1));
        Assert.True(before.Ok, string.Join("\n", before.Problems));

        var killed = await mesh.Local.KillAsync("eu-west", silo: false, kafka: true);
        Assert.Single(killed);
        var started = await mesh.Local.StartAsync("eu-west");
        Assert.Contains("kafka", started);

        // eu-west lost its records with its Kafka: us-east's come back to it, and so do its own, which
        // us-east holds as replicas; each once.
        var refill = await mesh.WaitAndCheckAsync(Topic, produced, TimeSpan.FromMinutes(3));
        Assert.True(refill.Ok, string.Join("\n", refill.Problems));
        Assert.Equal(1000, refill.RecordsPerRegion["eu-west"]);

        // Records taken after the return start again at offset 0 in eu-west (a new incarnation), and still reach us-east, once.
        await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("eu-west"), "eu-west", Topic, 300, keys: 10, firstSequence: 500);
        var after = await mesh.WaitAndCheckAsync(Topic, new Dictionary<string, int> { ["us-east"] = 500, ["eu-west"] = 800 }, TimeSpan.FromMinutes(1));
        Assert.True(after.Ok, string.Join("\n", after.Problems));
        Assert.Equal(1300, mesh.RecordCount("eu-west", Topic));

        var link = (await mesh.StatusAsync("us-east")).InboundLinks.Single().Topics.Single(t => t.Topic == Topic);
        Assert.Equal(Mesh.Grains.ReplicationState.Replicating, link.State);
        var log = await File.ReadAllTextAsync(mesh.Local.Paths.SiloLog("us-east", 1));
        Assert.Contains("came back as a new incarnation", log);
        var status = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "status", "--dir", mesh.Dir);
        Assert.Equal(0, status.ExitCode);
    }
}
