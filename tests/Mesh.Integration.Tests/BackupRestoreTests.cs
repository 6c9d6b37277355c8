using System.Globalization;
using System.Text.Json;
using Mesh.Client.Local;
using Mesh.Core.Backup;
using Mesh.Core.Topology;
using Mesh.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Mesh.Integration.Tests;

/// <summary>
/// Backup and restore across real regions, end to end, with Azure Blob Storage (Azurite) as the store:
/// the silos back up an active-active topic while both regions write it; a restore at a moment T into a
/// third region under a new name holds exactly the records written up to T, byte for byte, the mesh
/// carries it to the others once, and a consumer group resumes in it exactly where it stood at T.
/// (Restores from a store built by hand, into every region at once and from damaged segments:
/// RestoreCommandTests; the archiver's own cases with a directory store: BackupArchiveTests.)
/// </summary>
public sealed class BackupRestoreTests(ITestOutputHelper output)
{
    private const string Topic = "orders";
    private const string Group = "billing";
    private const int Partitions = 2;
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task A_moment_restored_from_Azure_Blob_Storage_into_another_region_is_exact_everywhere_and_the_group_resumes_where_it_stood()
    {
        string[] regions = ["r1", "r2", "r3"];
        using var azurite = new Azurite();
        const string variable = "MESH_TEST_AZURE_BACKUP";
        azurite.ExportConnection(variable); // the silos and the CLI read it from the environment (removed when Azurite stops)
        var storeSpec = $"azure://mesh-backup?connection-env={variable}";
        await using var mesh = TestMesh.InNewFolder("backup");
        var backup = new BackupSettings(storeSpec) { SegmentSeconds = 1, GroupIntervalSeconds = 1, Groups = [Group] };
        await mesh.Local.UpAsync(LocalTopologyPlan.FullMesh(regions).WithBackup(backup), brokers: 3, Partitions, [Topic], Deadline);
        var store = azurite.OpenStore("mesh-backup");

        // Before T: both active regions write at once; every region holds all of it.
        var before = await Task.WhenAll(
            Task.Run(() => RawTraffic.ProduceAsync(mesh.Local.Bootstrap("r1"), Topic, "r1", 0, 300)),
            Task.Run(() => RawTraffic.ProduceAsync(mesh.Local.Bootstrap("r2"), Topic, "r2", 0, 300)));
        await WaitForCountAsync(mesh, regions, Topic, 600);
        // What the origins hold as written (timestamps as the brokers keep them), the expectation for every restored copy.
        var ids = before.SelectMany(b => b).Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        var written = RawTraffic.ReadAll(mesh.Local.Bootstrap("r1"), Topic).Where(r => ids.Contains(r.Id)).ToList();
        Assert.Equal(600, written.Count);

        // The group processes part of r1's copy (in r1's order) and commits.
        var processed = GroupConsumer.ProcessAndCommit(mesh.Local.Bootstrap("r1"), Topic, Group, new Dictionary<int, long> { [0] = 110, [1] = 170 });
        await WaitForBackupAsync(store, 600, groupSnapshots: true);

        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await Task.Delay(1500); // every record of the burst is stamped after T
        await Task.WhenAll(
            Task.Run(() => RawTraffic.ProduceAsync(mesh.Local.Bootstrap("r1"), Topic, "r1", 300, 150)),
            Task.Run(() => RawTraffic.ProduceAsync(mesh.Local.Bootstrap("r2"), Topic, "r2", 300, 150)));
        await WaitForCountAsync(mesh, regions, Topic, 900);
        var catalog = await WaitForBackupAsync(store, 900, groupSnapshots: false);

        // The backup holds each record once although every region holds every record: one stream per
        // origin and partition, each with exactly what its origin wrote there.
        var streams = catalog.Topics.Single(x => x.Topic == Topic).Streams;
        Assert.Equal(2 * Partitions, streams.Count);
        Assert.All(streams, s => Assert.Equal(225, s.Entries.Sum(e => e.Records)));

        // Restore at T into r3 under a new name: exactly the records before T, byte for byte, in each
        // origin's order, and the mesh carries them to r1 and r2 exactly once.
        var restore = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(3), "restore", "--store", storeSpec, "--topic", Topic,
            "--at", t.ToString(CultureInfo.InvariantCulture), "--region", "r3", "--as", "orders-at-t", "--groups", "--json", "--dir", mesh.Dir);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        output.WriteLine(restore.Stdout);
        using (var json = JsonDocument.Parse(restore.Stdout))
            Assert.Equal(600, json.RootElement.GetProperty("records").GetInt64());
        await WaitForCountAsync(mesh, regions, "orders-at-t", 600);
        var restored = RawTraffic.ReadAll(mesh.Local.Bootstrap("r3"), "orders-at-t");
        AssertSameRecords(written, restored);
        AssertPerOriginOrder(restored);
        foreach (var region in new[] { "r1", "r2" })
            AssertSameRecords(written, RawTraffic.ReadAll(mesh.Local.Bootstrap(region), "orders-at-t"));

        // The group resumes in the restored topic with exactly what it had not processed at T.
        var resumed = GroupConsumer.ReadFromCommitted(mesh.Local.Bootstrap("r3"), "orders-at-t", Group, Partitions);
        var unprocessed = written.Select(r => r.Id).Except(processed).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(unprocessed, resumed.Order(StringComparer.Ordinal).ToList());
    }

    private static async Task<BackupCatalog> WaitForBackupAsync(IBackupStore store, long records, bool groupSnapshots) =>
        await Eventually.WaitAsync($"the backup to hold {records} records{(groupSnapshots ? " and the group's positions" : "")}",
            () => BackupCatalog.LoadAsync(store, Topic, CancellationToken.None),
            c => c.Topics.SelectMany(t => t.Streams).Sum(s => s.Entries.Sum(e => (long)e.Records)) == records
                 && (!groupSnapshots || Enumerable.Range(0, Partitions).All(p => c.Groups.Any(g => g.Group == Group && g.Partition == p && g.CommittedOffset > 0))),
            Deadline,
            c => $"{c.Topics.SelectMany(t => t.Streams).Sum(s => s.Entries.Sum(e => (long)e.Records))} records, {c.Groups.Count} group snapshots");

    private static Task WaitForCountAsync(TestMesh mesh, string[] regions, string topic, long expected) =>
        Eventually.WaitAsync($"every region to hold {expected} records of '{topic}'",
            () => Task.FromResult(regions.ToDictionary(r => r, r => mesh.RecordCount(r, topic))),
            counts => counts.Values.All(c => c == expected), Deadline,
            counts => string.Join(", ", counts.Select(c => $"{c.Key}={c.Value}")));

    /// <summary>The same records (partition, key, value, application headers, timestamp), each once.</summary>
    private static void AssertSameRecords(IReadOnlyList<RawRecord> expected, IReadOnlyList<RawRecord> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        var byId = actual.ToDictionary(r => r.Id); // throws on a duplicate
        foreach (var record in expected)
        {
            Assert.True(byId.TryGetValue(record.Id, out var got), $"record {record.Id} is missing");
            Assert.Equal(record.Partition, got!.Partition);
            Assert.Equal(record.Key, got.Key);
            Assert.Equal(record.Value, got.Value);
            Assert.Equal(record.TimestampMs, got.TimestampMs);
            Assert.Equal(record.ApplicationHeaders, got.ApplicationHeaders);
        }
    }

    /// <summary>Within each partition, each origin's records in the order they were written there.</summary>
    private static void AssertPerOriginOrder(IReadOnlyList<RawRecord> records)
    {
        foreach (var stream in records.GroupBy(r => (r.Partition, r.Origin)))
        {
            var sequences = stream.OrderBy(r => r.Offset).Select(r => r.Sequence).ToList();
            Assert.Equal(sequences.Order().ToList(), sequences);
        }
    }
}
