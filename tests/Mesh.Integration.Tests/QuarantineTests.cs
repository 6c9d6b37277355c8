using System.Text.Json;
using Confluent.Kafka;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// Records a region cannot take go to its quarantine with the reason, replication goes on, status
/// counts them, and the operator lists and re-sends them with the real <c>mesh</c> command line once
/// the cause is fixed. A topic whose policy is <c>stop</c> stops at such a record instead.
/// </summary>
public sealed class QuarantineTests
{
    private static readonly string[] Regions = ["r1", "r2"];
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Bad_records_are_quarantined_counted_listed_and_replayed_after_a_fix()
    {
        await using var mesh = TestMesh.InNewFolder("quarantine");
        var r2 = new Dictionary<string, string>
        {
            ["MESH_Mesh__Provenance__Untrusted"] = "strict",
            // r2 takes smaller records than r1 does: the oversize case.
            ["MESH_Mesh__Kafka__Settings__message.max.bytes"] = "20000",
            ["MESH_Mesh__TopicPolicies__0__Topics"] = "payments",
            ["MESH_Mesh__TopicPolicies__0__OnBadRecord"] = "stop",
        };
        mesh.Local.SiloEnvironment["r2"] = r2;
        mesh.WithShortTakeOver("r2"); // r2's silo is killed and restarted below
        await mesh.UpAsync(Regions, partitions: 2, "orders", "payments");
        var b1 = mesh.Local.Bootstrap("r1");

        await Kcat.ProduceAsync(b1, "orders", 0, ["before:1"]);
        ProduceOne(b1, "orders", 0, "big", new string('x', 50_000));
        await Kcat.ProduceAsync(b1, "orders", 0, ["after-big:1"]);
        await Kcat.ProduceAsync(b1, "orders", 1, ["bad:1"], "mesh.provenance=garbage");
        await Kcat.ProduceAsync(b1, "orders", 1, ["after-bad:1"]);
        await Kcat.ProduceAsync(b1, "payments", 0, ["pay-bad:1"], "mesh.provenance=garbage");
        await Kcat.ProduceAsync(b1, "payments", 0, ["pay-after:1"]);

        // Replication went on past both bad records of 'orders'; 'payments' stopped at its bad one.
        await Eventually.WaitAsync("r2 to hold before, after-big and after-bad", () => KeysAsync(mesh, "r2", "orders"),
            keys => keys.Count == 3, Wait, keys => string.Join(",", keys));
        Assert.Equal(["after-bad", "after-big", "before"], (await KeysAsync(mesh, "r2", "orders")).Order(StringComparer.Ordinal));
        var status = await Eventually.WaitAsync("status to show 2 quarantined and payments stopped",
            () => MeshProcesses.MeshAsync(Wait, "status", "--json", "--dir", mesh.Dir),
            r => Topic(r.Stdout, "r2", "orders").GetProperty("recordsQuarantined").GetInt64() == 2
                 && Topic(r.Stdout, "r2", "payments").GetProperty("state").GetString() == "stopped", Wait, r => r.Stdout);
        Assert.Equal(4, status.ExitCode);
        Assert.Contains("policy 'stop'", Topic(status.Stdout, "r2", "payments").GetProperty("error").GetString());
        Assert.Empty(await KeysAsync(mesh, "r2", "payments"));
        Assert.Equal(2, Link(status.Stdout, "r2").GetProperty("recordsQuarantined").GetInt64());

        var list = await MeshProcesses.MeshAsync(Wait, "quarantine", "list", "--region", "r2", "--json", "--dir", mesh.Dir);
        Assert.True(list.ExitCode == 0, list.ToString());
        var records = Records(list.Stdout);
        Assert.Equal(2, records.Count);
        var big = records.Single(r => r.GetProperty("kind").GetString() == "refused-by-destination");
        var bad = records.Single(r => r.GetProperty("kind").GetString() == "untrusted-provenance");
        Assert.Equal(("r1", "orders", 0, 1L), (big.GetProperty("source").GetString(), big.GetProperty("topic").GetString(), big.GetProperty("partition").GetInt32(), big.GetProperty("sourceOffset").GetInt64()));
        Assert.Contains("MsgSizeTooLarge", big.GetProperty("reason").GetString());
        Assert.Equal(("orders", 1, 0L), (bad.GetProperty("topic").GetString(), bad.GetProperty("partition").GetInt32(), bad.GetProperty("sourceOffset").GetInt64()));
        Assert.Contains("malformed", bad.GetProperty("reason").GetString());

        // The malformed one replays as r1's own record; the big one is still too large for r2.
        var replayBad = await MeshProcesses.MeshAsync(Wait, "quarantine", "replay", "--region", "r2", "--offset", Offset(bad), "--dir", mesh.Dir);
        Assert.True(replayBad.ExitCode == 0, replayBad.ToString());
        var replayBig = await MeshProcesses.MeshAsync(Wait, "quarantine", "replay", "--region", "r2", "--offset", Offset(big), "--dir", mesh.Dir);
        Assert.True(replayBig.ExitCode == 1, replayBig.ToString());
        Assert.Contains("MsgSizeTooLarge", replayBig.Stdout + replayBig.Stderr);

        // The fix: r2 takes larger records. Restart its silo with that, and replay what is left.
        r2.Remove("MESH_Mesh__Kafka__Settings__message.max.bytes");
        await mesh.Local.KillAsync("r2", silo: true, kafka: false);
        await mesh.Local.StartAsync("r2");
        var replayAll = await MeshProcesses.MeshAsync(Wait, "quarantine", "replay", "--region", "r2", "--all", "--json", "--dir", mesh.Dir);
        Assert.True(replayAll.ExitCode == 0, replayAll.ToString());
        using (var outcomes = JsonDocument.Parse(replayAll.Stdout))
            Assert.Equal([long.Parse(Offset(big))], outcomes.RootElement.GetProperty("outcomes").EnumerateArray().Select(o => o.GetProperty("quarantineOffset").GetInt64()));

        var orders = await Kcat.ReadAllAsync(mesh.Local.Bootstrap("r2"), "orders");
        Assert.Equal(["after-bad", "after-big", "bad", "before", "big"], orders.Select(l => l.Split('|')[1]).Order(StringComparer.Ordinal));
        var replayedBad = orders.Single(l => l.Split('|')[1] == "bad");
        Assert.Contains("mesh.provenance=2|r1|", replayedBad);
        Assert.Contains("mesh.provenance.untrusted=garbage", replayedBad);

        // Nothing is left to replay, and nothing replays twice.
        Assert.Empty(Records((await MeshProcesses.MeshAsync(Wait, "quarantine", "list", "--region", "r2", "--json", "--dir", mesh.Dir)).Stdout));
        var all = Records((await MeshProcesses.MeshAsync(Wait, "quarantine", "list", "--region", "r2", "--all", "--json", "--dir", mesh.Dir)).Stdout);
        Assert.All(all, r => Assert.NotEqual(JsonValueKind.Null, r.GetProperty("replayedAt").ValueKind));
        var again = await MeshProcesses.MeshAsync(Wait, "quarantine", "replay", "--region", "r2", "--offset", Offset(bad), "--dir", mesh.Dir);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("already replayed", again.Stdout + again.Stderr);
        Assert.Equal(5, mesh.RecordCount("r2", "orders"));

        // The counts survive the restart (they live in the checkpoints); payments is still stopped. The
        // restarted silo's replicators first wait out the killed one's writes (fencing), then restore.
        // Each topic's replicators come back on their own time: payments shows 'starting', then 'replicating' for as long as it
        // takes to read up to its bad record again, then 'stopped'.
        var after = await Eventually.WaitAsync("orders to replicate again after the restart, and payments to stop again",
            () => MeshProcesses.MeshAsync(Wait, "status", "--json", "--dir", mesh.Dir),
            r => Topic(r.Stdout, "r2", "orders").GetProperty("state").GetString() == "replicating"
                 && Topic(r.Stdout, "r2", "payments").GetProperty("state").GetString() == "stopped", Wait, r => r.Stdout);
        Assert.Equal(2, Topic(after.Stdout, "r2", "orders").GetProperty("recordsQuarantined").GetInt64());
        Assert.Equal("stopped", Topic(after.Stdout, "r2", "payments").GetProperty("state").GetString());

        // The mesh key is in no log, no config file and no command output.
        var key = (await File.ReadAllTextAsync(mesh.Local.Paths.MeshKeyFile)).Trim();
        foreach (var file in Directory.EnumerateFiles(mesh.Dir, "*", SearchOption.AllDirectories).Where(f => f != mesh.Local.Paths.MeshKeyFile))
            Assert.DoesNotContain(key, await File.ReadAllTextAsync(file));
        foreach (var output in new[] { status, list, replayBad, replayBig, replayAll, again, after })
            Assert.DoesNotContain(key, output.Stdout + output.Stderr);
    }

    private static void ProduceOne(string bootstrap, string topic, int partition, string key, string value)
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = bootstrap }).Build();
        producer.Produce(new TopicPartition(topic, partition), new Message<string, string> { Key = key, Value = value });
        producer.Flush(TimeSpan.FromSeconds(30));
    }

    private static async Task<List<string>> KeysAsync(TestMesh mesh, string region, string topic) =>
        [.. (await Kcat.ReadAllAsync(mesh.Local.Bootstrap(region), topic)).Select(l => l.Split('|')[1])];

    private static JsonElement Link(string statusJson, string region) =>
        JsonDocument.Parse(statusJson).RootElement.GetProperty("regions").EnumerateArray()
            .Single(r => r.GetProperty("region").GetString() == region).GetProperty("links").EnumerateArray().Single();

    private static JsonElement Topic(string statusJson, string region, string topic) =>
        Link(statusJson, region).GetProperty("topics").EnumerateArray().Single(t => t.GetProperty("topic").GetString() == topic);

    private static List<JsonElement> Records(string listJson) =>
        [.. JsonDocument.Parse(listJson).RootElement.GetProperty("regions").EnumerateArray().Single().GetProperty("records").EnumerateArray()];

    private static string Offset(JsonElement record) => record.GetProperty("quarantineOffset").GetInt64().ToString();
}
