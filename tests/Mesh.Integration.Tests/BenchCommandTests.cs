using System.Text.Json;
using Mesh.Client.Bench;
using Mesh.Client.Local;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// <c>mesh bench backup</c> through the real command line: a tiny run measures every figure it reports
/// (sane values, the records all accounted for); parameters it cannot run with are refused before anything starts.
/// </summary>
public sealed class BenchCommandTests
{
    private const int Records = 2000;

    [Fact]
    public async Task A_tiny_backup_bench_reports_every_figure_with_sane_values()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mesh-tests", $"bench-{Guid.NewGuid():N}"[..14]);
        try
        {
            var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(5),
                "bench", "backup", "--json", "--records", $"{Records}", "--partitions", "2", "--record-bytes", "100", "--restore", "--dir", dir);
            Assert.True(result.ExitCode == 0, result.ToString());
            using var document = JsonDocument.Parse(result.Stdout);
            var report = document.RootElement;

            var parameters = report.GetProperty("parameters");
            Assert.Equal(Records, parameters.GetProperty("records").GetInt32());
            Assert.Equal(2, parameters.GetProperty("partitions").GetInt32());
            Assert.Equal(100, parameters.GetProperty("recordBytes").GetInt32());

            foreach (var name in new[] { "replication", "bareRead", "backup", "restore" })
                Assert.True(report.GetProperty(name).GetProperty("records").GetInt64() == Records, $"{name}.records is not {Records}\n{result}");
            var replication = report.GetProperty("replication");
            Positive(replication, "seconds", "recordsPerSecond", "siloStartSeconds", "firstRecordSeconds", "streamingRecordsPerSecond", "produceSeconds");
            Assert.True(replication.GetProperty("siloStartSeconds").GetDouble() <= replication.GetProperty("firstRecordSeconds").GetDouble(), result.ToString());
            Assert.True(replication.GetProperty("firstRecordSeconds").GetDouble() <= replication.GetProperty("seconds").GetDouble(), result.ToString());
            Assert.True(replication.GetProperty("streamingRecordsPerSecond").GetDouble() >= replication.GetProperty("recordsPerSecond").GetDouble(), result.ToString());

            var bare = report.GetProperty("bareRead");
            Positive(bare, "seconds", "recordsPerSecond", "megabytesPerSecond");
            Assert.Equal(Records * 100L, bare.GetProperty("bytes").GetInt64());

            var backup = report.GetProperty("backup");
            Positive(backup, "seconds", "applySeconds", "recordsPerSecond", "megabytesPerSecond", "compressionRatio", "ratioToBareRead");
            Assert.True(backup.GetProperty("segments").GetInt32() >= 2, $"two partitions make at least two segments\n{result}");
            // The same records the bare read counted; the segments add their framing; the bench's text compresses.
            Assert.Equal(Records * 100L, backup.GetProperty("bytesRecords").GetInt64());
            Assert.True(backup.GetProperty("bytesRaw").GetInt64() > Records * 100L, result.ToString());
            Assert.True(backup.GetProperty("compressionRatio").GetDouble() > 1.0, $"the backup's segments did not compress\n{result}");
            Assert.Equal(Math.Round(backup.GetProperty("bytesRaw").GetDouble() / backup.GetProperty("bytesStored").GetDouble(), 3),
                backup.GetProperty("compressionRatio").GetDouble(), 3);

            var live = report.GetProperty("replicationWithBackup");
            Assert.Equal(Records, live.GetProperty("replication").GetProperty("records").GetInt64());
            Positive(live.GetProperty("replication"), "seconds", "recordsPerSecond", "streamingRecordsPerSecond");
            Assert.Equal(JsonValueKind.Number, live.GetProperty("streamingSlowdown").ValueKind);
            Assert.Equal(Records, live.GetProperty("backedUp").GetInt64());
            Assert.Equal(JsonValueKind.Number, live.GetProperty("backupLagSeconds").ValueKind);
            var expectedSlowdown = 1 - live.GetProperty("replication").GetProperty("recordsPerSecond").GetDouble() / replication.GetProperty("recordsPerSecond").GetDouble();
            Assert.Equal(expectedSlowdown, live.GetProperty("slowdown").GetDouble(), 2);
            // The standbys' reading gave way to replication and came after it: the bench waited for it and says when it ended.
            Assert.Equal(JsonValueKind.Number, live.GetProperty("standbyCaughtUpSeconds").ValueKind);
            var pair = Assert.Single(live.GetProperty("pairs").EnumerateArray());
            Assert.Equal(replication.GetProperty("seconds").GetDouble(), pair.GetProperty("without").GetProperty("seconds").GetDouble());
            Assert.Equal(live.GetProperty("replication").GetProperty("seconds").GetDouble(), pair.GetProperty("with").GetProperty("seconds").GetDouble());
            Assert.Equal(live.GetProperty("slowdown").GetDouble(), pair.GetProperty("slowdown").GetDouble());
            Assert.Equal(1, parameters.GetProperty("pairs").GetInt32());

            var restore = report.GetProperty("restore");
            Positive(restore, "seconds", "recordsPerSecond");
            Assert.Equal("r2", restore.GetProperty("region").GetString());

            var targets = report.GetProperty("targets").EnumerateArray().ToList();
            Assert.Equal(["backup.ratioToBareRead", "replicationWithBackup.slowdown"], targets.Select(t => t.GetProperty("figure").GetString()));
            Assert.Equal(0.8, targets[0].GetProperty("threshold").GetDouble());
            Assert.Equal(backup.GetProperty("ratioToBareRead").GetDouble(), targets[0].GetProperty("value").GetDouble());
            Assert.Equal(targets[0].GetProperty("value").GetDouble() >= 0.8, targets[0].GetProperty("met").GetBoolean());
            Assert.Equal(0.1, targets[1].GetProperty("threshold").GetDouble());
            Assert.Equal(targets[1].GetProperty("value").GetDouble() <= 0.1, targets[1].GetProperty("met").GetBoolean());
            Positive(report, "durationSeconds");

            Assert.False(new LocalMesh(dir).IsKafkaRunning("r1"), "the bench left r1's Kafka running");
            Assert.False(new LocalMesh(dir).IsSiloRunning("r2"), "the bench left r2's silos running");
        }
        finally
        {
            // The bench stops its regions itself; this is for a run the timeout cut short.
            await new LocalMesh(dir).DownAsync();
            if (Environment.GetEnvironmentVariable("MESH_KEEP_TEST_DIRS") != "1")
                try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [Theory]
    [InlineData("--records 1000000 --partitions 8 --record-bytes 100", "put 27.18 MB in each replicated partition", "Fix: --partitions 55 or more")]
    [InlineData("--records 500000 --partitions 4 --record-bytes 30", "put 125000 in each partition", "Fix: --partitions 5 or more")]
    [InlineData("--record-bytes 10", "--record-bytes must be from 30", "the key and header alone take 22")]
    [InlineData("--records 10 --partitions 0", "--records must be from 1000", "--partitions must be from 1 to 256, not 0")]
    [InlineData("--pairs 9 --records 2000", "--pairs must be from 1 to 5", "not 9")]
    [InlineData("--records many", "many", "mesh bench backup --help")]
    public async Task A_bench_that_cannot_run_says_why_and_exits_2_before_starting_anything(string args, string message, string more)
    {
        var dir = Path.Combine(Path.GetTempPath(), "mesh-tests", $"bench-bad-{Guid.NewGuid():N}"[..18]);
        var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), ["bench", "backup", .. args.Split(' '), "--dir", dir]);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.Stderr);
        Assert.Contains(more, result.Stderr);
        Assert.False(Directory.Exists(dir), "the bench created its folder although its options were refused");
    }

    private static void Positive(JsonElement element, params string[] names)
    {
        foreach (var name in names)
            Assert.True(element.GetProperty(name).GetDouble() > 0, $"{name} is {element.GetProperty(name)}, not positive, in {element}");
    }

    [Fact]
    public void The_slowdown_over_several_pairs_is_their_median_so_one_noisy_measure_does_not_decide_it()
    {
        Assert.Equal(0.05, LiveFigures.Median([0.40, 0.05, 0.02]));
        Assert.Equal(0.035, LiveFigures.Median([0.05, 0.02]));
        var without = new ReplicationFigures(100, 10, 10, 1, 2, 12, 1);
        ReplicationPair Pair(double slowdown, double streaming) =>
            new(without, without with { Seconds = 10 / (1 - slowdown) }, slowdown, streaming, 100, 1.5, 2.5);
        var live = LiveFigures.Of([Pair(0.30, 0.35), Pair(0.04, 0.06), Pair(0.08, 0.02)]);
        Assert.Equal(0.08, live.Slowdown);
        Assert.Equal(0.06, live.StreamingSlowdown);
        // The first pair's own figures are what the report shows beside the medians.
        Assert.Equal(10 / 0.7, live.Replication.Seconds, 6);
        Assert.Equal(3, live.Pairs.Count);
    }
}
