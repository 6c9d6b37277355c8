using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Mesh.Client.Local;
using Mesh.Client.Traffic;
using Mesh.Grains;
using Mesh.Kafka.Native;

namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>A local mesh in a fresh folder, always torn down (no process left behind).</summary>
public sealed class TestMesh : IAsyncDisposable
{
    private TestMesh(string dir)
    {
        KafkaNative.EnsureLoaded();
        Dir = dir;
        Local = new LocalMesh(dir);
    }

    public string Dir { get; }
    public LocalMesh Local { get; }

    public static TestMesh InNewFolder(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "mesh-tests", $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)]);
        Directory.CreateDirectory(dir);
        return new TestMesh(dir);
    }

    /// <summary>
    /// Test silos of <paramref name="regions"/> write with a 4 s message timeout (default 15 s), so a replicator
    /// that takes over from a killed silo waits 8 s instead of 19 s (fencing: F + W + margin); for tests whose
    /// point is what happens after a kill, not how long the wait is.
    /// </summary>
    public TestMesh WithShortTakeOver(params string[] regions)
    {
        foreach (var region in regions)
        {
            if (!Local.SiloEnvironment.TryGetValue(region, out var environment)) Local.SiloEnvironment[region] = environment = [];
            environment[ShortTakeOverVariable] = ShortTakeOverWriteTimeoutMs;
        }
        return this;
    }

    /// <summary>The silo setting <see cref="WithShortTakeOver"/> sets, for silos a test starts some other way.</summary>
    public const string ShortTakeOverVariable = "MESH_Mesh__Replication__WriteTimeoutMs";
    public const string ShortTakeOverWriteTimeoutMs = "4000";

    /// <summary>The environment that makes an admin verb reaching this mesh through --gateways present the local operator's certificate.</summary>
    public Dictionary<string, string> OperatorTls
    {
        get
        {
            var files = Local.CertificateFiles(LocalMesh.OperatorHolder);
            return new()
            {
                [Mesh.Client.Admin.ClientCredentials.CaVariable] = files.CaFile,
                [Mesh.Client.Admin.ClientCredentials.CertificateVariable] = files.CertificateFile,
                [Mesh.Client.Admin.ClientCredentials.KeyVariable] = files.KeyFile,
            };
        }
    }

    public Task UpAsync(string[] regions, int partitions, params string[] topics) =>
        Local.UpAsync(regions, brokers: 3, partitions, topics, TimeSpan.FromMinutes(2));

    public Task UpAsync(LocalTopologyPlan plan, int partitions, params string[] topics) =>
        Local.UpAsync(plan, brokers: 3, partitions, topics, TimeSpan.FromMinutes(2));

    /// <summary>
    /// Produces into every region at once at a steady rate, so that replication runs while records
    /// keep coming (what a kill in the middle of a stream needs).
    /// </summary>
    public Task StreamIntoAsync(IEnumerable<string> regions, string topic, int records, int recordsPerSecond, long firstSequence = 0) =>
        Task.WhenAll(regions.Select(r => Task.Run(() =>
            TestTraffic.ProduceAsync(Local.Bootstrap(r), r, topic, records, keys: 64, firstSequence: firstSequence, recordsPerSecond: recordsPerSecond))));

    /// <summary>Sum of the partitions' end offsets of a topic in a region (0 if the topic is absent).</summary>
    public long RecordCount(string region, string topic)
    {
        var bootstrap = Local.Bootstrap(region);
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics.FirstOrDefault(t => t.Topic == topic && t.Error.Code == ErrorCode.NoError);
        if (metadata is null) return 0;
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "mesh-test-count" }).Build();
        return metadata.Partitions.Sum(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p.PartitionId), TimeSpan.FromSeconds(10)).High.Value);
    }

    public int PartitionCount(string region, string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = Local.Bootstrap(region) }).Build();
        return admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics.FirstOrDefault(t => t.Topic == topic && t.Error.Code == ErrorCode.NoError)?.Partitions.Count ?? 0;
    }

    /// <summary>Records the link <paramref name="source"/> -> <paramref name="destination"/> has written for a topic, per its grains.</summary>
    public async Task<long> ReplicatedAsync(string source, string destination, string topic) =>
        (await StatusAsync(destination)).InboundLinks.Single(l => l.Source == source).Topics.SingleOrDefault(t => t.Topic == topic)?.RecordsReplicated ?? 0;

    public async Task<RegionStatus> StatusAsync(string region)
    {
        await using var connection = await Local.ConnectAsync(region, TimeSpan.FromSeconds(10));
        return await connection.GetStatusAsync(TimeSpan.FromSeconds(15));
    }

    /// <summary>Waits until every region holds <paramref name="expectedPerRegion"/> records of the topic, then checks them exactly.</summary>
    public async Task<ReplicaCheck.Result> WaitAndCheckAsync(string topic, IReadOnlyDictionary<string, int> produced, TimeSpan timeout,
        Func<string, string, bool>? reaches = null)
    {
        reaches ??= (_, _) => true;
        var regions = Local.State.Regions.Select(r => r.Id).ToArray();
        var expected = regions.ToDictionary(r => r, r => produced.Where(p => p.Key == r || reaches(r, p.Key)).Sum(p => (long)p.Value));
        await Eventually.WaitAsync($"regions to hold {string.Join(", ", expected.Select(e => $"{e.Key}={e.Value}"))} records of '{topic}'",
            () => Task.FromResult(regions.ToDictionary(r => r, r => RecordCount(r, topic))),
            counts => counts.All(c => c.Value >= expected[c.Key]),
            timeout,
            counts => string.Join(", ", counts.Select(c => $"{c.Key}={c.Value}")));
        var logs = regions.ToDictionary(r => r, r => TestTraffic.ReadAll(Local.Bootstrap(r), topic, TimeSpan.FromSeconds(60)));
        return ReplicaCheck.Check(logs, produced, reaches);
    }

    public async ValueTask DisposeAsync()
    {
        await Local.DownAsync();
        // MESH_KEEP_TEST_DIRS=1 keeps the logs of every region for a post-mortem.
        if (Environment.GetEnvironmentVariable("MESH_KEEP_TEST_DIRS") != "1")
            try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
