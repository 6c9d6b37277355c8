using System.Text.Json;
using Mesh.Client.Bench;
using Mesh.Client.Local;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// <c>mesh bench</c> (the replication bench) through the real command line: a tiny run reports every figure issue 15
/// names, with the records of every measure accounted for; parameters it cannot run with are refused before anything starts.
/// The pure parts (sizing, rates, CPU from ticks, the JSON's names) are checked without processes at the end.
/// </summary>
public sealed class ReplicationBenchCommandTests
{
    private const int Records = 2000;
    private const int ScalePartitions = 100;

    [Fact]
    public async Task A_tiny_replication_bench_reports_every_figure_and_checks_every_record()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mesh-tests", $"rbench-{Guid.NewGuid():N}"[..15]);
        try
        {
            var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(4),
                "bench", "--json", "--records", $"{Records}", "--partitions", "4", "--record-bytes", "100", "--rtt-ms", "20",
                "--scale-partitions", $"{ScalePartitions}", "--scale-brokers", "2", "--sample-seconds", "2", "--cold-after-seconds", "3", "--dir", dir);
            Assert.True(result.ExitCode == 0, result.ToString());
            using var document = JsonDocument.Parse(result.Stdout);
            var report = document.RootElement;

            foreach (var name in new[]
                     {
                         "baseline_records_per_s", "mesh_records_per_s", "catchup_ratio", "mesh_warm_records_per_s", "warm_catchup_ratio", "mesh_p99_ms", "baseline_p99_ms", "rtt_ratio",
                         "idle_cpu_pct_10000_partitions", "rss_mib_10000_partitions", "start_seconds_10000_partitions", "records_checked",
                     })
                Assert.True(report.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number, $"{name} is missing or not a number\n{result}");
            Positive(report, "baseline_records_per_s", "baseline_mb_per_s", "mesh_records_per_s", "mesh_mb_per_s", "mesh_catchup_seconds_from_start",
                "steady_records_per_s", "mesh_p50_ms", "mesh_p99_ms", "mesh_max_ms", "baseline_p50_ms", "baseline_p99_ms", "baseline_max_ms",
                "mesh_rtt_records_per_s", "rtt_ratio", "start_seconds_10000_partitions", "idle_cpu_pct_10000_partitions",
                "rss_idle_mib_10000_partitions", "rss_mib_10000_partitions", "duration_seconds");
            Assert.Equal(Records, report.GetProperty("records").GetInt32());
            Assert.Equal(20, report.GetProperty("rtt_ms").GetInt32());
            Assert.Equal(ScalePartitions, report.GetProperty("scale_partitions").GetInt32());
            Assert.Equal(3, report.GetProperty("cold_after_seconds").GetInt32());
            Assert.Equal(2, report.GetProperty("scale_brokers").GetInt32());

            // The ratios are of the figures beside them (rounded to three decimals).
            foreach (var (ratio, part, whole) in new[]
                     {
                         ("catchup_ratio", "mesh_records_per_s", "baseline_records_per_s"),
                         ("warm_catchup_ratio", "mesh_warm_records_per_s", "baseline_records_per_s"), ("p99_ratio", "mesh_p99_ms", "baseline_p99_ms"),
                         ("rtt_ratio", "mesh_rtt_records_per_s", "mesh_records_per_s"),
                     })
                Assert.Equal(report.GetProperty(part).GetDouble() / report.GetProperty(whole).GetDouble(), report.GetProperty(ratio).GetDouble(), 0.001);
            foreach (var (low, high) in new[] { ("mesh_p50_ms", "mesh_p99_ms"), ("mesh_p99_ms", "mesh_max_ms"), ("baseline_p50_ms", "baseline_p99_ms") })
                Assert.True(report.GetProperty(low).GetDouble() <= report.GetProperty(high).GetDouble(), $"{low} > {high}\n{result}");
            Assert.True(report.GetProperty("rss_idle_mib_10000_partitions").GetDouble() <= report.GetProperty("rss_mib_10000_partitions").GetDouble(),
                $"the peak under load is below the idle figure\n{result}");

            // Every measure's records, each found once: four backlogs (the pipe's, the mesh's started and running silo's, the
            // WAN one), two steady runs, one record per scale partition and the load.
            var steady = report.GetProperty("steady_records").GetInt32();
            Assert.Equal(ReplicationBenchRunner.Steady(report.GetProperty("mesh_records_per_s").GetDouble(), Records).Records, steady);
            var expected = 4L * Records + 2L * steady + ScalePartitions + ReplicationBenchRunner.ScaleLoad(ScalePartitions);
            Assert.Equal(expected, report.GetProperty("records_checked").GetInt64());
            Assert.Equal(ReplicationBenchRunner.ScaleLoad(ScalePartitions), report.GetProperty("load_records_10000_partitions").GetInt32());
            Assert.Equal(ReplicationBenchRunner.ScaleLoad(ScalePartitions), report.GetProperty("load_records_arrived_10000_partitions").GetInt32());
            Assert.Equal(ScalePartitions, report.GetProperty("scale_partitions_replicated").GetInt32());

            var targets = report.GetProperty("targets").EnumerateArray().ToList();
            Assert.Equal(["catchup_ratio", "warm_catchup_ratio", "p99_ratio", "rtt_ratio", "idle_cpu_pct_10000_partitions", "rss_mib_10000_partitions", "start_seconds_10000_partitions"],
                targets.Select(t => t.GetProperty("figure").GetString()));
            foreach (var target in targets)
            {
                var value = report.GetProperty(target.GetProperty("figure").GetString()!).GetDouble();
                Assert.Equal(value, target.GetProperty("value").GetDouble());
                var threshold = target.GetProperty("threshold").GetDouble();
                Assert.Equal(target.GetProperty("comparison").GetString() == ">=" ? value >= threshold : value <= threshold, target.GetProperty("met").GetBoolean());
            }

            // Progress went to standard error, not into the JSON; the regions were stopped.
            Assert.Contains("every partition replicated its record", result.Stderr);
            foreach (var mesh in new[] { "replication", "scale" })
                foreach (var region in new[] { "r1", "r2" })
                {
                    var local = new LocalMesh(Path.Combine(dir, mesh));
                    Assert.False(local.IsKafkaRunning(region) || local.IsSiloRunning(region), $"the bench left {mesh}'s {region} running");
                }
        }
        finally
        {
            // The bench stops its regions itself; this is for a run the timeout cut short.
            await new LocalMesh(Path.Combine(dir, "replication")).DownAsync();
            await new LocalMesh(Path.Combine(dir, "scale")).DownAsync();
            if (Environment.GetEnvironmentVariable("MESH_KEEP_TEST_DIRS") != "1")
                try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [Theory]
    [InlineData("--records 1000000 --partitions 8 --record-bytes 100", "put 27.18 MB in each replicated partition", "Fix: --partitions 55 or more")]
    [InlineData("--records 500000 --partitions 4 --record-bytes 50", "put 125000 in each partition", "Fix: --partitions 5 or more")]
    [InlineData("--record-bytes 30", "--record-bytes must be from 48", "not 30")]
    [InlineData("--rtt-ms -70 --cold-after-seconds 0", "--rtt-ms must be from 0", "--cold-after-seconds must be from 1 to 3600, not 0")]
    [InlineData("--scale-partitions -1 --sample-seconds 0", "--scale-partitions must be from 0 (no scale measure) to 20000, not -1", "--sample-seconds must be from 1")]
    [InlineData("--scale-brokers 0", "--scale-brokers must be from 1 to 5", "not 0")]
    [InlineData("--records -5 --partitions 0", "--records must be from 1000", "--partitions must be from 1 to 256, not 0")]
    [InlineData("--records many", "many", "mesh bench --help")]
    public async Task A_replication_bench_that_cannot_run_says_why_and_exits_2_before_starting_anything(string args, string message, string more)
    {
        var dir = Path.Combine(Path.GetTempPath(), "mesh-tests", $"rbench-bad-{Guid.NewGuid():N}"[..19]);
        var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), ["bench", .. args.Split(' '), "--dir", dir]);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.Stderr);
        Assert.Contains(more, result.Stderr);
        Assert.False(Directory.Exists(dir), "the bench created its folder although its options were refused");
    }

    [Fact]
    public async Task A_replication_bench_never_takes_over_a_folder_that_holds_a_mesh()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mesh-tests", $"rbench-held-{Guid.NewGuid():N}"[..20]);
        try
        {
            new LocalMeshState { Regions = [], Brokers = 1, Partitions = 1, Topics = [], Links = [] }.Save(Path.Combine(dir, ReplicationBenchRunner.ScaleMeshFolder));
            var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "bench", "--records", "2000", "--partitions", "4", "--dir", dir);
            Assert.True(result.ExitCode == 2, result.ToString());
            Assert.Contains("already holds a local mesh", result.Stderr);
            Assert.True(Directory.Exists(dir), "the bench removed a folder it was given");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public void The_steady_rate_is_half_the_catch_up_rate_capped_and_sends_about_ten_seconds_of_it_within_a_backlog()
    {
        Assert.Equal((15_000, 150_000), ReplicationBenchRunner.Steady(30_000, 200_000));
        Assert.Equal((ReplicationBenchRunner.MaxSteadyRecordsPerSecond, 200_000), ReplicationBenchRunner.Steady(90_000, 200_000));
        Assert.Equal((5_000, 2_000), ReplicationBenchRunner.Steady(10_000, 2_000));
        Assert.Equal((100, 1_000), ReplicationBenchRunner.Steady(50, 5_000));
        Assert.Equal(2_000, ReplicationBenchRunner.ScaleLoad(200));
        Assert.Equal(ReplicationBenchRunner.MaxScaleLoadRecords, ReplicationBenchRunner.ScaleLoad(50_000));
    }

    [Fact]
    public void The_paced_sender_sends_what_is_due_by_now_and_never_more_than_asked()
    {
        Assert.Equal(1, LatencyProbe.Due(TimeSpan.Zero, 1000, 10_000));
        Assert.Equal(501, LatencyProbe.Due(TimeSpan.FromMilliseconds(500), 1000, 10_000));
        Assert.Equal(10_000, LatencyProbe.Due(TimeSpan.FromSeconds(60), 1000, 10_000));
    }

    [Fact]
    public void Cpu_is_a_percentage_of_one_core_from_the_tick_deltas_and_memory_is_read_from_proc()
    {
        // USER_HZ 100: 50 ticks over 10 s is half a second of CPU, 5% of one core; two busy cores are 200%.
        Assert.Equal(5.0, SiloProcessSampler.CpuPercent(50, TimeSpan.FromSeconds(10)));
        Assert.Equal(200.0, SiloProcessSampler.CpuPercent(2_000, TimeSpan.FromSeconds(10)));
        Assert.Equal(0.0, SiloProcessSampler.CpuPercent(10, TimeSpan.Zero));
        Assert.Equal(25.0, SiloProcessSampler.CpuPercent(new ProcessSample(1_000, 0, TimeSpan.FromSeconds(2)), new ProcessSample(1_100, 0, TimeSpan.FromSeconds(6))));

        // The command name may hold spaces and parentheses; utime and stime are fields 14 and 15.
        const string stat = "4242 (dotnet (silo) x) S 1 4242 4242 0 -1 4194560 81234 0 12 0 1234 567 0 0 20 0 40 0 98765 3456789012 45678 18446744073709551615";
        Assert.Equal(1234 + 567, SiloProcessSampler.CpuTicksOf(stat));
        Assert.Equal(212_340, SiloProcessSampler.RssKibOf("Name:\tdotnet\nVmPeak:\t 9999 kB\nVmRSS:\t  212340 kB\nThreads:\t40\n"));
        Assert.Equal(207.4, SiloProcessSampler.Mib(212_340));

        // This process's own figures read as a live silo's would.
        var own = new SiloProcessSampler(Environment.ProcessId).Sample();
        Assert.True(own.CpuTicks > 0 && own.RssKib > 0, own.ToString());
    }

    [Fact]
    public void The_json_carries_issue_15s_names_and_a_skipped_measure_is_null_without_a_target()
    {
        var report = new ReplicationBenchReport
        {
            Records = 1000, Partitions = 2, RecordBytes = 100,
            BaselineRecordsPerSecond = 100_000, BaselineMegabytesPerSecond = 10, MeshRecordsPerSecond = 90_000, MeshMegabytesPerSecond = 9,
            MeshCatchUpSecondsFromStart = 3, CatchUpRatio = ReplicationBenchReport.Ratio(90_000, 100_000),
            MeshWarmRecordsPerSecond = 80_000, WarmCatchUpRatio = ReplicationBenchReport.Ratio(80_000, 100_000),
            SteadyRecordsPerSecond = 20_000, SteadyRecords = 1000,
            MeshP50Ms = 5, MeshP99Ms = 30, MeshP999Ms = 40, MeshMaxMs = 50, BaselineP50Ms = 4, BaselineP99Ms = 10, BaselineP999Ms = 12, BaselineMaxMs = 15,
            P99Ratio = ReplicationBenchReport.Ratio(30, 10),
            RttMs = 0, MeshRttRecordsPerSecond = null, RttRatio = null,
            ScalePartitions = 0, StartSeconds = null, IdleCpuPercent = null, IdleRssMib = null, LoadRssMib = null, LoadCpuPercent = null, LoadRecords = null,
            RecordsChecked = 4000,
            Targets = ReplicationBenchReport.TargetsOf(0.9, 0.8, 3.0, null, null, null, null),
            DurationSeconds = 30,
        };
        using var document = JsonDocument.Parse(ReplicationBenchOutput.Json(report));
        var json = document.RootElement;
        foreach (var name in new[] { "baseline_records_per_s", "mesh_records_per_s", "catchup_ratio", "mesh_p99_ms", "baseline_p99_ms", "records_checked" })
            Assert.Equal(JsonValueKind.Number, json.GetProperty(name).ValueKind);
        foreach (var name in new[] { "rtt_ratio", "idle_cpu_pct_10000_partitions", "rss_mib_10000_partitions", "start_seconds_10000_partitions" })
            Assert.Equal(JsonValueKind.Null, json.GetProperty(name).ValueKind);
        Assert.Equal(0.9, json.GetProperty("catchup_ratio").GetDouble());
        var targets = json.GetProperty("targets").EnumerateArray().ToList();
        Assert.Equal(["catchup_ratio", "warm_catchup_ratio", "p99_ratio"], targets.Select(t => t.GetProperty("figure").GetString()));
        Assert.Equal([true, false, false], targets.Select(t => t.GetProperty("met").GetBoolean()));
        Assert.Equal(0.0, ReplicationBenchReport.Ratio(5, 0));
        // The table renders a run with skipped measures too.
        var writer = new StringWriter();
        var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Out = new Spectre.Console.AnsiConsoleOutput(writer),
            Ansi = Spectre.Console.AnsiSupport.No,
            ColorSystem = Spectre.Console.ColorSystemSupport.NoColors,
        });
        console.Profile.Width = 160;
        console.Write(ReplicationBenchOutput.Table(report));
        Assert.Contains("skipped", writer.ToString());
        Assert.Contains("90,000", writer.ToString());
    }

    [Fact]
    public void A_scale_start_not_reached_within_its_deadline_is_a_target_not_met_that_shows_the_deadline()
    {
        var deadline = ReplicationBenchRunner.ScaleDeadline(10_000);
        Assert.Equal(TimeSpan.FromSeconds(360), deadline);
        var targets = ReplicationBenchReport.TargetsOf(1, 1, 1, null, 62, null, start: null, notReachedAfter: deadline.TotalSeconds);
        var start = Assert.Single(targets, t => t.Figure == "start_seconds_10000_partitions");
        Assert.Equal((360.0, false), (start.Value, start.Met));
        Assert.False(Assert.Single(targets, t => t.Figure == "idle_cpu_pct_10000_partitions").Met);
        Assert.DoesNotContain(targets, t => t.Figure == "rss_mib_10000_partitions");
        Assert.True(Assert.Single(ReplicationBenchReport.TargetsOf(1, 1, 1, null, 2, 300, 9.5), t => t.Figure == "start_seconds_10000_partitions").Met);
    }

    [Theory]
    [InlineData(200_000 / 1e6, 11.271, 0.0177)] // a busy machine's tiny backup: 0.2 MB in 11 s is not zero MB/s
    [InlineData(70_734.4, 1.0, 70_700.0)]
    [InlineData(131_305.0, 2.0, 65_700.0)]
    [InlineData(12.34, 1.0, 12.3)]
    [InlineData(0.0, 1.0, 0.0)]
    public void Rates_keep_three_significant_figures_so_a_small_one_is_not_rounded_to_zero(double amount, double seconds, double expected)
    {
        Assert.Equal(expected, BenchRounding.PerSecond(amount, TimeSpan.FromSeconds(seconds)), 9);
    }

    [Theory]
    [InlineData(46.0, 30.0, false)] // still falling: a reader moving its partitions to the cold lane
    [InlineData(30.0, 6.0, false)]
    [InlineData(6.0, 5.5, true)]
    [InlineData(5.5, 7.4, true)] // within 2 points
    [InlineData(50.0, 42.0, true)] // within a fifth
    [InlineData(0.0, 0.0, true)]
    public void The_idle_silo_counts_as_settled_once_two_windows_cost_alike(double previous, double current, bool settled)
    {
        Assert.Equal(settled, SiloProcessSampler.Settled(previous, current));
    }

    private static void Positive(JsonElement element, params string[] names)
    {
        foreach (var name in names)
            Assert.True(element.GetProperty(name).GetDouble() > 0, $"{name} is {element.GetProperty(name)}, not positive, in {element}");
    }
}
