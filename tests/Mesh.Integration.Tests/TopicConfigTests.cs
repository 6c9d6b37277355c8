using System.Net.Http.Json;
using System.Text.Json;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// Topic configs across regions, on the embedded Kafka. librdkafka's mock cluster has no
/// CreateTopics, DescribeConfigs or (Incremental)AlterConfigs, so topic configs live in the region
/// host's control surface (created with, altered, read back), which the silos use for embedded
/// regions instead of those admin calls; everything else (the link creating the target, the drift
/// check, `mesh status --json`) runs as it would against Kafka.
/// </summary>
public sealed class TopicConfigTests
{
    private static readonly string[] Regions = ["us-east", "eu-west"];
    private const string Topic = "profiles";

    [Fact]
    public async Task A_linked_topic_takes_the_source_configs_and_a_later_change_shows_as_drift_in_mesh_status()
    {
        await using var mesh = TestMesh.InNewFolder("configs");
        foreach (var region in Regions)
            mesh.Local.SiloEnvironment[region] = new()
            {
                ["MESH_Mesh__Replication__TopicConfigCheckIntervalMs"] = "1000",
                // The region hosts run three brokers: the internal topics get three replicas and, by default, min.insync.replicas=2.
                ["MESH_Mesh__Replication__InternalTopics__ReplicationFactor"] = "3",
            };
        await mesh.UpAsync(Regions, partitions: 2, "orders");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string Control(string region) => File.ReadAllText(Path.Combine(mesh.Dir, region, "kafka", "control")).Trim().TrimEnd('/');

        // The internal topics were created as configured and passed the silos' own check (replication runs).
        foreach (var region in Regions)
        foreach (var internalTopic in new[] { "__mesh_checkpoints", "__mesh_topology", "__mesh_quarantine" })
        {
            var configs = await RegionHostTopics.ConfigsAsync(http, Control(region), region, internalTopic);
            Assert.True(configs.GetValueOrDefault("min.insync.replicas") == "2", $"{region}: {internalTopic} configs are {Show(configs)}, expected min.insync.replicas=2");
        }

        // A topic created in us-east only, before any link knows it, with configs of its own.
        using (var created = await http.PutAsync($"{Control("us-east")}/topics/{Topic}?partitions=2&config.cleanup.policy=compact&config.retention.ms=123456&config.min.insync.replicas=3", null))
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var copied = await RegionHostTopics.ConfigsAsync(http, Control("eu-west"), "eu-west", Topic);
        Assert.Equal("cleanup.policy=compact, retention.ms=123456", Show(copied));

        // What the mock itself answers for DescribeConfigs: nothing (the reason the control surface exists).
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = mesh.Local.Bootstrap("eu-west") }).Build())
        {
            var described = await Record.ExceptionAsync(() => admin.DescribeConfigsAsync(
                [new ConfigResource { Type = ResourceType.Topic, Name = Topic }], new DescribeConfigsOptions { RequestTimeout = TimeSpan.FromSeconds(5) }));
            Assert.NotNull(described);
        }

        // An operator changes the source's retention.
        using (var altered = await http.PatchAsync($"{Control("us-east")}/topics/{Topic}/configs?config.retention.ms=999", null))
            Assert.True(altered.IsSuccessStatusCode, await altered.Content.ReadAsStringAsync());
        var drift = await Eventually.WaitAsync($"mesh status --json to show the drift of '{Topic}' on us-east -> eu-west",
            async () => DriftOf(await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "status", "--json", "--dir", mesh.Dir)),
            d => d.Contains("retention.ms"), TimeSpan.FromMinutes(1), d => d);
        Assert.Equal("retention.ms: us-east=999 eu-west=123456", drift);

        var table = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "status", "--dir", mesh.Dir);
        Assert.Contains("config drift", table.Stdout);
        Assert.Contains("us-east: 999", table.Stdout);
        Assert.Contains("eu-west: 123456", table.Stdout);
    }

    [Fact]
    public async Task A_silo_does_not_replicate_on_a_topology_topic_that_is_not_compacted_and_names_the_fix()
    {
        await using var mesh = TestMesh.InNewFolder("topologytopic").WithShortTakeOver("eu-west"); // its silo is killed and restarted below
        await mesh.UpAsync(Regions, partitions: 1, "orders");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var control = File.ReadAllText(Path.Combine(mesh.Dir, "eu-west", "kafka", "control")).Trim().TrimEnd('/');
        var log = mesh.Local.Paths.SiloLog("eu-west", 1);

        using (var altered = await http.PatchAsync($"{control}/topics/__mesh_topology/configs?config.cleanup.policy=delete", null))
            Assert.True(altered.IsSuccessStatusCode, await altered.Content.ReadAsStringAsync());
        await mesh.Local.KillAsync("eu-west", silo: true, kafka: false);
        await mesh.Local.StartAsync("eu-west");
        var refused = await Eventually.WaitAsync("eu-west's silo to refuse the topology topic",
            () => Task.FromResult(File.ReadAllText(log)), text => text.Contains("Replication is not starting"), TimeSpan.FromMinutes(1), Tail);
        Assert.Contains("topic __mesh_topology has cleanup.policy=delete; it must be cleanup.policy=compact", refused);
        Assert.Contains($"kafka-configs.sh --bootstrap-server {mesh.Local.Bootstrap("eu-west")} --alter --entity-type topics --entity-name __mesh_topology --add-config cleanup.policy=compact", refused);

        // Fixed while the silo waits: it goes on by itself.
        using (var fixedUp = await http.PatchAsync($"{control}/topics/__mesh_topology/configs?config.cleanup.policy=compact", null))
            Assert.True(fixedUp.IsSuccessStatusCode, await fixedUp.Content.ReadAsStringAsync());
        await Eventually.WaitAsync("eu-west's silo to start replicating once the topic is compacted",
            () => Task.FromResult(File.ReadAllText(log)), text => text.Contains("internal topics are as they must be now"), TimeSpan.FromMinutes(1), Tail);
        await mesh.Local.WaitUntilReplicatingAsync(mesh.Local.State, TimeSpan.FromMinutes(1));
    }

    private static string Tail(string text) => string.Join('\n', text.Split('\n').TakeLast(15));

    private static string Show(IReadOnlyDictionary<string, string> configs) =>
        string.Join(", ", configs.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}"));

    /// <summary>The configDrift of the topic on us-east -> eu-west in `mesh status --json`, as "key: region=value ..." lines.</summary>
    private static string DriftOf(MeshProcesses.Result status)
    {
        using var json = JsonDocument.Parse(status.Stdout);
        var link = json.RootElement.GetProperty("regions").EnumerateArray().Single(r => r.GetProperty("region").GetString() == "eu-west")
            .GetProperty("links").EnumerateArray().Single(l => l.GetProperty("source").GetString() == "us-east");
        var topic = link.GetProperty("topics").EnumerateArray().SingleOrDefault(t => t.GetProperty("topic").GetString() == Topic);
        if (topic.ValueKind == JsonValueKind.Undefined) return $"no '{Topic}' on the link yet";
        return string.Join("; ", topic.GetProperty("configDrift").EnumerateArray().Select(d =>
            $"{d.GetProperty("key").GetString()}: {string.Join(" ", d.GetProperty("values").EnumerateObject().Select(v => $"{v.Name}={v.Value.GetString()}"))}"));
    }
}
