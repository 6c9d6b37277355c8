using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Mesh.Backup;
using Mesh.Client.Backup;
using Mesh.Core.Backup;
using Mesh.Core.Backup.Restore;
using Mesh.Integration.Tests.Infrastructure;
using Mesh.Kafka.Offsets;
using Mesh.Kafka.Native;
using Incarnations = Mesh.Core.Replication.Incarnations;
using ProvenanceCodec = Mesh.Core.Replication.ProvenanceCodec;
using RecordHeader = Mesh.Core.Replication.RecordHeader;

namespace Mesh.Integration.Tests;

/// <summary>
/// A backup store built in the test as the archiver builds it (stream chains, config and group snapshots), and the
/// real <c>mesh restore</c> and <c>mesh backup</c> verbs run against it: bad input with its exit codes, a corrupt
/// segment, status, prune. Needs no mesh.
/// </summary>
public sealed class RestoreCommandTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(1);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mesh-tests", $"backup-{Guid.NewGuid():N}"[..15]);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Bad_input_is_refused_with_exit_2_and_says_what_and_how()
    {
        var backup = await TestBackup.BuildAsync(_dir);
        var at = RestoreInput.Format(backup.At);
        (string[] Args, string Expected)[] cases =
        [
            (["--topic", "nope", "--at", at, "--region", "r1"], "holds no records of topic 'nope' (it holds accounts, orders)"),
            (["--topic", "orders", "--at", RestoreInput.Format(backup.Base - 60_000), "--region", "r1"], "is before the backup's earliest record of 'orders'"),
            (["--topic", "orders", "--at", RestoreInput.Format(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 3_600_000), "--region", "r1"], "is in the future"),
            (["--topic", "orders", "--at", "2026-01-01T00:00:00", "--region", "r1"], "has no zone: add Z for UTC"),
            (["--topic", "orders", "--at", "last tuesday", "--region", "r1"], "has no zone"),
            (["--topic", "orders", "--at", at], "Name the region to restore into with --region R"),
            (["--topic", "orders", "--at", at, "--region", "r1", "--all-regions"], "--region and --all-regions exclude each other"),
            (["--topic", "orders", "--at", at, "--region", "r1", "--as", "no/slash"], "--as: topic name 'no/slash' contains '/'"),
        ];
        foreach (var (args, expected) in cases)
        {
            var result = await MeshProcesses.MeshAsync(Wait, ["restore", "--store", backup.Store, .. args, "--dir", Path.Combine(_dir, "no-mesh")]);
            Assert.True(result.ExitCode == 2 && result.Stderr.Contains(expected, StringComparison.Ordinal), $"{string.Join(' ', args)}: expected exit 2 with '{expected}'; {result}");
        }

        var badStore = await MeshProcesses.MeshAsync(Wait, "restore", "--store", "ftp://somewhere", "--topic", "orders", "--at", at, "--region", "r1");
        Assert.True(badStore.ExitCode == 2 && badStore.Stderr.Contains("--store", StringComparison.Ordinal), badStore.ToString());
        var notABackup = await MeshProcesses.MeshAsync(Wait, "backup", "status", "--store", Path.Combine(_dir, "empty"));
        Assert.True(notABackup.ExitCode is 2 or 3 && notABackup.Stderr.Contains("empty", StringComparison.Ordinal), notABackup.ToString());
        var badDuration = await MeshProcesses.MeshAsync(Wait, "backup", "prune", "--store", backup.Store, "--older-than", "7w");
        Assert.True(badDuration.ExitCode == 2 && badDuration.Stderr.Contains("e.g. 7d, 12h, 30m", StringComparison.Ordinal), badDuration.ToString());
        var missingFlag = await MeshProcesses.MeshAsync(Wait, "restore", "--store", backup.Store, "--topic", "orders");
        Assert.True(missingFlag.ExitCode == 2 && missingFlag.Stderr.Contains("--at", StringComparison.Ordinal), missingFlag.ToString());
    }

    [Fact]
    public async Task Status_reports_each_stream_with_the_documented_json_fields()
    {
        var backup = await TestBackup.BuildAsync(_dir);
        var result = await MeshProcesses.MeshAsync(Wait, "backup", "status", "--store", backup.Store, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var orders = json.RootElement.GetProperty("topics").EnumerateArray().Single(t => t.GetProperty("topic").GetString() == "orders");
        Assert.Equal(backup.Records["orders"], orders.GetProperty("records").GetInt64());
        Assert.True(orders.GetProperty("bytesRaw").GetInt64() > 0);
        Assert.True(orders.GetProperty("bytesStored").GetInt64() > 0);
        Assert.Equal(RestoreInput.Format(backup.Base), orders.GetProperty("earliest").GetString());
        Assert.Equal(RestoreInput.Format(backup.Latest), orders.GetProperty("latest").GetString());
        Assert.Equal(1, orders.GetProperty("gaps").GetInt32());
        var streams = orders.GetProperty("streams").EnumerateArray().ToList();
        Assert.Equal(3, streams.Count);
        var gapped = streams.Single(s => s.GetProperty("partition").GetInt32() == 1);
        Assert.Equal(("r1", TestBackup.R1Inc, 1, 2L, 2), (gapped.GetProperty("origin").GetString(), gapped.GetProperty("incarnation").GetString(),
            gapped.GetProperty("gaps").GetInt32(), gapped.GetProperty("gapRecords").GetInt64(), gapped.GetProperty("segments").GetInt32()));
        Assert.True(gapped.GetProperty("lagMs").GetInt64() >= 0);
        Assert.Empty(json.RootElement.GetProperty("orphans").EnumerateArray());

        // The tables people read: status, and a restore's plan.
        var table = await MeshProcesses.MeshAsync(Wait, "backup", "status", "--store", backup.Store);
        Assert.True(table.ExitCode == 0 && table.Stdout.Contains($"r1@{TestBackup.R1Inc}", StringComparison.Ordinal)
                    && table.Stdout.Contains($"orders: {backup.Records["orders"]} records", StringComparison.Ordinal), table.ToString());
        var plan = await MeshProcesses.MeshAsync(Wait, "restore", "--store", backup.Store, "--topic", "orders", "--at", RestoreInput.Format(backup.At), "--groups", "--dry-run");
        Assert.True(plan.ExitCode == 0 && plan.Stdout.Contains("billing @ 6", StringComparison.Ordinal) && plan.Stdout.Contains("audit @ 2", StringComparison.Ordinal)
                    && plan.Stdout.Contains("nothing written", StringComparison.Ordinal), plan.ToString());
    }

    [Fact]
    public async Task A_flipped_byte_fails_verify_naming_the_segment_and_a_restore_that_needs_it_refuses()
    {
        var backup = await TestBackup.BuildAsync(_dir);
        var sound = await MeshProcesses.MeshAsync(Wait, "backup", "verify", "--store", backup.Store, "--json");
        Assert.True(sound.ExitCode == 0, sound.ToString());

        var victim = backup.SegmentFiles("orders", 0, "r2").First();
        var bytes = File.ReadAllBytes(victim);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(victim, bytes);
        var name = Path.GetRelativePath(backup.Store, victim).Replace('\\', '/');

        var verify = await MeshProcesses.MeshAsync(Wait, "backup", "verify", "--store", backup.Store, "--json");
        Assert.True(verify.ExitCode == 5, verify.ToString());
        using var json = JsonDocument.Parse(verify.Stdout);
        Assert.Equal([name], json.RootElement.GetProperty("bad").EnumerateArray().Select(b => b.GetProperty("name").GetString()));
        Assert.Contains(name, verify.Stderr);

        // No region is reachable here; the restore must stop at the segment before it looks for one.
        var restore = await MeshProcesses.MeshAsync(Wait, "restore", "--store", backup.Store, "--topic", "orders", "--at", RestoreInput.Format(backup.At),
            "--region", "r1", "--dir", Path.Combine(_dir, "no-mesh"));
        Assert.True(restore.ExitCode == 5 && restore.Stderr.Contains(name, StringComparison.Ordinal) && restore.Stderr.Contains("nothing was written", StringComparison.Ordinal),
            restore.ToString());
        // A restore that does not need it (another topic) goes on to look for its regions.
        var other = await MeshProcesses.MeshAsync(Wait, "restore", "--store", backup.Store, "--topic", "accounts", "--at", RestoreInput.Format(backup.At),
            "--region", "r1", "--dir", Path.Combine(_dir, "no-mesh"));
        Assert.True(other.ExitCode == 2 && other.Stderr.Contains("No local mesh", StringComparison.Ordinal), other.ToString());
    }

    [Fact]
    public async Task Prune_removes_only_segments_no_later_restore_needs()
    {
        var backup = await TestBackup.BuildAsync(_dir, pruneShape: true);
        var before = await DryRunRecordsAsync(backup, "orders", backup.Now - 30 * 60_000);
        var beforeAccounts = await DryRunRecordsAsync(backup, "accounts", backup.Now - 30 * 60_000);

        var untouched = backup.Objects();
        var dry = await MeshProcesses.MeshAsync(Wait, "backup", "prune", "--store", backup.Store, "--older-than", "1h", "--dry-run", "--json");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        var planned = Removed(dry.Stdout);
        // orders (retention 1h): segments newest at -5h and -3h; not -80min (a restore at -1h takes records after -2h), never the last.
        // accounts (compacted): only its first segment, every key of which is superseded in its stream by the cut-off.
        Assert.Equal(["accounts/0#0", "orders/0#0", "orders/0#1"], planned);
        Assert.Equal(untouched, backup.Objects()); // a dry run removes nothing
        var objectsBefore = backup.Objects();

        var prune = await MeshProcesses.MeshAsync(Wait, "backup", "prune", "--store", backup.Store, "--older-than", "1h", "--json");
        Assert.True(prune.ExitCode == 0, prune.ToString());
        Assert.Equal(planned, Removed(prune.Stdout));
        Assert.Equal(6, objectsBefore.Count - backup.Objects().Count); // three entries and their three segments

        // What a restore at or after the cut-off takes is unchanged (for the compacted topic: less the two superseded
        // records, whose keys' later values it still writes); verify still finds the store sound.
        Assert.Equal(before, await DryRunRecordsAsync(backup, "orders", backup.Now - 30 * 60_000));
        Assert.Equal(beforeAccounts - 2, await DryRunRecordsAsync(backup, "accounts", backup.Now - 30 * 60_000));
        var verify = await MeshProcesses.MeshAsync(Wait, "backup", "verify", "--store", backup.Store);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        var again = await MeshProcesses.MeshAsync(Wait, "backup", "prune", "--store", backup.Store, "--older-than", "1h", "--json");
        Assert.Empty(Removed(again.Stdout));

        static List<string> Removed(string stdout)
        {
            using var json = JsonDocument.Parse(stdout);
            return [.. json.RootElement.GetProperty("segments").EnumerateArray()
                .Select(s => $"{s.GetProperty("topic").GetString()}/{s.GetProperty("partition").GetInt32()}#{s.GetProperty("sequence").GetInt64()}").Order(StringComparer.Ordinal)];
        }
    }

    [Fact]
    public async Task A_prune_stopped_between_its_two_deletes_leaves_an_orphan_that_readers_ignore_and_the_next_prune_removes()
    {
        var backup = await TestBackup.BuildAsync(_dir, pruneShape: true);
        var before = await DryRunRecordsAsync(backup, "orders", backup.Now - 30 * 60_000);
        // The entry of orders' first segment is gone, its segment not yet: what a prune that died in between leaves.
        var entry = Path.Combine(backup.Store, "topics", "orders", "0", $"r1@{TestBackup.R1Inc}", "manifest", "0000000000.json");
        File.Delete(entry);
        var orphan = Path.GetRelativePath(backup.Store, backup.SegmentFiles("orders", 0, "r1")[0]).Replace('\\', '/');

        var status = await MeshProcesses.MeshAsync(Wait, "backup", "status", "--store", backup.Store, "--json");
        Assert.True(status.ExitCode == 0, status.ToString());
        using (var json = JsonDocument.Parse(status.Stdout))
            Assert.Equal([orphan], json.RootElement.GetProperty("orphans").EnumerateArray().Select(o => o.GetProperty("name").GetString()));
        var verify = await MeshProcesses.MeshAsync(Wait, "backup", "verify", "--store", backup.Store, "--json");
        Assert.True(verify.ExitCode == 0 && verify.Stdout.Contains(orphan, StringComparison.Ordinal), verify.ToString());
        Assert.Equal(before, await DryRunRecordsAsync(backup, "orders", backup.Now - 30 * 60_000));

        var prune = await MeshProcesses.MeshAsync(Wait, "backup", "prune", "--store", backup.Store, "--older-than", "1h", "--json");
        Assert.True(prune.ExitCode == 0, prune.ToString());
        using (var json = JsonDocument.Parse(prune.Stdout))
            Assert.Equal([orphan], json.RootElement.GetProperty("orphans").EnumerateArray().Select(o => o.GetString()));
        Assert.DoesNotContain(backup.Objects(), o => o.EndsWith(Path.GetFileName(orphan), StringComparison.Ordinal));
        var after = await MeshProcesses.MeshAsync(Wait, "backup", "status", "--store", backup.Store, "--json");
        using (var json = JsonDocument.Parse(after.Stdout))
            Assert.Empty(json.RootElement.GetProperty("orphans").EnumerateArray());
    }

    private static async Task<long> DryRunRecordsAsync(TestBackup backup, string topic, long at)
    {
        var result = await MeshProcesses.MeshAsync(Wait, "restore", "--store", backup.Store, "--topic", topic, "--at", at.ToString(), "--dry-run", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        return json.RootElement.GetProperty("records").GetInt64();
    }
}

/// <summary>A backup written as the archiver writes one: chains appended with <see cref="StreamChain"/>, snapshots with <see cref="BackupCatalog"/>.</summary>
internal sealed class TestBackup
{
    public const string R1Inc = "1a2b3c4d";
    public const string R2Inc = "5e6f7a8b";

    public required string Store { get; init; }
    public required long Now { get; init; }
    public required long Base { get; init; }
    public required long At { get; init; }
    public required long Latest { get; init; }
    public Dictionary<string, long> Records { get; } = [];

    /// <summary>The backed-up records per (topic, partition, origin region), in origin order.</summary>
    public Dictionary<(string Topic, int Partition, string Region), List<BackupRecord>> Streams { get; } = [];

    public IReadOnlyList<string> SegmentFiles(string topic, int partition, string region) =>
        [.. Directory.GetFiles(Path.Combine(Store, "topics", topic, partition.ToString(), $"{region}@{(region == "r1" ? R1Inc : R2Inc)}", "segments")).Order(StringComparer.Ordinal)];

    public List<string> Objects() => [.. Directory.GetFiles(Store, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

    public static BackupRecord Rec(long offset, long timestamp, string? key, string? value, params RecordHeader[] headers) =>
        new(offset, timestamp, false, key is null ? null : Encoding.UTF8.GetBytes(key), value is null ? null : Encoding.UTF8.GetBytes(value), headers);

    /// <summary>
    /// <paramref name="topic"/> over <paramref name="partitions"/> partitions, <paramref name="perStream"/> records from each of r1 and
    /// r2 in every partition (segments of 1,000), all before <see cref="At"/>: big enough that a restore of it takes a while to write.
    /// </summary>
    public static async Task<TestBackup> BuildBulkAsync(string dir, string topic, int partitions, int perStream)
    {
        var ct = CancellationToken.None;
        var store = BackupStores.Open(dir);
        var time = TimeProvider.System;
        await BackupCatalog.EnsureDescriptorAsync(store, null, time, ct);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var start = now - 3_600_000L;
        var backup = new TestBackup { Store = dir, Now = now, Base = start, At = start + perStream + 1, Latest = start + perStream };
        await BackupCatalog.WriteTopicConfigAsync(store, new TopicConfigSnapshot(topic, partitions, new Dictionary<string, string> { ["cleanup.policy"] = "delete" }, "r1", start - 1000), ct);
        for (var p = 0; p < partitions; p++)
        foreach (var region in new[] { "r1", "r2" })
        {
            var records = Enumerable.Range(0, perStream)
                .Select(i => Rec(i, start + i, $"{region}-{p}-{i}", $"{region} wrote record {i} of partition {p} of {topic}", new RecordHeader("seq", BitConverter.GetBytes(i))))
                .ToList();
            var chain = await StreamChain.LoadAsync(store, new BackupStream(topic, p, region, region == "r1" ? R1Inc : R2Inc), ct);
            foreach (var segment in records.Chunk(1000))
                Assert.True((await chain.AppendAsync(segment, null, region, null, time, ct)).Appended, $"append to {topic}/{p} from {region}");
            backup.Streams[(topic, p, region)] = records;
            backup.Records[topic] = backup.Records.GetValueOrDefault(topic) + records.Count;
        }
        return backup;
    }

    /// <summary>
    /// orders (2 partitions): partition 0 from r1 (6 records) and r2 (4 records), partition 1 from r1 with a gap; one record of each
    /// stream after <see cref="At"/>. accounts: compacted. Groups billing and audit on orders. With <paramref name="pruneShape"/>,
    /// orders has a 1 h retention and old segments, accounts old superseded keys.
    /// </summary>
    public static async Task<TestBackup> BuildAsync(string dir, bool pruneShape = false)
    {
        var ct = CancellationToken.None;
        var store = BackupStores.Open(dir);
        var time = TimeProvider.System;
        await BackupCatalog.EnsureDescriptorAsync(store, null, time, ct);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var start = now - 6 * 3_600_000L;
        var backup = new TestBackup { Store = dir, Now = now, Base = start, At = start + 100, Latest = pruneShape ? now - 10 * 60_000 : start + 200 };

        async Task Append(string topic, int partition, string region, IReadOnlyList<BackupRecord> records, BackupGap? gap = null)
        {
            var chain = await StreamChain.LoadAsync(store, new BackupStream(topic, partition, region, region == "r1" ? R1Inc : R2Inc), ct);
            var result = await chain.AppendAsync(records, gap, region, null, time, ct);
            Assert.True(result.Appended, $"append to {topic}/{partition} from {region}");
            if (!backup.Streams.TryGetValue((topic, partition, region), out var list)) backup.Streams[(topic, partition, region)] = list = [];
            list.AddRange(records);
            backup.Records[topic] = backup.Records.GetValueOrDefault(topic) + records.Count;
        }

        if (!pruneShape)
        {
            await BackupCatalog.WriteTopicConfigAsync(store, new TopicConfigSnapshot("orders", 2, new Dictionary<string, string> { ["cleanup.policy"] = "delete" }, "r1", start - 1000), ct);
            await Append("orders", 0, "r1", [Rec(0, start, "a", "a0", new RecordHeader("trace", [1, 2, 3])), Rec(1, start + 20, "b", "a1"), Rec(2, start + 40, null, "a2")]);
            await Append("orders", 0, "r1", [Rec(3, start + 60, "a", ""), Rec(4, start + 80, "c", null, new RecordHeader("n", null)), Rec(5, start + 200, "late", "after")]);
            await Append("orders", 0, "r2", [Rec(0, start + 10, "x", "b0"), Rec(1, start + 30, "y", "b1"), Rec(2, start + 50, "", "b2"), Rec(3, start + 150, "late", "after")]);
            await Append("orders", 1, "r1", [Rec(0, start + 5, "p", "c0")]);
            await Append("orders", 1, "r1", [Rec(3, start + 15, "q", "c3", new RecordHeader("h", []))], new BackupGap(1, 2, "deleted before it was read"));
            await Append("accounts", 0, "r1", [Rec(0, start + 1, "k", "v")]);
            // billing processed r1 up to 3 and r2 up to 1 in partition 0, r1 up to 0 in partition 1; audit r1 up to 1 (nested).
            await BackupCatalog.WriteGroupSnapshotAsync(store, new GroupSnapshot("billing", "orders", 0, "r1", 6, start + 90,
                [new OriginMark("r1", R1Inc, 3), new OriginMark("r2", R2Inc, 1)]), ct);
            await BackupCatalog.WriteGroupSnapshotAsync(store, new GroupSnapshot("billing", "orders", 1, "r1", 1, start + 90, [new OriginMark("r1", R1Inc, 0)]), ct);
            await BackupCatalog.WriteGroupSnapshotAsync(store, new GroupSnapshot("audit", "orders", 0, "r1", 2, start + 90, [new OriginMark("r1", R1Inc, 1)]), ct);
            // Taken after TIME: not the position at TIME.
            await BackupCatalog.WriteGroupSnapshotAsync(store, new GroupSnapshot("audit", "orders", 0, "r1", 9, start + 500, [new OriginMark("r1", R1Inc, 5)]), ct);
            return backup;
        }

        await BackupCatalog.WriteTopicConfigAsync(store, new TopicConfigSnapshot("orders", 1, new Dictionary<string, string> { ["retention.ms"] = "3600000" }, "r1", start - 1000), ct);
        const long Minute = 60_000;
        await Append("orders", 0, "r1", [Rec(0, now - 300 * Minute, "a", "1"), Rec(1, now - 299 * Minute, "b", "2")]);
        await Append("orders", 0, "r1", [Rec(2, now - 181 * Minute, "a", "3"), Rec(3, now - 180 * Minute, "b", "4")]);
        await Append("orders", 0, "r1", [Rec(4, now - 85 * Minute, "a", "5"), Rec(5, now - 80 * Minute, "b", "6")]);
        await Append("orders", 0, "r1", [Rec(6, now - 10 * Minute, "a", "7")]);
        await BackupCatalog.WriteTopicConfigAsync(store, new TopicConfigSnapshot("accounts", 1, new Dictionary<string, string> { ["cleanup.policy"] = "compact" }, "r1", start - 1000), ct);
        await Append("accounts", 0, "r1", [Rec(0, now - 300 * Minute, "k1", "1"), Rec(1, now - 300 * Minute, "k2", "1")]);
        await Append("accounts", 0, "r1", [Rec(2, now - 240 * Minute, "k1", "2"), Rec(3, now - 240 * Minute, "k2", "2")]);
        await Append("accounts", 0, "r1", [Rec(4, now - 180 * Minute, "k1", "3")]);
        await Append("accounts", 0, "r1", [Rec(5, now - 1 * Minute, "k3", "1")]);
        return backup;
    }
}

/// <summary>One two-region local mesh (r1, r2, full mesh) shared by the restore tests that write into regions.</summary>
public sealed class RestoreMeshFixture : IAsyncLifetime
{
    public TestMesh Mesh { get; } = TestMesh.InNewFolder("restore");
    /// <summary>Scratch folder of the stores the tests build; <see cref="BackupDir"/> is the shared one.</summary>
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "mesh-tests", $"restore-stores-{Guid.NewGuid():N}"[..23]);
    public string BackupDir => Path.Combine(Root, "store");
    internal TestBackup Backup { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Backup = await TestBackup.BuildAsync(BackupDir);
        await Mesh.UpAsync(["r1", "r2"], partitions: 2, "live");
    }

    public async Task DisposeAsync()
    {
        await Mesh.DisposeAsync();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// <c>mesh restore</c> into a running two-region mesh: into one region with --groups (byte-identical records in the
/// planned order, replicated to the other region exactly once, the groups' positions committed), into every region at
/// once (nothing replicated), a non-empty target refused, a restore run again resuming with nothing written twice, and one whose
/// region's brokers go down, or that is killed, partway.
/// </summary>
public sealed class RestoreIntoMeshTests(RestoreMeshFixture fixture) : IClassFixture<RestoreMeshFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(1);
    private TestMesh Mesh => fixture.Mesh;
    private TestBackup Backup => fixture.Backup;

    private BackupRegion Region(string id) => new(id, new Dictionary<string, string> { ["bootstrap.servers"] = Mesh.Local.Bootstrap(id) }, null);

    private List<LoggedRecord> ReadAll(string region, string topic, int partition)
    {
        using var log = new PartitionLog(Region(region));
        return [.. log.Read(topic, partition, CancellationToken.None)];
    }

    /// <summary>The plan the restore must follow, from the backed-up records as the test wrote them.</summary>
    private PartitionOrder Expected(int partition, bool groups)
    {
        var window = new RestoreWindow(null, Backup.At);
        var streams = Backup.Streams.Where(s => s.Key.Topic == "orders" && s.Key.Partition == partition)
            .Select(s => new OriginRecords(new BackupStream("orders", partition, s.Key.Region, s.Key.Region == "r1" ? TestBackup.R1Inc : TestBackup.R2Inc),
                [.. window.Select(s.Value)]))
            .ToList();
        IReadOnlyList<GroupSnapshot> snapshots = groups
            ?
            [
                new GroupSnapshot("billing", "orders", partition, "r1", 0, 0,
                    partition == 0 ? [new OriginMark("r1", TestBackup.R1Inc, 3), new OriginMark("r2", TestBackup.R2Inc, 1)] : [new OriginMark("r1", TestBackup.R1Inc, 0)]),
                .. partition == 0 ? new[] { new GroupSnapshot("audit", "orders", 0, "r1", 0, 0, [new OriginMark("r1", TestBackup.R1Inc, 1)]) } : [],
            ]
            : [];
        return RestoreOrder.Plan(streams, [.. snapshots.OrderBy(s => s.Group, StringComparer.Ordinal)]);
    }

    private static void AssertSameRecords(PartitionOrder expected, IReadOnlyList<LoggedRecord> actual, string where)
    {
        Assert.True(expected.Records.Count == actual.Count, $"{where}: {actual.Count} records, expected {expected.Records.Count}");
        for (var i = 0; i < actual.Count; i++)
        {
            var (want, got) = (expected.Records[i], actual[i]);
            var from = RestoredFrom.Find(got.Headers);
            Assert.True(from is not null && from.OriginRegion == want.Stream.OriginRegion && from.OriginIncarnation == want.Stream.OriginIncarnation
                        && from.OriginOffset == want.Record.OriginOffset,
                $"{where} offset {got.Offset}: restored from {from?.OriginRegion}@{from?.OriginIncarnation}:{from?.OriginOffset}, planned {want.Stream.OriginRegion}:{want.Record.OriginOffset}");
            Assert.Equal(want.Record.Key, got.Key);
            Assert.Equal(want.Record.Value, got.Value);
            Assert.Equal(want.Record.TimestampMs, got.TimestampMs);
            var application = got.Headers.Where(h => h.Name is not (ProvenanceCodec.HeaderName or RestoredFrom.HeaderName)).ToList();
            Assert.Equal(want.Record.Headers.Select(h => (h.Name, h.Value is null ? "null" : Convert.ToHexString(h.Value))),
                application.Select(h => (h.Name, h.Value is null ? "null" : Convert.ToHexString(h.Value))));
        }
    }

    [Fact]
    public async Task A_restore_into_one_region_with_groups_is_exact_replicated_once_and_resumes_the_groups()
    {
        var result = await MeshProcesses.MeshAsync(Wait, "restore", "--store", Backup.Store, "--topic", "orders", "--at", RestoreInput.Format(Backup.At),
            "--region", "r1", "--as", "orders-restored", "--groups", "--json", "--dir", Mesh.Dir);
        Assert.True(result.ExitCode == 0, result.ToString());

        var expected = new[] { Expected(0, groups: true), Expected(1, groups: true) };
        // The plan by hand: partition 0 billing processed 6 (r1 0-3, r2 0-1), audit 2 (r1 0-1); partition 1 billing 1.
        Assert.Equal([("billing", 6L, 0L), ("audit", 2L, 0L)], expected[0].Groups.Select(g => (g.Group, g.Position, g.Redelivered)).OrderByDescending(g => g.Position));
        Assert.Equal(("billing", 1L), expected[1].Groups.Select(g => (g.Group, g.Position)).Single());
        for (var p = 0; p < 2; p++) AssertSameRecords(expected[p], ReadAll("r1", "orders-restored", p), $"r1 orders-restored/{p}");

        using (var billing = new ConsumerGroupOffsets("r1", "billing", Region("r1").Kafka))
            Assert.Equal(new Dictionary<int, long> { [0] = 6, [1] = 1 },
                billing.Committed([new TopicPartition("orders-restored", 0), new TopicPartition("orders-restored", 1)]).ToDictionary(c => c.Key.Partition.Value, c => c.Value));
        using (var audit = new ConsumerGroupOffsets("r1", "audit", Region("r1").Kafka))
            Assert.Equal(2, audit.Committed([new TopicPartition("orders-restored", 0)]).Single().Value);

        // r2 gets each restored record once, by the mesh's ordinary replication.
        var total = expected.Sum(e => e.Records.Count);
        await Eventually.WaitAsync("r2 to hold every restored record", () => Task.FromResult(Mesh.RecordCount("r2", "orders-restored")), n => n >= total, Wait, n => $"{n} of {total}");
        for (var p = 0; p < 2; p++)
        {
            var held = ReadAll("r2", "orders-restored", p).Select(r => RestoredFrom.Find(r.Headers)!).ToList();
            var identities = held.Select(f => $"{f.OriginRegion}@{f.OriginIncarnation}:{f.OriginOffset}").ToList();
            Assert.True(identities.Distinct().Count() == identities.Count, $"r2 orders-restored/{p} holds a record twice: {string.Join(", ", identities)}");
            Assert.Equal(expected[p].Records.Select(r => $"{r.Stream.OriginRegion}@{r.Stream.OriginIncarnation}:{r.Record.OriginOffset}").Order(StringComparer.Ordinal),
                identities.Order(StringComparer.Ordinal));
            // Replicated as the restore's own origin stream of r1 (r1 trusted their provenance), not re-labelled as r1's local records.
            foreach (var record in ReadAll("r2", "orders-restored", p))
            {
                var header = record.Headers.Single(h => h.Name == ProvenanceCodec.HeaderName).Value!;
                Assert.True(ProvenanceCodec.TryDecode(header, out var decoded, out var reason), reason);
                Assert.True(decoded!.Provenance.OriginRegion == "r1" && RestoreIds.IsRestoreIncarnation(decoded.Provenance.OriginIncarnation)
                            && decoded.Provenance.Hops.SequenceEqual(["r1", "r2"]), $"r2 orders-restored/{p} offset {record.Offset}: {Encoding.UTF8.GetString(header)}");
            }
        }

        // Run again: it finds its own records and writes nothing.
        var again = await MeshProcesses.MeshAsync(Wait, "restore", "--store", Backup.Store, "--topic", "orders", "--at", RestoreInput.Format(Backup.At),
            "--region", "r1", "--as", "orders-restored", "--groups", "--json", "--dir", Mesh.Dir);
        Assert.True(again.ExitCode == 0, again.ToString());
        using var json = JsonDocument.Parse(again.Stdout);
        foreach (var partition in json.RootElement.GetProperty("partitions").EnumerateArray())
        {
            var region = partition.GetProperty("regions").EnumerateArray().Single();
            Assert.Equal(0, region.GetProperty("written").GetInt64());
            Assert.Equal(partition.GetProperty("records").GetInt64(), region.GetProperty("alreadyWritten").GetInt64());
        }
        Assert.Equal(total, Mesh.RecordCount("r1", "orders-restored"));
    }

    [Fact]
    public async Task A_restore_into_deployed_regions_named_by_bootstrap_servers_is_exact_and_replicated_once()
    {
        // As against regions 'mesh local' did not start: Kafka addresses on the command line, the mesh key from the environment.
        // The embedded Kafka does not implement CreateTopics (a real cluster does): the target is made empty beforehand, as
        // an operator may, and the restore checks its partition count instead of creating it.
        await Mesh.Local.CreateTopicAsync("r2", "orders-deployed", 2);
        var bootstrap = string.Join(",", new[] { "r1", "r2" }.Select(r => $"{r}={Mesh.Local.Bootstrap(r)}"));
        var key = new Dictionary<string, string> { ["MESH_RESTORE_TEST_KEY"] = File.ReadAllText(Mesh.Local.Paths.MeshKeyFile).Trim() };
        var result = await MeshProcesses.MeshAsync(Wait, key, "restore", "--store", Backup.Store, "--topic", "orders", "--at", RestoreInput.Format(Backup.At),
            "--region", "r2", "--as", "orders-deployed", "--json", "--bootstrap", bootstrap, "--key-env", "MESH_RESTORE_TEST_KEY");
        Assert.True(result.ExitCode == 0, result.ToString());
        var expected = new[] { Expected(0, groups: false), Expected(1, groups: false) };
        for (var p = 0; p < 2; p++) AssertSameRecords(expected[p], ReadAll("r2", "orders-deployed", p), $"r2 orders-deployed/{p}");

        // Signed with the mesh's key, so r1 trusts the provenance and takes each record once, as r2's restore stream.
        var total = expected.Sum(e => e.Records.Count);
        await Eventually.WaitAsync("r1 to hold every restored record", () => Task.FromResult(Mesh.RecordCount("r1", "orders-deployed")), n => n >= total, Wait, n => $"{n} of {total}");
        for (var p = 0; p < 2; p++)
        {
            var identities = ReadAll("r1", "orders-deployed", p).Select(r => RestoredFrom.Find(r.Headers)!).Select(f => $"{f.OriginRegion}@{f.OriginIncarnation}:{f.OriginOffset}").ToList();
            Assert.Equal(expected[p].Records.Select(r => $"{r.Stream.OriginRegion}@{r.Stream.OriginIncarnation}:{r.Record.OriginOffset}").Order(StringComparer.Ordinal),
                identities.Order(StringComparer.Ordinal));
        }
        Assert.Equal(total, Mesh.RecordCount("r1", "orders-deployed"));

        // --bootstrap and --dir together: refused before anything is written.
        var both = await MeshProcesses.MeshAsync(Wait, key, "restore", "--store", Backup.Store, "--topic", "orders", "--at", RestoreInput.Format(Backup.At),
            "--region", "r2", "--as", "orders-deployed-2", "--bootstrap", bootstrap, "--dir", Mesh.Dir, "--key-env", "MESH_RESTORE_TEST_KEY");
        Assert.True(both.ExitCode == 2 && both.Stderr.Contains("--bootstrap", StringComparison.Ordinal), both.ToString());
    }

    /// <summary>The plan of a partition of a bulk backup restored at its <see cref="TestBackup.At"/>.</summary>
    private static PartitionOrder ExpectedBulk(TestBackup bulk, string topic, int partition)
    {
        var window = new RestoreWindow(null, bulk.At);
        return RestoreOrder.Plan(bulk.Streams.Where(s => s.Key.Topic == topic && s.Key.Partition == partition)
            .Select(s => new OriginRecords(new BackupStream(topic, partition, s.Key.Region, s.Key.Region == "r1" ? TestBackup.R1Inc : TestBackup.R2Inc),
                [.. window.Select(s.Value)]))
            .ToList(), []);
    }

    [Fact]
    public async Task A_restore_whose_region_goes_down_or_that_is_killed_partway_resumes_and_ends_exact_in_both_regions()
    {
        const string Topic = "ledger";
        const int Partitions = 8;
        var bulk = await TestBackup.BuildBulkAsync(Path.Combine(fixture.Root, "bulk"), Topic, Partitions, perStream: 3000);
        var at = RestoreInput.Format(bulk.At);
        var expected = Enumerable.Range(0, Partitions).Select(p => ExpectedBulk(bulk, Topic, p)).ToArray();
        var total = expected.Sum(e => e.Records.Count);
        string[] Restore(string target) => ["restore", "--store", bulk.Store, "--topic", Topic, "--at", at, "--region", "r1", "--as", target, "--json", "--dir", Mesh.Dir];
        // Asked every 20 ms, so one admin client and one consumer; the topic is looked up among all (asking for it by name could create it).
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = Mesh.Local.Bootstrap("r1") }).Build();
        using var offsets = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = Mesh.Local.Bootstrap("r1"), GroupId = "mesh-test-watch" }).Build();
        bool Started(string target) =>
            admin.GetMetadata(TimeSpan.FromSeconds(5)).Topics.Any(t => t.Topic == target && t.Error.Code == Confluent.Kafka.ErrorCode.NoError)
            && offsets.QueryWatermarkOffsets(new TopicPartition(target, 0), TimeSpan.FromSeconds(5)).High.Value > 0;

        // r1's brokers all go down once the restore has written its first records, for 4 s: its producer waits and
        // goes on where it stood (idempotent), and the restore ends exact without being run again.
        var control = File.ReadAllText(Path.Combine(Mesh.Dir, "r1", "kafka", "control")).Trim().TrimEnd('/');
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var outage = Task.Run(async () =>
        {
            await Eventually.WaitAsync("the restore to start writing ledger-a", () => Task.FromResult(Started("ledger-a")), started => started, Wait, _ => "not yet");
            (await http.PostAsync($"{control}/brokers/all/down", null)).EnsureSuccessStatusCode();
            await Task.Delay(TimeSpan.FromSeconds(4));
            (await http.PostAsync($"{control}/brokers/all/up", null)).EnsureSuccessStatusCode();
            return DateTime.UtcNow;
        });
        var throughOutage = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(3), Restore("ledger-a"));
        var ended = DateTime.UtcNow;
        var up = await outage;
        Assert.True(throughOutage.ExitCode == 0, throughOutage.ToString());
        // It could only end once the brokers were back: the outage came while it wrote.
        Assert.True(ended >= up, $"the restore ended at {ended:HH:mm:ss.fff}, before the brokers came back at {up:HH:mm:ss.fff}: the outage missed it");
        for (var p = 0; p < Partitions; p++) AssertSameRecords(expected[p], ReadAll("r1", "ledger-a", p), $"r1 ledger-a/{p}");

        // Killed outright once it has written its first records; the same command again finds what the first run wrote
        // (by its restore headers), writes the rest, and the mesh carries every record to r2 once. 150 ms added to every
        // round trip to r1 meanwhile: the restore writes partition after partition, each ending in a flush, so it cannot
        // be through all eight before the kill lands (unslowed, it once was, on a busy machine).
        await Mesh.Local.SetBrokerRttAsync("r1", 150);
        var (killedRun, killed) = await MeshProcesses.MeshKilledWhenAsync(TimeSpan.FromMinutes(3), () => Started("ledger-b"), Restore("ledger-b"));
        await Mesh.Local.SetBrokerRttAsync("r1", 0);
        Assert.True(killed, $"the restore ended before it could be killed: {killedRun}");
        var again = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(3), Restore("ledger-b"));
        Assert.True(again.ExitCode == 0, again.ToString());
        using (var json = JsonDocument.Parse(again.Stdout))
        {
            var regions = json.RootElement.GetProperty("partitions").EnumerateArray().Select(p => p.GetProperty("regions").EnumerateArray().Single()).ToList();
            var (already, written) = (regions.Sum(r => r.GetProperty("alreadyWritten").GetInt64()), regions.Sum(r => r.GetProperty("written").GetInt64()));
            Assert.True(already > 0 && written > 0 && already + written == total, $"the second run found {already} and wrote {written} of {total}\n{again}");
        }
        for (var p = 0; p < Partitions; p++) AssertSameRecords(expected[p], ReadAll("r1", "ledger-b", p), $"r1 ledger-b/{p}");
        await Eventually.WaitAsync("r2 to hold every record of ledger-b", () => Task.FromResult(Mesh.RecordCount("r2", "ledger-b")), n => n >= total, Wait, n => $"{n} of {total}");
        for (var p = 0; p < Partitions; p++)
        {
            var identities = ReadAll("r2", "ledger-b", p).Select(r => RestoredFrom.Find(r.Headers)!).Select(f => $"{f.OriginRegion}@{f.OriginIncarnation}:{f.OriginOffset}").ToList();
            Assert.Equal(expected[p].Records.Select(r => $"{r.Stream.OriginRegion}@{r.Stream.OriginIncarnation}:{r.Record.OriginOffset}").Order(StringComparer.Ordinal),
                identities.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task A_restore_into_every_region_is_written_once_in_each_and_never_replicated_and_a_foreign_target_is_refused()
    {
        var at = RestoreInput.Format(Backup.At);
        var result = await MeshProcesses.MeshAsync(Wait, "restore", "--store", Backup.Store, "--topic", "orders", "--at", at,
            "--all-regions", "--as", "orders-everywhere", "--json", "--dir", Mesh.Dir);
        Assert.True(result.ExitCode == 0, result.ToString());
        for (var p = 0; p < 2; p++)
        foreach (var region in new[] { "r1", "r2" })
            AssertSameRecords(Expected(p, groups: false), ReadAll(region, "orders-everywhere", p), $"{region} orders-everywhere/{p}");

        // A record produced after them in each partition crosses each link; once it has, every restored record before it was decided: none crossed.
        for (var p = 0; p < 2; p++)
        foreach (var (from, to) in new[] { ("r1", "r2"), ("r2", "r1") })
        {
            await Kcat.ProduceAsync(Mesh.Local.Bootstrap(from), "orders-everywhere", p, [$"marker-{from}:1"]);
            var count = Expected(p, groups: false).Records.Count;
            var seen = await Eventually.WaitAsync($"the marker of {from} to reach {to} orders-everywhere/{p}", () => Task.FromResult(ReadAll(to, "orders-everywhere", p)),
                records => records.Any(r => r.Key is not null && Encoding.UTF8.GetString(r.Key) == $"marker-{from}"), Wait, records => $"{records.Count} records");
            Assert.True(seen.Count(r => RestoredFrom.Find(r.Headers) is not null) == count, $"{to} orders-everywhere/{p}: {seen.Count} records, {count} restored expected");
        }

        // The target now holds records this restore did not write (the markers, and another restore's): refused, exit 4.
        var other = await MeshProcesses.MeshAsync(Wait, "restore", "--store", Backup.Store, "--topic", "orders", "--at", RestoreInput.Format(Backup.At - 5),
            "--region", "r2", "--as", "orders-everywhere", "--dir", Mesh.Dir);
        Assert.True(other.ExitCode == 4 && other.Stderr.Contains("is not empty", StringComparison.Ordinal) && other.Stderr.Contains("--allow-non-empty", StringComparison.Ordinal),
            other.ToString());
    }

    [Fact]
    public async Task A_restored_record_found_twice_in_the_target_is_named_and_the_restore_run_again_refuses_to_go_on()
    {
        var args = new[] { "restore", "--store", Backup.Store, "--topic", "orders", "--at", RestoreInput.Format(Backup.At), "--region", "r2", "--as", "orders-twice", "--dir", Mesh.Dir };
        var result = await MeshProcesses.MeshAsync(Wait, args);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("reading 'orders-twice' back to check that every record landed once", result.Stderr);
        var restored = ReadAll("r2", "orders-twice", 0);
        AssertSameRecords(Expected(0, groups: false), restored, "r2 orders-twice/0");

        // What a batch written twice through a broker outage leaves behind: one restored record again, headers and all.
        var copy = restored[1];
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = Mesh.Local.Bootstrap("r2") }).Build())
        {
            var headers = new Headers();
            foreach (var header in copy.Headers) headers.Add(header.Name, header.Value);
            await producer.ProduceAsync(new TopicPartition("orders-twice", 0),
                new Message<byte[]?, byte[]?> { Key = copy.Key, Value = copy.Value, Headers = headers, Timestamp = new Timestamp(copy.TimestampMs, TimestampType.CreateTime) });
        }
        var from = RestoredFrom.Find(copy.Headers)!;
        var again = await MeshProcesses.MeshAsync(Wait, args);
        Assert.True(again.ExitCode == 1, again.ToString());
        Assert.Contains($"r2 orders-twice/0 holds 1 record(s) of this restore twice (first: {from.OriginRegion}@{from.OriginIncarnation}:{from.OriginOffset} at offsets {copy.Offset} and {restored[^1].Offset + 1}",
            again.Stderr);
        Assert.Contains("--as", again.Stderr);
    }

    [Fact]
    public async Task Deep_verify_compares_with_the_live_regions_and_status_counts_what_the_backup_is_behind()
    {
        var lines = Enumerable.Range(0, 6).Select(i => $"k{i}:v{i}").ToArray();
        await Kcat.ProduceAsync(Mesh.Local.Bootstrap("r1"), "live", 0, lines);
        var live = await Eventually.WaitAsync("r1 live/0 to hold 6 records", () => Task.FromResult(ReadAll("r1", "live", 0)), r => r.Count >= 6, Wait, r => $"{r.Count}");
        var incarnation = Incarnations.FromClusterId(ClusterId.Read(Region("r1").Kafka, TimeSpan.FromSeconds(10)));
        var backedUp = live.Take(4).Select(r => new BackupRecord(r.Offset, r.TimestampMs, r.LogAppendTime, r.Key, r.Value, r.Headers)).ToList();

        async Task<string> StoreAsync(string name, IReadOnlyList<BackupRecord> records)
        {
            var dir = Path.Combine(fixture.Root, name);
            var store = BackupStores.Open(dir);
            await BackupCatalog.EnsureDescriptorAsync(store, null, TimeProvider.System, CancellationToken.None);
            var chain = await StreamChain.LoadAsync(store, new BackupStream("live", 0, "r1", incarnation), CancellationToken.None);
            Assert.True((await chain.AppendAsync(records, null, "r1", null, TimeProvider.System, CancellationToken.None)).Appended);
            return dir;
        }

        var sound = await StoreAsync("deep-sound", backedUp);
        var verify = await MeshProcesses.MeshAsync(Wait, "backup", "verify", "--store", sound, "--deep", "--json", "--dir", Mesh.Dir);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        using (var json = JsonDocument.Parse(verify.Stdout))
            Assert.True(json.RootElement.GetProperty("compared").GetInt64() >= 4, verify.Stdout);

        var status = await MeshProcesses.MeshAsync(Wait, "backup", "status", "--store", sound, "--json", "--dir", Mesh.Dir);
        Assert.True(status.ExitCode == 0, status.ToString());
        using (var json = JsonDocument.Parse(status.Stdout))
        {
            var stream = json.RootElement.GetProperty("topics").EnumerateArray().Single().GetProperty("streams").EnumerateArray().Single();
            using var log = new PartitionLog(Region("r1"));
            var end = log.Watermarks("live", 0).High;
            Assert.Equal(end - (backedUp[^1].OriginOffset + 1), stream.GetProperty("behind").GetInt64());
        }

        var altered = backedUp.Select((r, i) => i == 2 ? r with { Value = Encoding.UTF8.GetBytes("not what was written") } : r).ToList();
        var wrong = await StoreAsync("deep-wrong", altered);
        var deep = await MeshProcesses.MeshAsync(Wait, "backup", "verify", "--store", wrong, "--deep", "--json", "--dir", Mesh.Dir);
        Assert.True(deep.ExitCode == 5, deep.ToString());
        using (var json = JsonDocument.Parse(deep.Stdout))
        {
            var bad = json.RootElement.GetProperty("bad").EnumerateArray().Single();
            Assert.StartsWith("topics/live/0/r1@", bad.GetProperty("name").GetString());
            Assert.Contains($"origin offset {backedUp[2].OriginOffset} differs", bad.GetProperty("problem").GetString());
        }
    }
}
