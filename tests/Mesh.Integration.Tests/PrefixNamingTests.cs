using Mesh.Client.Traffic;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// MirrorMaker 2's default naming run by the mesh: an MM2 active-active configuration is imported
/// and run as is; records from each site appear under <c>&lt;source&gt;.&lt;topic&gt;</c> at the
/// other, and nothing comes back (MM2's cycle rule), so no topic like <c>us-east.us-west.orders</c> appears.
/// </summary>
public sealed class PrefixNamingTests
{
    [Fact]
    public async Task An_imported_mm2_active_active_configuration_runs_with_prefixed_remote_topics_and_never_loops()
    {
        var work = Path.Combine(Path.GetTempPath(), "mesh-tests", "mm2-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        var properties = Path.Combine(work, "mm2.properties");
        var topology = Path.Combine(work, "topology.yaml");
        await File.WriteAllTextAsync(properties, """
            clusters = us-west, us-east
            us-west.bootstrap.servers = west-kafka:9092
            us-east.bootstrap.servers = east-kafka:9092
            us-west->us-east.enabled = true
            us-east->us-west.enabled = true
            topics = orders
            """);
        await using var mesh = TestMesh.InNewFolder("prefix");
        try
        {
            var import = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "topology", "import-mm2", properties, "--output", topology);
            Assert.True(import.ExitCode == 0, import.ToString());
            Assert.Contains("naming: prefix", await File.ReadAllTextAsync(topology));

            // The imported file names the MM2 clusters' own brokers; the local runner gives each region an embedded Kafka instead.
            var up = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(4),
                "local", "up", "--topology", topology, "--partitions", "2", "--topics", "orders", "--dir", mesh.Dir);
            Assert.True(up.ExitCode == 0, up.ToString());
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        await Task.WhenAll(
            Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap("us-west"), "us-west", "orders", 500, keys: 20)),
            Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap("us-east"), "us-east", "orders", 400, keys: 20)));

        await Eventually.WaitAsync("each site to hold the other's records under the prefixed name",
            () => Task.FromResult((East: mesh.RecordCount("us-east", "us-west.orders"), West: mesh.RecordCount("us-west", "us-east.orders"))),
            counts => counts.East >= 500 && counts.West >= 400, TimeSpan.FromMinutes(2), counts => counts.ToString());

        var eastCopy = TestTraffic.ReadAll(mesh.Local.Bootstrap("us-east"), "us-west.orders", TimeSpan.FromSeconds(30));
        var westCopy = TestTraffic.ReadAll(mesh.Local.Bootstrap("us-west"), "us-east.orders", TimeSpan.FromSeconds(30));
        var check = ReplicaCheck.Check(new Dictionary<string, List<LoggedRecord>> { ["us-east"] = eastCopy }, new Dictionary<string, int> { ["us-west"] = 500 });
        Assert.True(check.Ok, string.Join("\n", check.Problems));
        check = ReplicaCheck.Check(new Dictionary<string, List<LoggedRecord>> { ["us-west"] = westCopy }, new Dictionary<string, int> { ["us-east"] = 400 });
        Assert.True(check.Ok, string.Join("\n", check.Problems));
        Assert.All(eastCopy, r => Assert.Equal("orders", r.Provenance!.OriginTopic));

        // The local topics keep only local records, and no remote topic is replicated back.
        await Task.Delay(TimeSpan.FromSeconds(6)); // two discovery rounds: a looping topic would have been created by now
        Assert.Equal(500, mesh.RecordCount("us-west", "orders"));
        Assert.Equal(400, mesh.RecordCount("us-east", "orders"));
        foreach (var region in new[] { "us-west", "us-east" })
            Assert.DoesNotContain(ListTopics(mesh, region), t => t.Split('.').Length > 2);
    }

    private static IReadOnlyList<string> ListTopics(TestMesh mesh, string region)
    {
        using var admin = new Confluent.Kafka.AdminClientBuilder(new Confluent.Kafka.AdminClientConfig { BootstrapServers = mesh.Local.Bootstrap(region) }).Build();
        return [.. admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics.Select(t => t.Topic).Where(t => !t.StartsWith("__", StringComparison.Ordinal))];
    }
}
