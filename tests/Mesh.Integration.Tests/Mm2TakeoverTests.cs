using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Mesh.Client.Local;
using Mesh.Core.Migration;
using Mesh.Core.Replication;
using Mesh.Integration.Tests.Infrastructure;
using Mesh.Kafka.Native;
using Mesh.Kafka.Replication;
using Xunit.Abstractions;

namespace Mesh.Integration.Tests;

/// <summary>
/// Taking over from MirrorMaker 2 on real embedded Kafka regions, with the real <c>mesh</c> command line. No JVM runs
/// here, so the test plays MM2's part: it copies the first part of each partition of a 16-partition topic from A into
/// <c>A.orders</c> in B (key, value, timestamp and headers, as MM2's source task does), and writes MM2's position
/// records in MM2's formats: the Connect worker's committed source offsets in <c>mm2-offsets.B.internal</c> (B), the
/// offset syncs in <c>mm2-offset-syncs.B.internal</c> (A) and a group checkpoint in <c>A.checkpoints.internal</c> (B).
/// Then <c>mesh migrate from-mm2</c> seeds Mesh's checkpoints, the silos start, more records are produced in A, and B
/// must hold every record of A exactly once, in order, under MM2's name. It runs with MM2's default separator and
/// with <c>replication.policy.separator = _</c> (<c>A_orders</c>, <c>mm2-offset-syncs_B_internal</c>, <c>A_checkpoints_internal</c>).
/// </summary>
public sealed class Mm2TakeoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Topic = "orders";
    private const int Partitions = 16;
    private const int Before = 50;
    private const int After = 30;
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(2);

    private readonly HandStartedProcesses _processes = new();
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mesh-tests", "mm2-takeover-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly Dictionary<string, string> _bootstrap = [];
    private readonly Dictionary<string, string> _control = [];

    /// <summary>What "MM2" copied of each partition before it stopped: half of most, all of one, none of the last (it never got there).</summary>
    private static int Copied(int partition) => partition switch
    {
        14 => Before,
        15 => 0,
        _ => Before / 2 + partition % 3,
    };

    public async Task InitializeAsync()
    {
        KafkaNative.EnsureLoaded();
        Directory.CreateDirectory(_dir);
        await Task.WhenAll(StartKafkaAsync("A"), StartKafkaAsync("B"));
    }

    /// <param name="separator">MM2's replication.policy.separator: its remote topics are 'A&lt;separator&gt;orders', and its internal topics take it too.</param>
    // One separator here, a custom one: it goes through every place the separator is threaded (remote and internal topic
    // names, the cycle rule, provenance along hops). MM2's default '.' names the same way through the same code, and its
    // naming is covered by PrefixNamingTests and the Core tests; a second run here would cost the suite another minute.
    [Theory]
    [InlineData("_")]
    public async Task Mesh_continues_exactly_after_the_last_record_mm2_copied_under_mm2s_names(string separator)
    {
        var remote = $"A{separator}{Topic}";
        var syncs = $"mm2-offset-syncs{separator}B{separator}internal";
        var checkpoints = $"A{separator}checkpoints{separator}internal";
        await CreateTopicAsync("A", Topic, Partitions);
        await CreateTopicAsync("A", syncs, 1, compact: true);
        await CreateTopicAsync("B", remote, Partitions);
        await CreateTopicAsync("B", "mm2-offsets.B.internal", 5, compact: true);
        await CreateTopicAsync("B", checkpoints, 1, compact: true);
        // An operator creates Mesh's checkpoint topic on the target before the takeover (the embedded Kafka has no CreateTopics).
        await CreateTopicAsync("B", InternalTopics.Checkpoints, 1, compact: true);

        Produce("A", 0, Before);
        PlayMm2(remote, syncs, checkpoints);

        // Apache Kafka's sample configuration, made one-way: clusters A and B, the default replication policy.
        var properties = Path.Combine(_dir, "connect-mirror-maker.properties");
        await File.WriteAllTextAsync(properties, $"""
            # Kafka datacenters.
            clusters = A, B
            A.bootstrap.servers = {_bootstrap["A"]}
            B.bootstrap.servers = {_bootstrap["B"]}

            # Enable and configure individual replication flows
            A->B.enabled = true

            # Regex which defines which topics gets replicated. For eg "foo-.*"
            A->B.topics = .*

            B->A.enabled = false
            B->A.topics = .*

            # Setting replication factor of newly created remote topics
            replication.factor=1

            checkpoints.topic.replication.factor=1
            heartbeats.topic.replication.factor=1
            offset-syncs.topic.replication.factor=1
            offset.storage.replication.factor=1
            status.storage.replication.factor=1
            config.storage.replication.factor=1
            {(separator == "." ? "" : $"replication.policy.separator = {separator}")}
            """.Replace("\r", ""));
        var topology = Path.Combine(_dir, "topology.yaml");
        var import = await MeshProcesses.MeshAsync(CliTimeout, "topology", "import-mm2", properties, "--output", topology);
        Assert.True(import.ExitCode == 0, import.ToString());

        // The dry run: per partition, where Mesh starts and what is left to copy; nothing written.
        var dry = await MeshProcesses.MeshAsync(CliTimeout, "migrate", "from-mm2", properties, "--topology", topology, "--dry-run", "--json");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        var flow = JsonNode.Parse(dry.Stdout)!["flows"]!.AsArray().Single()!;
        Assert.Equal(("A", "B", "mm2-offsets.B.internal", syncs, "A"),
            ((string)flow["source"]!, (string)flow["target"]!, (string)flow["offsetsTopic"]!, (string)flow["offsetSyncsTopic"]!, (string)flow["offsetSyncsCluster"]!));
        var planned = flow["partitions"]!.AsArray().Select(p => p!).ToList();
        Assert.Equal(Partitions, planned.Count);
        for (var p = 0; p < Partitions; p++)
        {
            var row = planned[p];
            Assert.Equal((Topic, p, remote), ((string)row["topic"]!, (int)row["partition"]!, (string)row["remoteTopic"]!));
            Assert.Equal(Copied(p), (long)row["nextSourceOffset"]!);
            Assert.Equal(Before - Copied(p), (long)row["remaining"]!);
            Assert.Equal(Copied(p), (long)row["targetEnd"]!);
            Assert.Equal(p == 15 ? "source-start" : "after-mm2", (string)row["start"]!);
            Assert.Equal(p == 15 ? "none needed" : "would write", (string)row["checkpoint"]!);
        }
        var group = flow["groups"]!.AsArray().Single()!;
        Assert.Equal(("billing", remote, 0, 20L, 20L, "would commit"),
            ((string)group["group"]!, (string)group["remoteTopic"]!, (int)group["partition"]!, (long)group["upstreamOffset"]!, (long)group["downstreamOffset"]!, (string)group["outcome"]!));
        Assert.Equal(0, EndOffset("B", InternalTopics.Checkpoints));

        var text = await MeshProcesses.MeshAsync(CliTimeout, "migrate", "from-mm2", properties, "--topology", topology, "--dry-run");
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains($"A -> B: MM2's positions from mm2-offsets.B.internal in B, offset syncs from {syncs} in A", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("dry run: nothing was written", text.Stdout, StringComparison.Ordinal);
        output.WriteLine("$ mesh migrate from-mm2 connect-mirror-maker.properties --topology topology.yaml --dry-run\n" + text.Stdout);

        // Bad input and disagreement refuse, name what is wrong, and write nothing.
        var otherAliases = Path.Combine(_dir, "other-aliases.properties");
        await File.WriteAllTextAsync(otherAliases, $"""
            clusters = primary, B
            primary.bootstrap.servers = {_bootstrap["A"]}
            B.bootstrap.servers = {_bootstrap["B"]}
            primary->B.enabled = true
            """.Replace("\r", ""));
        var wrongAlias = await MeshProcesses.MeshAsync(CliTimeout, "migrate", "from-mm2", otherAliases);
        Assert.True(wrongAlias.ExitCode == 2, wrongAlias.ToString());
        Assert.Contains("holds positions of cluster 'A', none of 'primary'", wrongAlias.Stderr, StringComparison.Ordinal);
        var missingTopic = Path.Combine(_dir, "missing-offsets.properties");
        await File.WriteAllTextAsync(missingTopic, await File.ReadAllTextAsync(properties) + "\noffset.storage.topic = mm2-offsets.elsewhere.internal\n");
        var missing = await MeshProcesses.MeshAsync(CliTimeout, "migrate", "from-mm2", missingTopic, "--topology", topology);
        Assert.True(missing.ExitCode == 3, missing.ToString());
        Assert.Contains("B has no topic mm2-offsets.elsewhere.internal", missing.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, EndOffset("B", InternalTopics.Checkpoints));

        var migrate = await MeshProcesses.MeshAsync(CliTimeout, "migrate", "from-mm2", properties, "--topology", topology, "--json");
        Assert.True(migrate.ExitCode == 0, migrate.ToString());
        var written = JsonNode.Parse(migrate.Stdout)!["flows"]![0]!["partitions"]!.AsArray().Select(p => (string)p!["checkpoint"]!).ToList();
        Assert.Equal(Partitions - 1, written.Count(w => w == "written"));
        Assert.Equal(Partitions - 1, EndOffset("B", InternalTopics.Checkpoints));
        // The group MM2 checkpointed resumes in B where MM2 translated its position to.
        Assert.Equal("committed", (string)JsonNode.Parse(migrate.Stdout)!["flows"]![0]!["groups"]![0]!["outcome"]!);
        Assert.Equal(20, Committed("B", "billing", remote, 0));

        // Running it again changes nothing.
        var again = await MeshProcesses.MeshAsync(CliTimeout, "migrate", "from-mm2", properties, "--topology", topology, "--json");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(Partitions - 1, JsonNode.Parse(again.Stdout)!["flows"]![0]!["partitions"]!.AsArray().Count(p => (string)p!["checkpoint"]! == "unchanged"));
        Assert.Equal("unchanged", (string)JsonNode.Parse(again.Stdout)!["flows"]![0]!["groups"]![0]!["outcome"]!);
        Assert.Equal(Partitions - 1, EndOffset("B", InternalTopics.Checkpoints));

        // MM2 is stopped; Mesh starts, and A keeps producing.
        StartSilos(topology);
        Produce("A", Before, After);

        const int Total = Before + After;
        await Eventually.WaitAsync($"B's {remote} to hold {Total} records in each of its {Partitions} partitions",
            () => Task.FromResult(Enumerable.Range(0, Partitions).Select(p => EndOffset("B", remote, p)).ToArray()),
            ends => ends.All(e => e >= Total), TimeSpan.FromMinutes(3), ends => string.Join(", ", ends.Select((e, p) => $"{p}:{e}")));

        var sources = Read("A", Topic);
        var targets = Read("B", remote);
        for (var p = 0; p < Partitions; p++)
        {
            var source = sources[p];
            var target = targets[p];
            Assert.Equal(Total, source.Count);
            // Every source record exactly once, in order: MM2's copies first, then Mesh's.
            Assert.Equal(source.Select(r => r.Value), target.Select(r => r.Value));
            Assert.Equal(source.Select(r => r.Key), target.Select(r => r.Key));
            Assert.All(target.Take(Copied(p)), r => Assert.False(r.HasProvenance, $"{remote}/{p}: MM2's copy {r.Value} carries Mesh provenance"));
            Assert.All(target.Skip(Copied(p)), r => Assert.True(r.HasProvenance, $"{remote}/{p}: {r.Value} was not written by Mesh"));
        }
        Assert.Equal(0, EndOffset("B", Topic));
        // Only the one remote topic: MM2's internal topics stay where they are.
        Assert.Equal(0, EndOffset("B", $"A{separator}{syncs}"));

        // Once Mesh has replicated, a takeover is refused: the remote partitions hold more than MM2's positions account for.
        var late = await MeshProcesses.MeshAsync(CliTimeout, "migrate", "from-mm2", properties, "--topology", topology);
        Assert.True(late.ExitCode == 3, late.ToString());
        Assert.Contains($"A orders/0 -> B {remote}/0: B's partition ends at offset 80, past what MM2's position accounts for (25)", late.Stderr, StringComparison.Ordinal);
        Assert.Contains("nothing was written", late.Stdout, StringComparison.Ordinal);
    }

    /// <summary>Writes <paramref name="count"/> records into every partition of A's topic, values <c>A-p-i</c>.</summary>
    private void Produce(string region, int first, int count)
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = _bootstrap[region], Acks = Acks.All, EnableIdempotence = true }).Build();
        for (var p = 0; p < Partitions; p++)
            for (var i = first; i < first + count; i++)
                producer.Produce(new TopicPartition(Topic, p), new Message<string, string> { Key = $"k{i % 7}", Value = $"{region}-{p}-{i}" });
        producer.Flush(TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// What MM2 does before it is stopped: copies records (as its source task does: same partition, key, value,
    /// timestamp, headers), writes an offset sync for the first record of each partition and another every 20, commits
    /// its source positions through the Connect worker (an older commit first: the latest wins), and emits a group checkpoint.
    /// </summary>
    private void PlayMm2(string remote, string syncs, string checkpoints)
    {
        using var target = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _bootstrap["B"], Acks = Acks.All }).Build();
        using var source = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _bootstrap["A"], Acks = Acks.All }).Build();
        // Every partition read at once (a consumer assigned one partition after another waits about half a second for each).
        var read = ReadRaw("A", Topic, Enumerable.Range(0, Partitions).ToDictionary(p => p, p => (long)Copied(p)));
        for (var p = 0; p < Partitions; p++)
        {
            var copied = Copied(p);
            if (copied == 0) continue;
            var copies = read[p].Select(record => target.ProduceAsync(new TopicPartition(remote, p), new Message<byte[], byte[]>
            {
                Key = record.Message.Key, Value = record.Message.Value, Timestamp = record.Message.Timestamp, Headers = record.Message.Headers,
            })).ToList();
            for (var i = 0; i < copied; i++)
            {
                var delivered = copies[i].GetAwaiter().GetResult();
                if (i % 20 == 0)
                {
                    var (key, value) = Mm2Records.EncodeOffsetSync(new Mm2OffsetSync(Topic, p, read[p][i].Offset.Value, delivered.Offset.Value));
                    source.Produce(syncs, new Message<byte[], byte[]> { Key = key, Value = value });
                }
            }
            if (p == 2)
                target.Produce("mm2-offsets.B.internal", new Message<byte[], byte[]> { Key = Mm2Records.EncodeSourceOffsetKey("A", Topic, p), Value = Mm2Records.EncodeSourceOffsetValue(9) });
            target.Produce("mm2-offsets.B.internal", new Message<byte[], byte[]> { Key = Mm2Records.EncodeSourceOffsetKey("A", Topic, p), Value = Mm2Records.EncodeSourceOffsetValue(copied - 1) });
        }
        // The checkpoint connector keeps its own offsets in the same topic.
        target.Produce("mm2-offsets.B.internal", new Message<byte[], byte[]>
        {
            Key = Encoding.UTF8.GetBytes($$"""["MirrorCheckpointConnector",{"group":"billing","partition":0,"topic":"{{remote}}"}]"""),
            Value = Encoding.UTF8.GetBytes("""{"offset":20}"""),
        });
        var (checkpointKey, checkpointValue) = Mm2Records.EncodeCheckpoint(new Mm2GroupCheckpoint("billing", remote, 0, 20, 20, ""));
        target.Produce(checkpoints, new Message<byte[], byte[]> { Key = checkpointKey, Value = checkpointValue });
        target.Flush(TimeSpan.FromSeconds(30));
        source.Flush(TimeSpan.FromSeconds(30));
    }

    private sealed record Record(string? Key, string Value, bool HasProvenance);

    /// <summary>The first <c>counts[p]</c> records of each partition p of <paramref name="topic"/>, every partition read by one consumer.</summary>
    private Dictionary<int, List<ConsumeResult<byte[], byte[]>>> ReadRaw(string region, string topic, IReadOnlyDictionary<int, long> counts)
    {
        var records = counts.Keys.ToDictionary(p => p, _ => new List<ConsumeResult<byte[], byte[]>>());
        var open = counts.Where(c => c.Value > 0).Select(c => c.Key).ToHashSet();
        if (open.Count == 0) return records;
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = _bootstrap[region], GroupId = "mm2-test-read", EnableAutoCommit = false }).Build();
        consumer.Assign(open.Select(p => new TopicPartitionOffset(topic, p, 0)));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (open.Count > 0 && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(500)) is not { Message: not null } result || !open.Contains(result.Partition.Value)) continue;
            var partition = records[result.Partition.Value];
            partition.Add(result);
            if (partition.Count >= counts[result.Partition.Value]) open.Remove(result.Partition.Value);
        }
        Assert.True(open.Count == 0, $"{region} {topic}: partitions {string.Join(", ", open.Order())} did not give their records within 30 s " +
            $"({string.Join(", ", open.Order().Select(p => $"{p}: {records[p].Count} of {counts[p]}"))})");
        return records;
    }

    /// <summary>Every record of every partition of <paramref name="topic"/>, in order.</summary>
    private Dictionary<int, List<Record>> Read(string region, string topic) =>
        ReadRaw(region, topic, Enumerable.Range(0, Partitions).ToDictionary(p => p, p => EndOffset(region, topic, p)))
            .ToDictionary(p => p.Key, p => p.Value.Select(r => new Record(
                r.Message.Key is null ? null : Encoding.UTF8.GetString(r.Message.Key), Encoding.UTF8.GetString(r.Message.Value),
                r.Message.Headers.Any(h => h.Key == ProvenanceCodec.HeaderName))).ToList());

    private long Committed(string region, string group, string topic, int partition)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _bootstrap[region], GroupId = group }).Build();
        return consumer.Committed([new TopicPartition(topic, partition)], TimeSpan.FromSeconds(10)).Single().Offset.Value;
    }

    private long EndOffset(string region, string topic, int? partition = null)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _bootstrap[region] }).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.FirstOrDefault(t => t.Topic == topic && t.Error.Code == Confluent.Kafka.ErrorCode.NoError);
        if (metadata is null) return 0;
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _bootstrap[region], GroupId = "mm2-test-count" }).Build();
        return metadata.Partitions.Where(p => partition is null || p.PartitionId == partition)
            .Sum(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p.PartitionId), TimeSpan.FromSeconds(10)).High.Value);
    }

    private async Task StartKafkaAsync(string region)
    {
        var dir = Path.Combine(_dir, region, "kafka");
        _processes.Start(LocalMeshPaths.RegionHostBinary, Path.Combine(_dir, $"{region}-kafka.log"), null, "--dir", dir, "--brokers", "1", "--region", region);
        var control = Path.Combine(dir, "control");
        await Eventually.WaitAsync($"{region}'s region host to write {control}", () => Task.FromResult(File.Exists(control)), done => done, TimeSpan.FromSeconds(60));
        _control[region] = (await File.ReadAllTextAsync(control)).Trim().TrimEnd('/');
        _bootstrap[region] = (await File.ReadAllTextAsync(Path.Combine(dir, "bootstrap"))).Trim();
    }

    private async Task CreateTopicAsync(string region, string topic, int partitions, bool compact = false)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var url = $"{_control[region]}/topics/{Uri.EscapeDataString(topic)}?partitions={partitions}" + (compact ? "&config.cleanup.policy=compact" : "");
        (await http.PutAsync(url, null)).EnsureSuccessStatusCode();
    }

    /// <summary>Both regions' silos, as an operator deploys them, from the imported topology; B's runs the link A -> B.</summary>
    private void StartSilos(string topology)
    {
        var key = MeshKeys.Generate();
        foreach (var region in new[] { "A", "B" })
        {
            var other = region == "A" ? "B" : "A";
            var config = new JsonObject
            {
                ["Mesh"] = new JsonObject
                {
                    ["Region"] = region,
                    ["Kafka"] = new JsonObject { ["BootstrapServers"] = _bootstrap[region], ["EmbeddedControl"] = _control[region] },
                    ["Connections"] = new JsonObject
                    {
                        [other] = new JsonObject { ["BootstrapServers"] = _bootstrap[other], ["EmbeddedControl"] = _control[other] },
                    },
                    ["Topology"] = new JsonObject { ["File"] = topology },
                    ["Orleans"] = new JsonObject { ["Clustering"] = "localhost", ["SiloPort"] = LocalMesh.FreePort(), ["GatewayPort"] = LocalMesh.FreePort() },
                },
            };
            var file = Path.Combine(_dir, $"{region}-silo.json");
            File.WriteAllText(file, config.ToJsonString());
            _processes.Start(LocalMeshPaths.SiloBinary, Path.Combine(_dir, $"{region}-silo.log"), new Dictionary<string, string> { [LocalMesh.MeshKeyVariable] = key }, "--config", file);
        }
    }

    public async Task DisposeAsync()
    {
        await _processes.DisposeAsync();
        if (Environment.GetEnvironmentVariable("MESH_KEEP_TEST_DIRS") != "1")
            try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
