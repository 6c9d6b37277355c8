using System.Text.Json;
using Confluent.Kafka;
using Mesh.Client.Traffic;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// Consumer groups moved between active-active regions whose partitions hold the same records in
/// different orders: once with <c>mesh failover</c>, and continuously by the silos. A group resumed in
/// another region sees every record it had not processed, and gets again exactly as many as reported.
/// </summary>
public sealed class OffsetTranslationTests
{
    private static readonly string[] Regions = ["us-east", "eu-west", "ap-south"];
    private const string Topic = "orders";
    private const int PerRegion = 400;
    private static readonly TimeSpan Cli = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task A_group_failed_over_resumes_without_loss_and_redelivers_exactly_the_reported_bound()
    {
        await using var mesh = TestMesh.InNewFolder("failover");
        var up = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(4),
            "local", "up", "--regions", string.Join(",", Regions), "--partitions", "3", "--topics", Topic, "--dir", mesh.Dir);
        Assert.True(up.ExitCode == 0, $"mesh local up failed: {up}");
        await ProduceEverywhereAtOnceAsync(mesh);
        var (from, to) = (Regions[0], Regions[1]);

        // About half of each partition, and at least just past the first record the two regions hold at different places
        // (so that the failover has something to translate however the concurrent writes interleaved); and a lagging
        // group: the first three records of each.
        var firstDifference = FirstDifference(mesh.Local.Bootstrap(from), mesh.Local.Bootstrap(to));
        var seen = ConsumePart(mesh.Local.Bootstrap(from), "billing", (p, high) => Math.Min(high, Math.Max(high / 2, firstDifference[p] + 1)));
        var lagging = ConsumePart(mesh.Local.Bootstrap(from), "audit-trail", (_, _) => 3);

        foreach (var (group, processed) in new[] { ("billing", seen), ("audit-trail", lagging) })
        {
            var dry = await FailoverAsync(mesh, group, from, to, "--dry-run");
            Assert.True(dry.DryRun);
            Assert.Empty(Committed(mesh.Local.Bootstrap(to), group));

            var report = await FailoverAsync(mesh, group, from, to);
            Assert.Equal(dry.Partitions, report.Partitions);
            Assert.Equal(3, report.Partitions.Count);
            Assert.Equal(0, report.Uncertain);
            if (group == "billing")
                Assert.True(report.Partitions.Any(p => p.FromOffset != p.ToOffset) || report.Redelivered > 0,
                    $"{from} and {to} hold the records in the same order: nothing here needed translating");
            var committed = Committed(mesh.Local.Bootstrap(to), group);
            foreach (var p in report.Partitions) Assert.Equal(p.ToOffset, committed[p.Partition]);

            var resumed = ReadFromCommitted(mesh.Local.Bootstrap(to), group);
            var held = TestTraffic.ReadAll(mesh.Local.Bootstrap(to), Topic, TimeSpan.FromMinutes(1));
            var lost = held.Select(r => r.Value!).Where(v => !processed.Contains(v) && !resumed.Contains(v)).ToList();
            Assert.True(lost.Count == 0, $"{group}: {lost.Count} records of {to} neither processed in {from} nor delivered after failover, e.g. {string.Join(", ", lost.Take(5))}");
            var again = resumed.Count(processed.Contains);
            Assert.True(again == report.Redelivered, $"{group}: {again} records re-delivered, the reported bound is {report.Redelivered} " +
                $"(partitions: {string.Join("; ", report.Partitions.Select(p => $"{p.Partition}: {p.FromOffset} -> {p.ToOffset}, {p.Redelivered}"))})");
        }

        // Bad input changes nothing.
        var unknown = await MeshProcesses.MeshAsync(Cli, "failover", "--group", "no-such-group", "--from", from, "--to", to, "--dir", mesh.Dir);
        Assert.True(unknown.ExitCode == 2 && unknown.Stderr.Contains("no committed offsets"), unknown.ToString());
        var same = await MeshProcesses.MeshAsync(Cli, "failover", "--group", "billing", "--from", from, "--to", from, "--dir", mesh.Dir);
        Assert.True(same.ExitCode == 2, same.ToString());

        var before = Committed(mesh.Local.Bootstrap(to), "billing");
        using (var member = Subscribe(mesh.Local.Bootstrap(to), "billing"))
        {
            await Eventually.WaitAsync($"a member of billing in {to} to be assigned partitions",
                () => Task.FromResult(Poll(member)), assigned => assigned, TimeSpan.FromMinutes(1));
            var active = await MeshProcesses.MeshAsync(Cli, "failover", "--group", "billing", "--from", from, "--to", to, "--dir", mesh.Dir);
            Assert.True(active.ExitCode == 2 && active.Stderr.Contains("is active in"), active.ToString());
            Assert.Equal(before, Committed(mesh.Local.Bootstrap(to), "billing"));
            member.Close();
        }

        await mesh.Local.KillAsync(Regions[2], silo: false, kafka: true);
        var down = await MeshProcesses.MeshAsync(Cli, "failover", "--group", "billing", "--from", from, "--to", Regions[2], "--dir", mesh.Dir);
        Assert.True(down.ExitCode == 3, down.ToString());
    }

    [Fact]
    public async Task Silos_keep_a_groups_offsets_translated_in_the_other_regions_and_it_resumes_there_without_loss_when_its_region_dies()
    {
        var file = Path.Combine(Path.GetTempPath(), $"mesh-offsets-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, $"""
            name: offsets
            version: 1
            naming: identity
            pattern: mesh
            regions:
              {Regions[0]}: {"{}"}
              {Regions[1]}: {"{}"}
              {Regions[2]}: {"{}"}
            offsets:
              groups: [payments, "ignored-.*"]
              intervalSeconds: 1
            """);
        await using var mesh = TestMesh.InNewFolder("offsync");
        try
        {
            var up = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(4),
                "local", "up", "--topology", file, "--partitions", "3", "--topics", Topic, "--dir", mesh.Dir);
            Assert.True(up.ExitCode == 0, $"mesh local up failed: {up}");
            await ProduceEverywhereAtOnceAsync(mesh);
            var active = Regions[0];

            // The group consumes in its region and stays a member there.
            using var member = Subscribe(mesh.Local.Bootstrap(active), "payments");
            var processed = ConsumePart(member, (_, high) => high / 3);

            // Each other region's silos commit the translation of what the group committed (the CLI's dry run computes the same).
            foreach (var region in Regions.Skip(1))
            {
                var expected = await FailoverAsync(mesh, "payments", active, region, "--dry-run");
                await Eventually.WaitAsync($"payments' offsets in {region} to be {Describe(expected)}",
                    () => Task.FromResult(Committed(mesh.Local.Bootstrap(region), "payments")),
                    committed => expected.Partitions.All(p => committed.GetValueOrDefault(p.Partition, -1) == p.ToOffset),
                    TimeSpan.FromMinutes(2), committed => string.Join(", ", committed.Select(c => $"{c.Key}: {c.Value}")));
            }
            foreach (var region in Regions.Skip(1))
            {
                using var stream = new FileStream(mesh.Local.Paths.SiloLog(region, 1), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                var log = await new StreamReader(stream).ReadToEndAsync();
                Assert.Contains($"Group payments: offsets translated from {active} and committed in {region}", log);
            }
            var bound = (await FailoverAsync(mesh, "payments", active, Regions[1], "--dry-run")).Redelivered;
            member.Close();

            // The group's region dies without warning; it resumes in the next one from what the silos committed there.
            await mesh.Local.KillAsync(active, silo: true, kafka: true);
            var next = Regions[1];
            var resumed = ReadFromCommitted(mesh.Local.Bootstrap(next), "payments");
            var held = TestTraffic.ReadAll(mesh.Local.Bootstrap(next), Topic, TimeSpan.FromMinutes(1));
            var lost = held.Select(r => r.Value!).Where(v => !processed.Contains(v) && !resumed.Contains(v)).ToList();
            Assert.True(lost.Count == 0, $"{lost.Count} records of {next} neither processed in {active} nor delivered after it died, e.g. {string.Join(", ", lost.Take(5))}");
            Assert.Equal(bound, resumed.Count(processed.Contains));
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task ProduceEverywhereAtOnceAsync(TestMesh mesh)
    {
        await Task.WhenAll(Regions.Select(r => Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap(r), r, Topic, PerRegion, keys: 50, recordsPerSecond: 400))));
        var check = await mesh.WaitAndCheckAsync(Topic, Regions.ToDictionary(r => r, _ => PerRegion), TimeSpan.FromMinutes(3));
        Assert.True(check.Ok, "replicas differ:\n" + string.Join("\n", check.Problems));
    }

    private sealed record Report(bool DryRun, IReadOnlyList<(int Partition, long FromOffset, long ToOffset, long Redelivered)> Partitions, long Redelivered, long Uncertain);

    private static async Task<Report> FailoverAsync(TestMesh mesh, string group, string from, string to, params string[] extra)
    {
        var result = await MeshProcesses.MeshAsync(Cli, ["failover", "--group", group, "--from", from, "--to", to, "--json", "--dir", mesh.Dir, .. extra]);
        Assert.True(result.ExitCode == 0, $"mesh failover {group} {from} -> {to} {string.Join(' ', extra)}: {result}");
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        Assert.Equal(group, root.GetProperty("group").GetString());
        var partitions = root.GetProperty("partitions").EnumerateArray()
            .Select(p => (p.GetProperty("partition").GetInt32(), p.GetProperty("fromOffset").GetInt64(), p.GetProperty("toOffset").GetInt64(), p.GetProperty("redelivered").GetInt64()))
            .OrderBy(p => p.Item1).ToList();
        return new Report(root.GetProperty("dryRun").GetBoolean(), partitions, root.GetProperty("redelivered").GetInt64(), root.GetProperty("uncertain").GetInt64());
    }

    private static string Describe(Report report) => string.Join(", ", report.Partitions.Select(p => $"{p.Partition}: {p.ToOffset}"));

    private static IConsumer<string?, string?> Subscribe(string bootstrap, string group, int? sessionTimeoutMs = null)
    {
        var consumer = new ConsumerBuilder<string?, string?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = group,
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnablePartitionEof = true,
            SessionTimeoutMs = sessionTimeoutMs,
        }).SetLogHandler((_, _) => { }).Build();
        consumer.Subscribe(Topic);
        return consumer;
    }

    private static bool Poll(IConsumer<string?, string?> consumer)
    {
        consumer.Consume(200);
        return consumer.Assignment.Count > 0;
    }

    /// <summary>A group member reads each partition up to <paramref name="quota"/> of its end offset, commits explicitly, and leaves.</summary>
    /// <summary>Per partition, the first offset at which the two regions hold different records (-1 when they hold the same order).</summary>
    private static Dictionary<int, long> FirstDifference(string one, string other)
    {
        var a = TestTraffic.ReadAll(one, Topic, TimeSpan.FromMinutes(1)).GroupBy(r => r.Partition).ToDictionary(g => g.Key, g => g.OrderBy(r => r.Offset).Select(r => r.Value).ToList());
        var b = TestTraffic.ReadAll(other, Topic, TimeSpan.FromMinutes(1)).GroupBy(r => r.Partition).ToDictionary(g => g.Key, g => g.OrderBy(r => r.Offset).Select(r => r.Value).ToList());
        return Enumerable.Range(0, 3).ToDictionary(p => p, p =>
        {
            var x = a.GetValueOrDefault(p) ?? [];
            var y = b.GetValueOrDefault(p) ?? [];
            for (var i = 0; i < Math.Min(x.Count, y.Count); i++)
                if (x[i] != y[i]) return (long)i;
            return -1L;
        });
    }

    private static HashSet<string> ConsumePart(string bootstrap, string group, Func<int, long, long> quota)
    {
        using var consumer = Subscribe(bootstrap, group);
        var processed = ConsumePart(consumer, quota);
        consumer.Close();
        return processed;
    }

    /// <summary>Reads each partition up to <paramref name="quota"/> of its end offset and commits; the member stays.</summary>
    private static HashSet<string> ConsumePart(IConsumer<string?, string?> consumer, Func<int, long, long> quota)
    {
        var processed = new HashSet<string>();
        var ends = Enumerable.Range(0, 3).ToDictionary(p => p, p => consumer.QueryWatermarkOffsets(new TopicPartition(Topic, p), TimeSpan.FromSeconds(10)).High.Value);
        var next = ends.ToDictionary(e => e.Key, _ => 0L);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (next.Any(n => n.Value < quota(n.Key, ends[n.Key])))
        {
            Assert.True(DateTime.UtcNow < deadline, $"consuming: reached {string.Join(", ", next.Select(n => $"{n.Key}: {n.Value}/{quota(n.Key, ends[n.Key])}"))}");
            var r = consumer.Consume(200);
            if (r is null || r.IsPartitionEOF) continue;
            var p = r.Partition.Value;
            if (r.Offset.Value >= quota(p, ends[p]))
            {
                // Past this partition's share: come back to it here, and stop reading it.
                consumer.Seek(new TopicPartitionOffset(r.TopicPartition, quota(p, ends[p])));
                consumer.Pause([r.TopicPartition]);
                continue;
            }
            processed.Add(r.Message.Value!);
            next[p] = r.Offset.Value + 1;
        }
        consumer.Commit(next.Select(n => new TopicPartitionOffset(Topic, n.Key, n.Value)));
        return processed;
    }

    /// <summary>A new member of the group reads from its committed offsets to each partition's end, commits nothing, and leaves.</summary>
    /// <remarks>
    /// It leaves, but the embedded Kafka keeps it a member until its session times out (librdkafka 2.16 clears its
    /// member id before it sends LeaveGroup, by its debug log, and the mock removes no one): the next member to join waits
    /// that long. A 10 s session, not the default 45 s, lets the group be joined again 10 s after this one read.
    /// </remarks>
    private static List<string> ReadFromCommitted(string bootstrap, string group)
    {
        using var consumer = Subscribe(bootstrap, group, sessionTimeoutMs: 10_000);
        var ends = Enumerable.Range(0, 3).ToDictionary(p => p, p => consumer.QueryWatermarkOffsets(new TopicPartition(Topic, p), TimeSpan.FromSeconds(10)).High.Value);
        var done = new HashSet<int>();
        var values = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (done.Count < 3)
        {
            Assert.True(DateTime.UtcNow < deadline, $"reading {group} to the end: partitions done {string.Join(",", done)}");
            var r = consumer.Consume(200);
            if (r is null) continue;
            if (r.IsPartitionEOF)
            {
                if (r.Offset.Value >= ends[r.Partition.Value]) done.Add(r.Partition.Value);
                continue;
            }
            values.Add(r.Message.Value!);
            if (r.Offset.Value >= ends[r.Partition.Value] - 1) done.Add(r.Partition.Value);
        }
        consumer.Close();
        return values;
    }

    private static Dictionary<int, long> Committed(string bootstrap, string group)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = group }).SetLogHandler((_, _) => { }).Build();
        return consumer.Committed(Enumerable.Range(0, 3).Select(p => new TopicPartition(Topic, p)), TimeSpan.FromSeconds(15))
            .Where(c => c.Offset.Value >= 0).ToDictionary(c => c.Partition.Value, c => c.Offset.Value);
    }
}
