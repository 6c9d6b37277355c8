using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Mesh.Client.Traffic;
using Mesh.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Mesh.Integration.Tests;

/// <summary>
/// Last-writer-wins on a compacted topic: whatever order the regions see the writes in, every region
/// ends with the same last record per key (what compaction keeps), and it is the winner: the highest
/// version (timestamp or version header), ties broken by origin region id.
/// </summary>
public sealed class LwwConvergenceTests(ITestOutputHelper output, LwwConvergenceTests.EastWest eastWest) : IClassFixture<LwwConvergenceTests.EastWest>
{
    private const string Topic = "profiles";
    // The east-west mesh's topic whose winner is decided by a version header.
    private const string Versioned = "versioned";
    private const string RepairHeader = "mesh.repair";

    /// <summary>One write as produced at its origin: what the winner rule compares.</summary>
    private sealed record Write(string Region, int Partition, long Offset, string Key, string? Value, long TimestampMs, long Version);

    private static string TopologyFile(string[] regions, string conflict) =>
        WriteTemp($"name: lww\nversion: 1\nnaming: identity\npattern: mesh\nregions:\n{string.Concat(regions.Select(r => $"  {r}: {{}}\n"))}topics:\n  conflict: {conflict}\n");

    private static string WriteTemp(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mesh-lww-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    private static async Task UpAsync(TestMesh mesh, string[] regions, string conflict, string topics = Topic)
    {
        var file = TopologyFile(regions, conflict);
        try
        {
            var up = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(4),
                "local", "up", "--topology", file, "--partitions", "2", "--topics", topics, "--dir", mesh.Dir);
            Assert.True(up.ExitCode == 0, up.ToString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Concurrent_writes_with_skewed_clocks_ties_and_deletes_converge_to_the_same_winner_everywhere_across_a_silo_crash()
    {
        string[] regions = ["r1", "r2", "r3"];
        await using var mesh = TestMesh.InNewFolder("lww").WithShortTakeOver("r2"); // r2's silo is killed and restarted
        await UpAsync(mesh, regions, "{ profiles: lww }");

        // Each region writes every key once, in its own order, then rewrites a few; clocks disagree by
        // seconds, some timestamps are equal across regions (ties), about one write in ten is a delete.
        const int keys = 1000;
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var skew = new Dictionary<string, long> { ["r1"] = 4000, ["r2"] = -4000, ["r3"] = 0 };
        var plans = regions.ToDictionary(r => r, r =>
        {
            var random = new Random(r.GetHashCode() ^ 7);
            var order = Enumerable.Range(0, keys).Concat(Enumerable.Range(0, 200).Select(_ => random.Next(keys))).ToList();
            return order.Select((k, i) =>
            {
                var tie = k % 20 == 0; // the same timestamp in every region: the region id decides
                var ts = tie ? start + k : start + skew[r] + i * 3 + random.Next(0, 2000);
                var value = random.Next(10) == 0 ? null : $"{r}-{k}-{i}";
                return (Key: $"key-{k}", Value: value, Ts: ts);
            }).ToList();
        });

        var clock = Stopwatch.StartNew();
        var producing = regions.Select(r => Task.Run(() => ProduceAsync(mesh.Local.Bootstrap(r), r, plans[r], perSecond: 400))).ToList();
        // One silo dies while the writes flow, and comes back.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await mesh.Local.KillAsync("r2", silo: true, kafka: false);
        await Task.Delay(TimeSpan.FromSeconds(2));
        await mesh.Local.StartAsync("r2");
        var written = (await Task.WhenAll(producing)).SelectMany(w => w).ToList();
        Assert.Equal(regions.Length * (keys + 200), written.Count);

        // The expected winner per key, from what was produced: greatest (version, origin region, origin offset).
        var expected = written.GroupBy(w => w.Key).ToDictionary(g => g.Key,
            g => g.OrderByDescending(w => w.Version).ThenByDescending(w => w.Region, StringComparer.Ordinal).ThenByDescending(w => w.Offset).First());

        await Eventually.WaitAsync("every region's last record per key to be the expected winner",
            () => Task.FromResult(regions.ToDictionary(r => r, r => Mismatches(LastPerKey(mesh, r), expected))),
            mismatches => mismatches.All(m => m.Value.Count == 0),
            TimeSpan.FromMinutes(4),
            mismatches => string.Join("; ", mismatches.Select(m => $"{m.Key}: {m.Value.Count} keys off, e.g. {string.Join(", ", m.Value.Take(3))}")));
        var converged = clock.Elapsed;

        // What converged must stay converged: repairs do not go round in circles.
        var counts = regions.ToDictionary(r => r, r => mesh.RecordCount(r, Topic));
        await Task.Delay(TimeSpan.FromSeconds(6));
        Assert.Equal(counts, regions.ToDictionary(r => r, r => mesh.RecordCount(r, Topic)));

        // Status counts the repairs each region's log holds; links count the remote writes they dropped.
        var statuses = await Task.WhenAll(regions.Select(mesh.StatusAsync));
        long dropped = 0, repaired = 0;
        foreach (var status in statuses)
        {
            var repairsHere = TestTraffic.ReadAll(mesh.Local.Bootstrap(status.Region), Topic, TimeSpan.FromSeconds(60)).Count(r => r.Header(RepairHeader) is not null);
            var conflict = Assert.Single(status.Conflicts ?? []);
            Assert.Equal(repairsHere, conflict.Repaired);
            repaired += repairsHere;
            dropped += status.InboundLinks.Sum(l => l.Topics.Sum(t => t.ConflictsDropped));
        }
        Assert.True(dropped > 0, "with clocks this far apart some remote writes must lose to what a region already holds");

        var audit = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(2), "audit", "--dir", mesh.Dir, "--topic", Topic);
        Assert.True(audit.ExitCode == 0, audit.ToString());

        var figures = $"lww convergence: {written.Count} writes over {keys} keys in 3 regions, {dropped} remote writes dropped as conflicts, " +
                      $"{repaired} repairs, converged {converged.TotalSeconds:0.0} s after the writes started (silo of r2 killed and restarted)";
        output.WriteLine(figures);
        File.WriteAllText(Path.Combine(mesh.Dir, "..", "lww-convergence-figures.txt"), figures + "\n");
    }

    [Fact]
    public async Task A_late_local_write_older_than_a_remote_one_is_repaired_and_the_repair_does_not_echo()
    {
        var mesh = await eastWest.GetAsync();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var newer = await ProduceOneAsync(mesh.Local.Bootstrap("east"), Topic, "user-1", "from-east", now + 10_000);
        await Eventually.WaitAsync("west to receive east's write", () => Task.FromResult(mesh.RecordCount("west", Topic)), n => n >= 1,
            TimeSpan.FromMinutes(1), n => $"{n} records");
        // west's application writes the same key with an older timestamp after the newer one arrived.
        await ProduceOneAsync(mesh.Local.Bootstrap("west"), Topic, "user-1", "from-west", now);

        await Eventually.WaitAsync("west to re-assert east's value after its own older write",
            () => Task.FromResult(LastPerKey(mesh, "west", Topic).GetValueOrDefault("user-1")?.Value), v => v == "from-east",
            TimeSpan.FromMinutes(1), v => v ?? "(none)");
        await Eventually.WaitAsync("east to see west's older write and drop it",
            async () => (await mesh.StatusAsync("east")).InboundLinks.Sum(l => l.Topics.Where(t => t.Topic == Topic).Sum(t => t.ConflictsDropped)), n => n >= 1,
            TimeSpan.FromMinutes(1), n => $"{n} dropped");

        var west = TestTraffic.ReadAll(mesh.Local.Bootstrap("west"), Topic, TimeSpan.FromSeconds(30));
        Assert.Equal(["from-east", "from-west", "from-east"], west.OrderBy(r => r.Offset).Select(r => r.Value));
        Assert.NotNull(west.OrderBy(r => r.Offset).Last().Header(RepairHeader));
        // east holds only its own write: west's older one lost there, and west's repair never travelled.
        await Task.Delay(TimeSpan.FromSeconds(5));
        var east = TestTraffic.ReadAll(mesh.Local.Bootstrap("east"), Topic, TimeSpan.FromSeconds(30));
        Assert.Equal(["from-east"], east.Select(r => r.Value));
        Assert.Equal(newer.Offset.Value, east.Single().Offset);
        Assert.Equal(1, (await mesh.StatusAsync("west")).Conflicts!.Single(c => c.Topic == Topic).Repaired);
    }

    [Fact]
    public async Task A_version_header_decides_over_timestamps_and_a_bad_one_falls_back_to_the_timestamp_and_is_counted()
    {
        string[] regions = ["east", "west"];
        var mesh = await eastWest.GetAsync();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        // a: east's clock is newer but west's version is higher: west wins everywhere.
        await ProduceOneAsync(mesh.Local.Bootstrap("east"), Versioned, "a", "east-v8", now + 60_000, ("app-version", "8"));
        await ProduceOneAsync(mesh.Local.Bootstrap("west"), Versioned, "a", "west-v9", now, ("app-version", "9"));
        // b: a malformed version in east: still replicated, ordered by its (newer) timestamp, counted.
        await ProduceOneAsync(mesh.Local.Bootstrap("west"), Versioned, "b", "west-v5", now, ("app-version", "5"));
        await ProduceOneAsync(mesh.Local.Bootstrap("east"), Versioned, "b", "east-bad", now + 60_000, ("app-version", "not-a-number"));
        // c: no version header in east: ordered by its timestamp in ms, which beats west's version 3.
        await ProduceOneAsync(mesh.Local.Bootstrap("west"), Versioned, "c", "west-v3", now, ("app-version", "3"));
        await ProduceOneAsync(mesh.Local.Bootstrap("east"), Versioned, "c", "east-none", now + 60_000);

        foreach (var region in regions)
        {
            await Eventually.WaitAsync($"{region} to settle on the winners",
                () => Task.FromResult(LastPerKey(mesh, region, Versioned)),
                last => last.GetValueOrDefault("a")?.Value == "west-v9" && last.GetValueOrDefault("b")?.Value == "east-bad"
                        && last.GetValueOrDefault("c")?.Value == "east-none",
                TimeSpan.FromMinutes(1), last => string.Join(", ", last.Select(e => $"{e.Key}={e.Value.Value}")));
        }
        // The link carrying east's malformed and missing versions counts both; each region's key index counts every such record it read.
        await Eventually.WaitAsync("west's link from east to count 2 bad versions",
            async () => (await mesh.StatusAsync("west")).InboundLinks.Sum(l => l.Topics.Where(t => t.Topic == Versioned).Sum(t => t.BadVersions)), n => n >= 2, TimeSpan.FromSeconds(30));
        foreach (var region in regions)
            await Eventually.WaitAsync($"{region}'s lww partitions to count 2 bad versions",
                async () => (await mesh.StatusAsync(region)).Conflicts?.Where(c => c.Topic == Versioned).Sum(c => c.BadVersions) ?? 0, n => n >= 2, TimeSpan.FromSeconds(30));
        Assert.Contains(TestTraffic.ReadAll(mesh.Local.Bootstrap("west"), Versioned, TimeSpan.FromSeconds(30)), r => r.Value == "east-bad");
    }

    /// <summary>
    /// east and west with two last-writer-wins topics, one for each of the two tests that share them: profiles decided by
    /// timestamps (the repair test), versioned by the app-version header (the version-header test).
    /// </summary>
    public sealed class EastWest : SharedMesh
    {
        protected override string Name => "lww-ew";

        protected override Task StartAsync(TestMesh mesh) =>
            UpAsync(mesh, ["east", "west"], $"{{ {Topic}: lww, {Versioned}: {{ policy: lww, version-header: app-version }} }}", $"{Topic},{Versioned}");
    }

    /// <summary>The last record per key in every partition of one region, as compaction would keep it.</summary>
    private static Dictionary<string, LoggedRecord> LastPerKey(TestMesh mesh, string region, string topic = Topic) =>
        TestTraffic.ReadAll(mesh.Local.Bootstrap(region), topic, TimeSpan.FromSeconds(60))
            .Where(r => r.Key is not null)
            .GroupBy(r => r.Key!)
            .ToDictionary(g => g.Key, g => g.MaxBy(r => r.Offset)!);

    private static List<string> Mismatches(Dictionary<string, LoggedRecord> last, Dictionary<string, Write> expected)
    {
        var problems = new List<string>();
        foreach (var (key, winner) in expected)
        {
            if (!last.TryGetValue(key, out var record)) problems.Add($"{key} missing");
            else if (record.Value != winner.Value || record.TimestampMs != winner.TimestampMs)
                problems.Add($"{key}={record.Value ?? "(tombstone)"}@{record.TimestampMs}, expected {winner.Value ?? "(tombstone)"}@{winner.TimestampMs} from {winner.Region}");
        }
        return problems;
    }

    private static async Task<List<Write>> ProduceAsync(string bootstrap, string region, List<(string Key, string? Value, long Ts)> plan, int perSecond)
    {
        using var producer = new ProducerBuilder<string, string?>(new ProducerConfig { BootstrapServers = bootstrap, Acks = Acks.All, LingerMs = 5 }).Build();
        var writes = new List<Write>();
        var paced = Stopwatch.StartNew();
        for (var i = 0; i < plan.Count; i++)
        {
            var (key, value, ts) = plan[i];
            var result = await producer.ProduceAsync(Topic, new Message<string, string?> { Key = key, Value = value, Timestamp = new Timestamp(ts, TimestampType.CreateTime) });
            writes.Add(new Write(region, result.Partition.Value, result.Offset.Value, key, value, ts, ts));
            var due = TimeSpan.FromSeconds((i + 1) / (double)perSecond);
            await Mesh.Client.Traffic.Pace.UntilAsync(paced, due);
        }
        return writes;
    }

    private static async Task<DeliveryResult<string, string?>> ProduceOneAsync(string bootstrap, string topic, string key, string? value, long ts,
        params (string Name, string Value)[] headers)
    {
        using var producer = new ProducerBuilder<string, string?>(new ProducerConfig { BootstrapServers = bootstrap, Acks = Acks.All }).Build();
        var message = new Message<string, string?> { Key = key, Value = value, Timestamp = new Timestamp(ts, TimestampType.CreateTime), Headers = [] };
        foreach (var (name, text) in headers) message.Headers.Add(name, Encoding.UTF8.GetBytes(text));
        return await producer.ProduceAsync(topic, message);
    }
}
