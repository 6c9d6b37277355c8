using System.Text.Json.Serialization;

namespace Mesh.Client.Bench;

/// <summary>
/// <c>mesh bench</c>'s figures as one flat object for scripts (<c>--json</c>, snake_case names fixed by issue 15). Rates are
/// records/s from the first record's arrival in the destination to the last's; latencies are milliseconds from the send
/// to the arrival in the destination. A figure of a measure that was skipped (<c>--rtt-ms 0</c>, <c>--scale-partitions 0</c>)
/// is null. The scale figures keep their <c>_10000_partitions</c> names whatever the size: <see cref="ScalePartitions"/>
/// says how many partitions they were measured with.
/// </summary>
public sealed record ReplicationBenchReport
{
    [JsonPropertyName("records")] public required int Records { get; init; }
    [JsonPropertyName("partitions")] public required int Partitions { get; init; }
    [JsonPropertyName("record_bytes")] public required int RecordBytes { get; init; }

    [JsonPropertyName("baseline_records_per_s")] public required double BaselineRecordsPerSecond { get; init; }
    [JsonPropertyName("baseline_mb_per_s")] public required double BaselineMegabytesPerSecond { get; init; }
    [JsonPropertyName("mesh_records_per_s")] public required double MeshRecordsPerSecond { get; init; }
    [JsonPropertyName("mesh_mb_per_s")] public required double MeshMegabytesPerSecond { get; init; }
    /// <summary>From starting the destination's silos until it held the whole backlog (silo start and first fetches included).</summary>
    [JsonPropertyName("mesh_catchup_seconds_from_start")] public required double MeshCatchUpSecondsFromStart { get; init; }
    [JsonPropertyName("catchup_ratio")] public required double CatchUpRatio { get; init; }
    /// <summary>The same backlog drained by a destination silo already running: its link paused, the backlog produced, the link resumed.</summary>
    [JsonPropertyName("mesh_warm_records_per_s")] public required double MeshWarmRecordsPerSecond { get; init; }
    [JsonPropertyName("warm_catchup_ratio")] public required double WarmCatchUpRatio { get; init; }

    /// <summary>The rate both steady measures sent at: half the mesh's catch-up rate, capped.</summary>
    [JsonPropertyName("steady_records_per_s")] public required double SteadyRecordsPerSecond { get; init; }
    [JsonPropertyName("steady_records")] public required int SteadyRecords { get; init; }
    [JsonPropertyName("mesh_p50_ms")] public required double MeshP50Ms { get; init; }
    [JsonPropertyName("mesh_p99_ms")] public required double MeshP99Ms { get; init; }
    [JsonPropertyName("mesh_p999_ms")] public required double MeshP999Ms { get; init; }
    [JsonPropertyName("mesh_max_ms")] public required double MeshMaxMs { get; init; }
    [JsonPropertyName("baseline_p50_ms")] public required double BaselineP50Ms { get; init; }
    [JsonPropertyName("baseline_p99_ms")] public required double BaselineP99Ms { get; init; }
    [JsonPropertyName("baseline_p999_ms")] public required double BaselineP999Ms { get; init; }
    [JsonPropertyName("baseline_max_ms")] public required double BaselineMaxMs { get; init; }
    [JsonPropertyName("p99_ratio")] public required double P99Ratio { get; init; }

    [JsonPropertyName("rtt_ms")] public required int RttMs { get; init; }
    [JsonPropertyName("mesh_rtt_records_per_s")] public required double? MeshRttRecordsPerSecond { get; init; }
    [JsonPropertyName("rtt_ratio")] public required double? RttRatio { get; init; }

    [JsonPropertyName("scale_partitions")] public required int ScalePartitions { get; init; }
    /// <summary>How long the scale measure's silo kept an idle partition on its reader's hot lane (the idle figures are of the cold lane).</summary>
    [JsonPropertyName("cold_after_seconds")] public int ColdAfterSeconds { get; init; }
    /// <summary>Brokers of each embedded Kafka of the scale measure; null without a scale measure.</summary>
    [JsonPropertyName("scale_brokers")] public int? ScaleBrokers { get; init; }
    /// <summary>From starting the silo until a record waiting in every partition had arrived; null when not within the scale deadline (see <see cref="ScalePartitionsReplicated"/>).</summary>
    [JsonPropertyName("start_seconds_10000_partitions")] public required double? StartSeconds { get; init; }
    /// <summary>Partitions whose record had arrived when the start was timed (all of them, or as many as within the deadline).</summary>
    [JsonPropertyName("scale_partitions_replicated")] public long? ScalePartitionsReplicated { get; init; }
    [JsonPropertyName("idle_cpu_pct_10000_partitions")] public required double? IdleCpuPercent { get; init; }
    [JsonPropertyName("rss_idle_mib_10000_partitions")] public required double? IdleRssMib { get; init; }
    /// <summary>The silo's peak resident memory while a load across every partition is sent and replicated.</summary>
    [JsonPropertyName("rss_mib_10000_partitions")] public required double? LoadRssMib { get; init; }
    [JsonPropertyName("load_cpu_pct_10000_partitions")] public required double? LoadCpuPercent { get; init; }
    [JsonPropertyName("load_records_10000_partitions")] public required int? LoadRecords { get; init; }
    /// <summary>
    /// Of the load, how many had arrived when the bench stopped waiting: all of them (and counted in <see cref="RecordsChecked"/>), or fewer when
    /// the silo had not replicated them within the deadline (none arrived twice; they are then not counted as checked).
    /// </summary>
    [JsonPropertyName("load_records_arrived_10000_partitions")] public long? LoadRecordsArrived { get; init; }

    /// <summary>Records the bench read back from a destination and found there exactly once, over every measure.</summary>
    [JsonPropertyName("records_checked")] public required long RecordsChecked { get; init; }
    [JsonPropertyName("targets")] public required IReadOnlyList<BenchTarget> Targets { get; init; }
    [JsonPropertyName("duration_seconds")] public required double DurationSeconds { get; init; }

    public const double MinCatchUpRatio = 0.85;
    public const double MaxP99Ratio = 2.0;
    public const double MinRttRatio = 0.8;
    public const double MaxIdleCpuPercent = 5.0;
    public const double MaxRssMib = 1024;
    public const double MaxStartSeconds = 15;

    /// <summary>Issue 15's targets for the figures this run measured (reported, not asserted).</summary>
    /// <param name="notReachedAfter">The scale measure's deadline when not every partition replicated within it (the start's target, not met, shows it as its value).</param>
    public static IReadOnlyList<BenchTarget> TargetsOf(double catchUpRatio, double warmCatchUpRatio, double p99Ratio, double? rttRatio, double? idleCpu, double? rss, double? start,
        double? notReachedAfter = null)
    {
        var targets = new List<BenchTarget>
        {
            AtLeast("mesh catch-up at 0.85x the bare pipe or faster", "catchup_ratio", MinCatchUpRatio, catchUpRatio),
            AtLeast("mesh catch-up by a running silo at 0.85x the bare pipe or faster", "warm_catchup_ratio", MinCatchUpRatio, warmCatchUpRatio),
            AtMost("steady p99 latency at most 2x the bare pipe's", "p99_ratio", MaxP99Ratio, p99Ratio),
        };
        if (rttRatio is { } rtt) targets.Add(AtLeast("catch-up with the added round-trip time at 0.8x the 0 ms rate or faster", "rtt_ratio", MinRttRatio, rtt));
        if (idleCpu is { } cpu) targets.Add(AtMost("one silo's idle partitions take at most 5% of one core", "idle_cpu_pct_10000_partitions", MaxIdleCpuPercent, cpu));
        if (rss is { } memory) targets.Add(AtMost("one silo under load across every partition stays within 1 GiB", "rss_mib_10000_partitions", MaxRssMib, memory));
        if ((start ?? notReachedAfter) is { } seconds)
            targets.Add(AtMost("every partition replicating within 15 s of the silo's start", "start_seconds_10000_partitions", MaxStartSeconds, seconds));
        return targets;
    }

    private static BenchTarget AtLeast(string name, string figure, double threshold, double value) => new(name, figure, ">=", threshold, value, value >= threshold);

    private static BenchTarget AtMost(string name, string figure, double threshold, double value) => new(name, figure, "<=", threshold, value, value <= threshold);

    /// <summary><paramref name="part"/> / <paramref name="whole"/>, rounded; 0 when the whole is 0.</summary>
    public static double Ratio(double part, double whole) => whole <= 0 ? 0 : Math.Round(part / whole, 3);
}
