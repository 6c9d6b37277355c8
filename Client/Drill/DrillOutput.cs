using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Mesh.Client.Drill;

/// <summary>A drill's report as the <c>--json</c> object, or as a table for people.</summary>
public static class DrillOutput
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    public static string Json(DrillReport report) => JsonSerializer.Serialize(report, JsonOptions);

    /// <summary>The figures, one a row, each with what it counts; fits 80 columns for the usual region names.</summary>
    public static Table Table(DrillReport report)
    {
        var table = new Table().AddColumns("figure", "value", "what it counts");
        void Row(string figure, string value, string meaning) => table.AddRow(Markup.Escape(figure), value, Markup.Escape(meaning));
        var (dead, survivor) = (report.KilledRegion, report.Survivor);

        Row("rpo_records", Number(report.RpoRecords), $"acked in {dead}, in no survivor");
        Row("rpo_seconds", Seconds(report.RpoSeconds), "age of the oldest at the kill");
        Row("rto_seconds", report.RtoSeconds is { } rto ? Seconds(rto) : "[red]never[/]", $"kill to the group reading in {survivor}");
        Row("resumed from", Markup.Escape(report.ResumedFrom), $"the group's position in {survivor}");
        Row("lost", report.Lost == 0 ? "[green]0[/]" : $"[red]{Number(report.Lost)}[/]", $"held in {survivor}, never processed");
        if (report.OutOfReach > 0)
            Row("out of reach", $"[yellow]{Number(report.OutOfReach)}[/]", $"in another survivor, not in {survivor}");
        Row("redelivered", Number(report.Redelivered), "processed more than once");
        Row("restart_seconds", Seconds(report.RestartSeconds), $"{dead} back empty (new incarnation)");
        if (report.RebuildSeconds is { } rebuild) Row("rebuild_seconds", Seconds(rebuild), $"restart to {dead} holding it all");
        else Row("rebuild_seconds", $"[red]not in {Seconds(report.RebuildTimeoutSeconds)}[/]", $"{dead} lacks {Number(report.RebuildMissing)}, {Number(report.RebuildMissingOwn)} of its own");
        Row("identical", report.Identical ? "[green]yes[/]" : "[red]no[/]", "the audit: every region the same");
        foreach (var (region, produced) in report.Produced)
            Row("produced", Number(produced), region == dead ? $"acked in {region} until the kill" : $"acked in {region}");
        Row("group processed", $"{Number(report.ProcessedBeforeKill)} + {Number(report.ProcessedAfterFailover)}", $"in {dead} before + in {survivor} after");
        return table;
    }

    private static string Number(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Seconds(double s) => s.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
