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

    public static Table Table(DrillReport report)
    {
        var table = new Table().AddColumns("figure", "value", "what it means");
        void Row(string figure, string value, string meaning) => table.AddRow(Markup.Escape(figure), value, Markup.Escape(meaning));

        Row("rpo_records", Number(report.RpoRecords), $"records {report.KilledRegion} acknowledged that no survivor held");
        Row("rpo_seconds", Seconds(report.RpoSeconds), "age at the kill of the oldest of them");
        Row("rto_seconds", report.RtoSeconds is { } rto ? Seconds(rto) : "[red]never[/]",
            $"kill to the group's first record in {report.Survivor} (resumed from {report.ResumedFrom})");
        Row("lost", report.Lost == 0 ? "[green]0[/]" : $"[red]{Number(report.Lost)}[/]",
            $"records {report.Survivor} held that the group never processed");
        Row("redelivered", Number(report.Redelivered), "records the group processed more than once");
        Row("rebuild_seconds", report.RebuildSeconds is { } rebuild ? Seconds(rebuild) : $"[red]not rebuilt in {Seconds(report.RebuildTimeoutSeconds)}[/]",
            report.Rebuilt
                ? $"restart of {report.KilledRegion} to it holding everything the survivors held"
                : $"{report.KilledRegion} still lacked {Number(report.RebuildMissing)} records ({Number(report.RebuildMissingOwn)} its own from before the kill)");
        Row("restart_seconds", Seconds(report.RestartSeconds), $"{report.KilledRegion}'s processes back (its Kafka empty; the survivors' silos restarted with its new address)");
        Row("identical", report.Identical ? "[green]yes[/]" : "[red]no[/]", "whether the audit found every region holding the same records");
        Row("produced", Markup.Escape(string.Join(", ", report.Produced.Select(p => $"{p.Key} {Number(p.Value)}"))),
            $"records acknowledged per region ({report.RatePerRegion}/s each; {report.KilledRegion} until the kill)");
        Row("group processed", $"{Number(report.ProcessedBeforeKill)} + {Number(report.ProcessedAfterFailover)}",
            $"group '{report.Group}' in {report.KilledRegion} before the kill + in {report.Survivor} after it");
        return table;
    }

    private static string Number(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Seconds(double s) => s.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
