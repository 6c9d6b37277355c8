using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

namespace Mesh.Client.Bench;

/// <summary>The bench's report as the <c>--json</c> object, or as a table for people.</summary>
public static class BackupBenchOutput
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        // ">=" and "<=" as written: the JSON is for people and scripts, never embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Json(BackupBenchReport report) => JsonSerializer.Serialize(report, JsonOptions);

    /// <summary>One row per measure: its rate, its time, and what it is measured against.</summary>
    public static Table Table(BackupBenchReport report)
    {
        var p = report.Parameters;
        var table = new Table()
            .Title(Markup.Escape($"mesh bench backup: {Number(p.Records)} records x {Number(p.RecordBytes)} bytes, {p.Partitions} partitions, {p.Regions[0]} -> {p.Regions[1]}"))
            .AddColumns("measure", "records/s", "MB/s", "seconds", "notes");
        var (replication, bare, backup, live) = (report.Replication, report.BareRead, report.Backup, report.ReplicationWithBackup);
        table.AddRow("replication, no backup", Rate(replication.RecordsPerSecond), "", Seconds(replication.Seconds),
            Markup.Escape($"from starting {p.Regions[1]}'s silos ({Seconds(replication.SiloStartSeconds)} s) to {p.Regions[1]} holding all; " +
                          $"first after {Seconds(replication.FirstRecordSeconds)} s, then {Rate(replication.StreamingRecordsPerSecond)}/s"));
        table.AddRow("bare read", Rate(bare.RecordsPerSecond), Mb(bare.MegabytesPerSecond), Seconds(bare.Seconds),
            Markup.Escape($"plain consumer, {Mb(bare.Bytes / 1e6)} MB raw"));
        table.AddRow("backup", Rate(backup.RecordsPerSecond), Mb(backup.MegabytesPerSecond), Seconds(backup.Seconds),
            $"{Verdict(report.Targets[0])} x the bare read (target >= {BackupBenchReport.MinBackupToBareRead:0.0}); " +
            Markup.Escape($"{backup.Segments} segments, {Mb(backup.BytesRaw / 1e6)} MB -> {Mb(backup.BytesStored / 1e6)} MB stored"));
        table.AddRow("compression", "", "", "", Markup.Escape($"{backup.CompressionRatio.ToString("0.00", CultureInfo.InvariantCulture)}x (segments before / after LZ4)"));
        table.AddRow("replication, backup running", Rate(live.Replication.RecordsPerSecond), "", Seconds(live.Replication.Seconds),
            $"slowdown {Verdict(report.Targets[1], percent: true)}{(live.Pairs.Count > 1 ? $" (median of {live.Pairs.Count} pairs)" : "")} (target <= {BackupBenchReport.MaxReplicationSlowdown * 100:0}%); " +
            Markup.Escape($"first after {Seconds(live.Replication.FirstRecordSeconds)} s, then {Rate(live.Replication.StreamingRecordsPerSecond)}/s " +
                          $"({live.StreamingSlowdown.ToString("P1", CultureInfo.InvariantCulture)} slower); " +
                          (live.BackupLagSeconds is { } lag ? $"backup held all {Seconds(lag)} s after the last write" : $"backup held {Number(live.BackedUp)} of {Number(p.Records)}") +
                          (live.StandbyCaughtUpSeconds is { } standby ? $"; {p.Regions[1]}'s standbys read all {Seconds(standby)} s after replication" : $"; {p.Regions[1]}'s standbys had not read all")));
        foreach (var (pair, k) in live.Pairs.Select((pair, i) => (pair, i + 1)).Skip(1))
            table.AddRow($"pair {k}: without / with", $"{Rate(pair.Without.RecordsPerSecond)} / {Rate(pair.With.RecordsPerSecond)}", "",
                $"{Seconds(pair.Without.Seconds)} / {Seconds(pair.With.Seconds)}",
                Markup.Escape($"slowdown {pair.Slowdown.ToString("P1", CultureInfo.InvariantCulture)}; streaming {pair.StreamingSlowdown.ToString("P1", CultureInfo.InvariantCulture)}"));
        if (report.Restore is { } restore)
            table.AddRow("restore", Rate(restore.RecordsPerSecond), "", Seconds(restore.Seconds),
                Markup.Escape($"{Number(restore.Records)} records from {restore.Segments} segments into {restore.Region} as '{restore.Target}'"));
        table.Caption(Markup.Escape($"whole run {Seconds(report.DurationSeconds)} s"));
        return table;
    }

    private static string Verdict(BenchTarget target, bool percent = false)
    {
        var value = percent ? target.Value.ToString("P1", CultureInfo.InvariantCulture) : target.Value.ToString("0.00", CultureInfo.InvariantCulture);
        return target.Met ? $"[green]{Markup.Escape(value)}[/]" : $"[red]{Markup.Escape(value)}[/]";
    }

    private static string Number(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Rate(double perSecond) => perSecond.ToString("N0", CultureInfo.InvariantCulture);

    private static string Mb(double mb) => mb.ToString("0.0", CultureInfo.InvariantCulture);

    private static string Seconds(double s) => s.ToString("0.0", CultureInfo.InvariantCulture);
}
