using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

namespace Mesh.Client.Bench;

/// <summary><c>mesh bench</c>'s report as the <c>--json</c> object, or as a table for people.</summary>
public static class ReplicationBenchOutput
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        // The report's own names are fixed by attributes; the targets' follow them.
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Json(ReplicationBenchReport report) => JsonSerializer.Serialize(report, JsonOptions);

    /// <summary>One row per figure: the mesh's, the bare pipe's, their ratio, and the target.</summary>
    public static Table Table(ReplicationBenchReport r)
    {
        var table = new Table()
            .Title(Markup.Escape($"mesh bench: {Number(r.Records)} records x {Number(r.RecordBytes)} bytes, {r.Partitions} partitions, r1 -> r2"))
            .AddColumns("figure", "mesh", "bare pipe", "ratio", "target");
        table.AddRow("catch-up, silo started, records/s", Number(r.MeshRecordsPerSecond), Number(r.BaselineRecordsPerSecond), Verdict(r, "catchup_ratio"), ">= 0.85x pipe");
        table.AddRow("catch-up, silo running, records/s", Number(r.MeshWarmRecordsPerSecond), Number(r.BaselineRecordsPerSecond), Verdict(r, "warm_catchup_ratio"),
            ">= 0.85x pipe");
        table.AddRow("catch-up, silo started, MB/s", Decimal(r.MeshMegabytesPerSecond, "0.0"), Decimal(r.BaselineMegabytesPerSecond, "0.0"), "", "");
        table.AddRow("steady, records/s", Number(r.SteadyRecordsPerSecond), Number(r.SteadyRecordsPerSecond), "", "half the catch-up");
        table.AddRow("steady p50, ms", Decimal(r.MeshP50Ms, "0.0"), Decimal(r.BaselineP50Ms, "0.0"), "", "");
        table.AddRow("steady p99, ms", Decimal(r.MeshP99Ms, "0.0"), Decimal(r.BaselineP99Ms, "0.0"), Verdict(r, "p99_ratio"), "<= 2x pipe");
        table.AddRow("steady p99.9, ms", Decimal(r.MeshP999Ms, "0.0"), Decimal(r.BaselineP999Ms, "0.0"), "", "");
        table.AddRow("steady max, ms", Decimal(r.MeshMaxMs, "0.0"), Decimal(r.BaselineMaxMs, "0.0"), "", "");
        table.AddRow(r.RttMs > 0 ? Markup.Escape($"catch-up at {r.RttMs} ms RTT") : "catch-up with RTT", r.MeshRttRecordsPerSecond is { } wan ? Number(wan) : "skipped", "",
            r.RttRatio is null ? "" : Verdict(r, "rtt_ratio"), ">= 0.8x 0 ms");
        table.AddRow(r.ScalePartitions > 0 ? Markup.Escape($"{Number(r.ScalePartitions)} partitions ({r.ScaleBrokers} broker{(r.ScaleBrokers == 1 ? "" : "s")}): start, s") : "one silo's start, s",
            r.StartSeconds is not null ? Verdict(r, "start_seconds_10000_partitions")
                : r.ScalePartitionsReplicated is { } replicated ? $"[red]{Number(replicated)} after {Verdict(r, "start_seconds_10000_partitions")}[/]" : "skipped", "", "", "<= 15 s");
        table.AddRow("  idle CPU, % of a core", r.IdleCpuPercent is null ? "skipped" : Verdict(r, "idle_cpu_pct_10000_partitions"), "", "", "<= 5%");
        table.AddRow("  RSS idle / load, MiB", r.IdleRssMib is not { } idleRss ? "skipped"
            : r.LoadRssMib is null ? Decimal(idleRss, "0") : $"{Decimal(idleRss, "0")} / {Verdict(r, "rss_mib_10000_partitions")}", "", "", "<= 1 GiB");
        if (r.LoadCpuPercent is { } loadCpu)
            table.AddRow("  CPU under load, %", Decimal(loadCpu, "0.0"), "", "",
                Markup.Escape($"{Number(r.LoadRecords ?? 0)} records" + (r.LoadRecordsArrived < r.LoadRecords ? $", {Number(r.LoadRecordsArrived ?? 0)} arrived" : "")));
        table.Caption(Markup.Escape($"{Number(r.RecordsChecked)} records checked, each arrived once; whole run {Decimal(r.DurationSeconds, "0.0")} s; " +
                                    "green: target met, red: not met (reported, not asserted)"));
        return table;
    }

    private static string Verdict(ReplicationBenchReport report, string figure)
    {
        var target = report.Targets.First(t => t.Figure == figure);
        var value = Markup.Escape(target.Value.ToString(target.Value >= 100 ? "N0" : "0.00", CultureInfo.InvariantCulture));
        return target.Met ? $"[green]{value}[/]" : $"[red]{value}[/]";
    }

    private static string Number(double n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Decimal(double n, string format = "0.00") => n.ToString(format, CultureInfo.InvariantCulture);
}
