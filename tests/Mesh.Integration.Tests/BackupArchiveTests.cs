using System.Text;
using Confluent.Kafka;
using Mesh.Backup;
using Mesh.Client.Local;
using Mesh.Core.Backup;
using Mesh.Core.Topology;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// The silos' continuous backup over real regions: two regions active-active, both writing, hold every
/// record once in the store although each region holds every record; a region killed before its own backup
/// wrote its last records leaves them to the survivor, which backs them up from its replica.
/// </summary>
public sealed class BackupArchiveTests
{
    private static readonly string[] Regions = ["a", "b"];
    private const string Topic = "orders";
    private const int Partitions = 2;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    /// <summary>A record as produced, where it landed in its origin region.</summary>
    private sealed record Produced(string Region, int Partition, long Offset, byte[]? Key, byte[]? Value, long TimestampMs, (string Name, byte[]? Value)[] Headers);

    [Fact]
    public async Task Two_active_regions_back_up_every_record_once_byte_for_byte()
    {
        var store = StoreDir("backup-aa");
        await using var mesh = TestMesh.InNewFolder("backup-aa");
        await mesh.UpAsync(Plan(store, segmentSeconds: 2, takeOverSeconds: 20), Partitions, Topic);

        var produced = (await Task.WhenAll(Regions.Select(r => Task.Run(() => Produce(mesh, r, 150, first: 0))))).SelectMany(p => p).ToList();

        var backed = await WaitForBackupAsync(store, produced);
        AssertExactlyOnce(produced, backed);
    }

    [Fact]
    public async Task A_region_killed_before_its_backup_wrote_its_records_leaves_them_to_the_survivor()
    {
        var store = StoreDir("backup-loss");
        await using var mesh = TestMesh.InNewFolder("backup-loss");
        // Segments close late and the take-over comes early: a's last records are still in its buffer when it dies.
        await mesh.UpAsync(Plan(store, segmentSeconds: 12, takeOverSeconds: 3), Partitions, Topic);

        var produced = (await Task.WhenAll(Regions.Select(r => Task.Run(() => Produce(mesh, r, 100, first: 0))))).SelectMany(p => p).ToList();
        await WaitForBackupAsync(store, produced);

        var last = Produce(mesh, "a", 120, first: 100);
        produced.AddRange(last);
        await Eventually.WaitAsync("b to hold a's 220 records", () => Task.FromResult(mesh.RecordCount("b", Topic)),
            n => n >= 100 + 220, Deadline, n => $"b holds {n} records of {100 + 220}");
        var killed = await mesh.Local.KillAsync("a", silo: true, kafka: true);
        Assert.Equal(2, killed.Count);

        var backed = await WaitForBackupAsync(store, produced);
        AssertExactlyOnce(produced, backed);
        var log = await File.ReadAllTextAsync(mesh.Local.Paths.SiloLog("b", 1));
        Assert.Contains("taking the stream over", log);
    }

    private static string StoreDir(string name) =>
        Path.Combine(Path.GetTempPath(), "mesh-tests", $"{name}-store-{Guid.NewGuid():N}"[..(name.Length + 15)]);

    private static LocalTopologyPlan Plan(string store, int segmentSeconds, int takeOverSeconds) =>
        LocalTopologyPlan.FromPattern(Regions, "active-active", hub: null, primary: null)
            .WithBackup(new BackupSettings(store) { SegmentSeconds = segmentSeconds, TakeOverSeconds = takeOverSeconds, SegmentBytes = 64 * 1024 });

    /// <summary>
    /// Produces <paramref name="count"/> records into <paramref name="region"/>, alternating partitions, with null and empty
    /// keys, values and header values among them, and returns where each landed.
    /// </summary>
    private static List<Produced> Produce(TestMesh mesh, string region, int count, int first)
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = mesh.Local.Bootstrap(region),
            EnableIdempotence = true,
            LingerMs = 5,
        }).Build();
        var results = new List<Produced>();
        for (var i = first; i < first + count; i++)
        {
            byte[]? key = (i % 5) switch { 0 => null, 1 => [], _ => Encoding.UTF8.GetBytes($"{region}-key-{i % 17}") };
            byte[]? value = (i % 7) switch { 0 => null, 1 => [], _ => Encoding.UTF8.GetBytes($"{region}:{i}:" + new string('v', i % 50)) };
            (string, byte[]?)[] headers = (i % 3) switch
            {
                0 => [],
                1 => [("app", [1, 2, (byte)i])],
                _ => [("empty", []), ("null", null), ("app", [(byte)(i % 256)])],
            };
            var timestamp = 1_700_000_000_000 + i;
            var message = new Message<byte[]?, byte[]?> { Key = key, Value = value, Timestamp = new Timestamp(timestamp, TimestampType.CreateTime), Headers = [] };
            foreach (var (name, bytes) in headers) message.Headers.Add(name, bytes);
            var partition = i % Partitions;
            var report = producer.ProduceAsync(new TopicPartition(Topic, partition), message).GetAwaiter().GetResult();
            results.Add(new Produced(region, partition, report.Offset.Value, key, value, timestamp, headers));
        }
        producer.Flush(TimeSpan.FromSeconds(10));
        return results;
    }

    private static async Task<Dictionary<(string Region, int Partition), List<BackupRecord>>> WaitForBackupAsync(string dir, List<Produced> produced)
    {
        var store = BackupStores.Open(dir);
        var expected = produced.GroupBy(p => (p.Region, p.Partition)).ToDictionary(g => g.Key, g => g.Count());
        return await Eventually.WaitAsync($"the backup in {dir} to hold {produced.Count} records", () => BackupContents.ReadAsync(store, Topic),
            backed => expected.All(e => backed.TryGetValue(e.Key, out var records) && records.Count >= e.Value),
            Deadline,
            backed => string.Join(", ", expected.Select(e =>
                $"{e.Key.Region} partition {e.Key.Partition}: {(backed.TryGetValue(e.Key, out var r) ? r.Count : 0)} of {e.Value}")));
    }

    private static void AssertExactlyOnce(List<Produced> produced, Dictionary<(string Region, int Partition), List<BackupRecord>> backed)
    {
        Assert.Equal(produced.Select(p => (p.Region, p.Partition)).Distinct().Order().ToArray(), backed.Keys.Order().ToArray());
        foreach (var ((region, partition), records) in backed)
        {
            var expected = produced.Where(p => p.Region == region && p.Partition == partition).ToDictionary(p => p.Offset);
            var offsets = records.Select(r => r.OriginOffset).ToList();
            var duplicates = offsets.GroupBy(o => o).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            Assert.True(duplicates.Count == 0, $"{region} partition {partition}: origin offsets backed up more than once: {string.Join(", ", duplicates.Take(10))}");
            var missing = expected.Keys.Except(offsets).Order().ToList();
            Assert.True(missing.Count == 0, $"{region} partition {partition}: {missing.Count} records missing, origin offsets {string.Join(", ", missing.Take(10))}");
            Assert.True(records.Count == expected.Count, $"{region} partition {partition}: {records.Count} records backed up, {expected.Count} produced");
            foreach (var record in records)
            {
                var original = expected[record.OriginOffset];
                var where = $"{region} partition {partition} origin offset {record.OriginOffset}";
                Assert.True(Same(original.Key, record.Key), $"{where}: key differs");
                Assert.True(Same(original.Value, record.Value), $"{where}: value differs");
                Assert.Equal(original.TimestampMs, record.TimestampMs);
                Assert.False(record.LogAppendTime, $"{where}: timestamp type differs");
                Assert.Equal(original.Headers.Select(h => h.Name), record.Headers.Select(h => h.Name));
                Assert.True(original.Headers.Zip(record.Headers).All(p => Same(p.First.Value, p.Second.Value)), $"{where}: header values differ");
            }
        }
    }

    // Null and empty are different things.
    private static bool Same(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);
}
