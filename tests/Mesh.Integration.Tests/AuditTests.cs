using System.Text.Json;
using Confluent.Kafka;
using Mesh.Client.Local;
using Mesh.Client.Traffic;
using Mesh.Core.Replication;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// <c>mesh audit</c> over a real two-region mesh: it agrees after replication, and it finds what was
/// planted behind the mesh's back while the silos were stopped (a record in one region only, a
/// replicated record written twice, a key of a last-writer-wins topic ending differently).
/// </summary>
public sealed class AuditTests
{
    private static readonly string[] Regions = ["us-east", "eu-west"];
    private const string Topic = "orders";
    private static readonly TimeSpan ReplicationTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan AuditTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task A_healthy_mesh_agrees()
    {
        await using var mesh = await ReplicatedMeshAsync("audit-ok");

        var audit = await AuditAsync(mesh);
        Assert.True(audit.ExitCode == 0, audit.ToString());
        Assert.Contains("orders (append, 2 partitions): eu-west 400 records, us-east 400 records: regions agree", audit.Stdout);
        Assert.Contains("regions agree: 1 topic, 2 partitions compared across 2 regions", audit.Stdout);

        var json = await AuditAsync(mesh, "--json", "--topic", Topic);
        Assert.True(json.ExitCode == 0, json.ToString());
        using var document = JsonDocument.Parse(json.Stdout);
        Assert.True(document.RootElement.GetProperty("agree").GetBoolean());
        var partitions = document.RootElement.GetProperty("topics").EnumerateArray().Single().GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(400, partitions.Sum(p => p.GetProperty("regions").GetProperty("eu-west").GetProperty("records").GetInt64()));
        Assert.All(partitions, p => Assert.Empty(p.GetProperty("problems").EnumerateArray()));

        var unknown = await AuditAsync(mesh, "--topic", "nope");
        Assert.True(unknown.ExitCode == 2, unknown.ToString());
        Assert.Contains("no region holds 'nope'", unknown.Stderr);
    }

    [Fact]
    public async Task A_record_produced_into_one_region_only_is_missing_in_the_other()
    {
        await using var mesh = await ReplicatedMeshAsync("audit-missing");
        await StopSilosAsync(mesh);
        var east = mesh.Local.Bootstrap("us-east");
        var offset = EndOffset(east, Topic, 1);
        await Kcat.ProduceAsync(east, Topic, 1, ["planted:only-in-us-east"]);

        var audit = await AuditAsync(mesh);
        Assert.True(audit.ExitCode == 5, audit.ToString());
        Assert.Contains($"  eu-west partition 1: 1 record of us-east missing (origin offset {offset})", audit.Stdout);
        Assert.Contains("regions disagree: 1 problem in 1 partition of 1 topic", audit.Stdout);

        var json = await AuditAsync(mesh, "--json");
        Assert.True(json.ExitCode == 5, json.ToString());
        using var document = JsonDocument.Parse(json.Stdout);
        Assert.False(document.RootElement.GetProperty("agree").GetBoolean());
        var problem = document.RootElement.GetProperty("topics")[0].GetProperty("partitions")[1].GetProperty("problems").EnumerateArray().Single();
        Assert.Equal("missing", problem.GetProperty("kind").GetString());
        Assert.Equal("eu-west", problem.GetProperty("region").GetString());
        Assert.Equal("us-east", problem.GetProperty("origin").GetString());
        Assert.Equal([offset], problem.GetProperty("originOffsets").EnumerateArray().Select(o => o.GetInt64()));

        await mesh.Local.KillAsync("eu-west", silo: false, kafka: true);
        var unreachable = await AuditAsync(mesh);
        Assert.True(unreachable.ExitCode == 3, unreachable.ToString());
        Assert.Contains("the Kafka of eu-west is not running", unreachable.Stderr);
    }

    [Fact]
    public async Task A_replicated_record_written_again_is_a_duplicate()
    {
        await using var mesh = await ReplicatedMeshAsync("audit-dup");
        await StopSilosAsync(mesh);
        var west = mesh.Local.Bootstrap("eu-west");
        // A record eu-west got from us-east, written into eu-west again exactly as it is (headers and timestamp too).
        var original = TestTraffic.ReadAll(west, Topic, TimeSpan.FromSeconds(60)).First(r => r.Partition == 0 && r.Provenance?.OriginRegion == "us-east");
        var copy = await ProduceCopyAsync(west, original);

        var audit = await AuditAsync(mesh);
        Assert.True(audit.ExitCode == 5, audit.ToString());
        Assert.Contains($"  eu-west partition 0: 1 record of us-east duplicated (origin offset {original.Provenance!.OriginOffset} at offsets {original.Offset} and {copy})",
            audit.Stdout);
    }

    [Fact]
    public async Task A_key_of_a_last_writer_wins_topic_ending_differently_is_named()
    {
        const string profiles = "profiles";
        await using var mesh = TestMesh.InNewFolder("audit-lww");
        var file = Path.Combine(mesh.Dir, "lww.yaml");
        await File.WriteAllTextAsync(file, """
            name: lww
            version: 1
            pattern: mesh
            regions:
              us-east: {}
              eu-west: {}
            topics:
              conflict:
                profiles: lww
            """);
        await mesh.UpAsync(LocalTopologyPlan.FromFile(file), partitions: 2, profiles);
        await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("us-east"), "us-east", profiles, 100, keys: 10);
        var check = await mesh.WaitAndCheckAsync(profiles, new Dictionary<string, int> { ["us-east"] = 100 }, ReplicationTimeout);
        Assert.True(check.Ok, string.Join("\n", check.Problems));

        var agreed = await AuditAsync(mesh);
        Assert.True(agreed.ExitCode == 0, agreed.ToString());
        Assert.Contains("profiles (lww, 2 partitions)", agreed.Stdout);

        // Deployed regions named by their Kafka alone: the conflict policy comes from the topology the regions keep.
        var bootstrap = string.Join(",", Regions.Select(r => $"{r}={mesh.Local.Bootstrap(r)}"));
        var deployed = await MeshProcesses.MeshAsync(AuditTimeout, ["audit", "--bootstrap", bootstrap]);
        Assert.True(deployed.ExitCode == 0, deployed.ToString());
        Assert.Contains("profiles (lww, 2 partitions)", deployed.Stdout);
        Assert.Contains("routes and conflict policies from topology version 1, read from", deployed.Stderr);

        await StopSilosAsync(mesh);
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = mesh.Local.Bootstrap("eu-west") }).Build())
            await producer.ProduceAsync(profiles, new Message<string, string> { Key = "us-east-key-3", Value = "changed-in-eu-west" });

        var audit = await AuditAsync(mesh);
        Assert.True(audit.ExitCode == 5, audit.ToString());
        foreach (var expected in new[] { "1 key differs between regions", "key \"us-east-key-3\": eu-west \"changed-in-eu-west\"", "us-east \"us-east:93\"" })
            Assert.True(audit.Stdout.Contains(expected, StringComparison.Ordinal), $"'{expected}' not in:\n{audit}");
    }

    /// <summary>Two regions, 200 records produced into each at once, replicated and checked exactly.</summary>
    private static async Task<TestMesh> ReplicatedMeshAsync(string name)
    {
        var mesh = TestMesh.InNewFolder(name);
        try
        {
            await mesh.UpAsync(Regions, partitions: 2, Topic);
            await Task.WhenAll(Regions.Select(r => Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap(r), r, Topic, 200, keys: 20))));
            var check = await mesh.WaitAndCheckAsync(Topic, Regions.ToDictionary(r => r, _ => 200), ReplicationTimeout);
            Assert.True(check.Ok, string.Join("\n", check.Problems));
            return mesh;
        }
        catch
        {
            await mesh.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops every silo, so that what is planted next stays where it is put.</summary>
    private static async Task StopSilosAsync(TestMesh mesh)
    {
        foreach (var region in Regions) await mesh.Local.KillAsync(region, silo: true, kafka: false);
        Assert.All(Regions, r => Assert.False(mesh.Local.IsSiloRunning(r), $"{r}'s silo still runs"));
    }

    private static Task<MeshProcesses.Result> AuditAsync(TestMesh mesh, params string[] args) =>
        MeshProcesses.MeshAsync(AuditTimeout, ["audit", "--dir", mesh.Dir, .. args]);

    private static long EndOffset(string bootstrap, string topic, int partition)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "mesh-test-audit" }).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition), TimeSpan.FromSeconds(10)).High.Value;
    }

    /// <summary>Writes <paramref name="record"/> into its partition again, key, value, headers and timestamp unchanged; returns where it landed.</summary>
    private static async Task<long> ProduceCopyAsync(string bootstrap, LoggedRecord record)
    {
        var headers = new Headers();
        foreach (var header in record.Headers) headers.Add(header.Name, header.Value);
        Assert.Contains(record.Headers, h => h.Name == ProvenanceCodec.HeaderName);
        using var producer = new ProducerBuilder<string?, string?>(new ProducerConfig { BootstrapServers = bootstrap }).Build();
        var delivered = await producer.ProduceAsync(new TopicPartition(Topic, record.Partition), new Message<string?, string?>
        {
            Key = record.Key,
            Value = record.Value,
            Headers = headers,
            Timestamp = new Timestamp(record.TimestampMs, TimestampType.CreateTime),
        });
        return delivered.Offset.Value;
    }
}
