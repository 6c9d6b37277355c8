using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>Two regions, shared by the tests below: starting regions is the slow part.</summary>
public sealed class TwoRegionMesh : IAsyncLifetime
{
    public static readonly string[] Regions = ["us-east", "eu-west"];
    public const string Topic = "orders";
    public const int Partitions = 3;

    public TestMesh Mesh { get; } = TestMesh.InNewFolder("compress");

    public Task InitializeAsync() => Mesh.UpAsync(Regions, Partitions, Topic);

    public async Task DisposeAsync() => await Mesh.DisposeAsync();
}

/// <summary>
/// The mesh's own topics carry the configs they need, and what it replicates can be read by any
/// Kafka client, not only librdkafka-based ones: kafkajs (pure JavaScript) has no LZ4 codec.
/// </summary>
public sealed class InternalTopicsAndCompressionTests(TwoRegionMesh fixture) : IClassFixture<TwoRegionMesh>
{
    private TestMesh Mesh => fixture.Mesh;

    [Fact]
    public async Task Every_region_holds_a_compacted_checkpoint_topic_and_a_quarantine_kept_until_deleted()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var region in TwoRegionMesh.Regions)
        {
            var control = File.ReadAllText(Path.Combine(Mesh.Dir, region, "kafka", "control")).Trim().TrimEnd('/');
            var checkpoints = await RegionHostTopics.ConfigsAsync(http, control, region, "__mesh_checkpoints");
            Assert.True(checkpoints.GetValueOrDefault("cleanup.policy") == "compact",
                $"{region}: __mesh_checkpoints configs are {Describe(checkpoints)}, expected cleanup.policy=compact");
            var quarantine = await RegionHostTopics.ConfigsAsync(http, control, region, "__mesh_quarantine");
            Assert.True(quarantine.GetValueOrDefault("retention.ms") == "-1" && quarantine.GetValueOrDefault("cleanup.policy") == "delete",
                $"{region}: __mesh_quarantine configs are {Describe(quarantine)}, expected cleanup.policy=delete and retention.ms=-1");
        }
    }

    [Fact]
    public async Task Records_replicated_with_the_default_compression_are_read_exactly_by_kafkajs()
    {
        const int count = 300;
        var (source, destination) = (TwoRegionMesh.Regions[0], TwoRegionMesh.Regions[1]);
        var before = Mesh.RecordCount(destination, TwoRegionMesh.Topic);
        Assert.True(before == 0, $"{destination}/{TwoRegionMesh.Topic} already holds {before} records; this test wants to read exactly its own");

        // An application's producer with the client's defaults; keys and values of several shapes,
        // a null key and bytes that are not UTF-8 among them.
        var sent = new List<(byte[]? Key, byte[] Value)>();
        using (var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = Mesh.Local.Bootstrap(source) }).Build())
        {
            for (var i = 0; i < count; i++)
            {
                var key = i % 50 == 7 ? null : Encoding.UTF8.GetBytes($"customer-{i % 40}");
                var value = i % 25 == 3
                    ? [0x00, 0xff, 0xfe, (byte)i, 0x80]
                    : Encoding.UTF8.GetBytes($"{{\"order\":{i},\"note\":\"{new string('x', i % 200)}\"}}");
                sent.Add((key, value));
                await producer.ProduceAsync(TwoRegionMesh.Topic, new Message<byte[]?, byte[]> { Key = key, Value = value });
            }
        }

        await Eventually.WaitAsync($"{destination} to hold the {count} records produced into {source}/{TwoRegionMesh.Topic}",
            () => Task.FromResult(Mesh.RecordCount(destination, TwoRegionMesh.Topic)),
            n => n >= count, TimeSpan.FromMinutes(2), n => $"{destination} holds {n}");

        var read = await KafkajsReadAsync(Mesh.Local.Bootstrap(destination), TwoRegionMesh.Topic, count);
        Assert.True(read.Error is null, $"kafkajs could not read {destination}/{TwoRegionMesh.Topic}: {read.Error} (read {read.Records.Count} of {count})");
        Assert.Equal(count, read.Records.Count);
        var expected = sent.Select(r => Show(r.Key, r.Value)).Order(StringComparer.Ordinal).ToArray();
        var actual = read.Records.Select(r => Show(Decode(r.Key), Decode(r.Value))).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, actual);
    }

    private sealed record KafkajsRecord(int Partition, long Offset, string? Key, string? Value);

    private sealed record KafkajsResult(List<KafkajsRecord> Records, string? Error);

    /// <summary>Runs tests/clients/kafkajs-read.js (its packages installed by ./test) and parses what it printed.</summary>
    private static async Task<KafkajsResult> KafkajsReadAsync(string bootstrap, string topic, int expect)
    {
        var clients = Path.Combine(RepositoryRoot(), "tests", "clients");
        Assert.True(Directory.Exists(Path.Combine(clients, "node_modules", "kafkajs")),
            $"kafkajs is not installed in {clients}: run ./test, or 'npm ci' in that folder");
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = clients,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "kafkajs-read.js", "--brokers", bootstrap, "--topic", topic, "--expect", expect.ToString(), "--timeout-ms", "90000" })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"node kafkajs-read.js did not finish within 2 minutes; stderr:\n{await stderr}");
        }
        var output = await stdout;
        try
        {
            return JsonSerializer.Deserialize<KafkajsResult>(output, new JsonSerializerOptions(JsonSerializerDefaults.Web))
                ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"kafkajs-read.js (exit {process.ExitCode}) printed no result ({e.Message}); stdout:\n{output}\nstderr:\n{await stderr}");
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Mesh.sln above {AppContext.BaseDirectory}");
    }

    private static byte[]? Decode(string? base64) => base64 is null ? null : Convert.FromBase64String(base64);

    private static string Show(byte[]? key, byte[]? value) =>
        $"{(key is null ? "(null)" : Convert.ToHexString(key))} => {(value is null ? "(null)" : Convert.ToHexString(value))}";

    private static string Describe(Dictionary<string, string> configs) =>
        configs.Count == 0 ? "(none)" : string.Join(", ", configs.Select(c => $"{c.Key}={c.Value}"));
}
