using System.CommandLine;
using System.Text.Json;
using Mesh.Client.Backup;
using Mesh.Client.Local;
using Mesh.Core.Backup.Restore;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary>
/// <c>mesh restore --store S --topic T --at TIME</c>: writes a backed-up topic as it was at a moment into a new
/// or empty topic, in one region (the mesh replicates it from there) or in every region at once.
/// Exit codes (docs/backup.md): 0 done, 1 failed partway (run again to resume), 2 bad input, 3 store or region
/// unreachable, 4 target topic not empty, 5 a segment the restore needs is corrupt.
/// </summary>
internal static class RestoreCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public static Command Create()
    {
        var store = new Option<string>("--store") { Description = "The backup: a directory, file:///path, or azure://container (connection string in MESH_BACKUP_AZURE_CONNECTION)", Required = true };
        var topic = new Option<string>("--topic") { Description = "The backed-up topic to restore", Required = true };
        var at = new Option<string>("--at")
        {
            Description = "The moment to restore: ISO-8601 with Z or an offset (2026-12-03T14:00:00Z) or epoch milliseconds; every record with a timestamp at or before it " +
                          "(and, for a topic that then deleted by age, after it minus retention.ms)",
            Required = true,
        };
        var region = new Option<string>("--region") { Description = "Restore into this region; the mesh replicates the restored topic to the others exactly once" };
        var allRegions = new Option<bool>("--all-regions") { Description = "Restore into every region at once; the records are marked so that no link replicates them" };
        var asName = new Option<string>("--as") { Description = "Name of the target topic (default: the backed-up topic's name)" };
        var groups = new Option<bool>("--groups")
        {
            Description = "Also set the backed-up consumer groups' positions in the target topic so that each resumes where it stood at --at " +
                          "(records are ordered so that each group's processed records come first)",
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Check the backup and print the plan (records per partition, group positions); write nothing" };
        var allowNonEmpty = new Option<bool>("--allow-non-empty") { Description = "Write after records already in the target topic instead of refusing (exit 4)" };
        var json = CommonOptions.Json();
        var dir = new Option<string>("--dir") { Description = "Folder of the local mesh to restore into (default .mesh); not with --bootstrap" };
        var bootstrap = new Option<string>("--bootstrap") { Description = "Deployed regions: region=servers,... (us-east=b1:9092,b2:9092,eu-west=b3:9092); not with --dir" };
        var keyEnv = new Option<string>("--key-env") { Description = "Environment variable holding the mesh key to sign restored records with (a local mesh's key is read from its folder)" };
        var backupKeyEnv = new Option<string>("--backup-key-env") { Description = "Environment variable holding the store's encryption key (base64, 32 bytes), for an encrypted backup" };
        var command = new Command("restore",
            "Restore a backed-up topic as it was at a moment: checks every segment it needs (SHA-256) before writing anything, creates the target topic with the " +
            "backed-up partition count and configs, and writes the records byte for byte (key, value, headers, timestamp) in per-origin order, with provenance " +
            "that keeps the mesh from looping or duplicating them. An interrupted restore resumes when run again with the same arguments. " +
            "Exit code 0: done; 1: failed partway (run the same command again); 2: bad input; 3: store or region unreachable; 4: target topic not empty; " +
            "5: a segment it needs is corrupt (named)")
        {
            store, topic, at, region, allRegions, asName, groups, dryRun, allowNonEmpty, json, dir, bootstrap, keyEnv, backupKeyEnv,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!RestoreInput.TryParseMoment(parse.GetValue(at), out var atMs, out var reason)) throw new MeshCommandException($"--at: {reason}.", 2);
            var request = new RestoreRequest(parse.GetValue(store)!, parse.GetValue(topic)!, atMs, parse.GetValue(region), parse.GetValue(allRegions),
                parse.GetValue(asName), parse.GetValue(groups), parse.GetValue(dryRun), parse.GetValue(allowNonEmpty), parse.GetValue(backupKeyEnv));
            var dirGiven = parse.GetResult(dir) is { Implicit: false } ? parse.GetValue(dir) : null;
            var report = await RestoreRunner.RunAsync(request, () => BackupRegions.Open(dirGiven, parse.GetValue(bootstrap), parse.GetValue(keyEnv)),
                TimeProvider.System, Terminal.Progress, cancellationToken);
            if (parse.GetValue(json)) Console.WriteLine(Json(report));
            else Render(report);
            return 0;
        });
        return command;
    }

    internal static string Json(RestoreReport report) => JsonSerializer.Serialize(new
    {
        restoreId = report.RestoreId,
        store = report.Store,
        topic = report.Topic,
        target = report.Target,
        at = RestoreInput.Format(report.AtMs),
        atMs = report.AtMs,
        mode = report.Mode == RestoreMode.AllRegions ? "all-regions" : "single-region",
        regions = report.Regions,
        dryRun = report.DryRun,
        partitionCount = report.PartitionCount,
        configs = report.Configs,
        after = report.Window.AfterMs is { } after ? RestoreInput.Format(after) : null,
        segmentsRead = report.SegmentsRead,
        records = report.Records,
        partitions = report.Partitions.Select(p => new
        {
            partition = p.Partition,
            records = p.Records,
            groups = p.Groups.Select(g => new { group = g.Group, position = g.Position, processed = g.Processed, redelivered = g.Redelivered }),
            regions = p.Regions.Select(r => new
            {
                region = r.Region,
                alreadyWritten = r.AlreadyWritten,
                written = r.Written,
                firstOffset = r.BaseOffset,
                committed = r.CommittedOffsets,
            }),
        }),
        notes = report.Notes,
    }, JsonOptions);

    private static void Render(RestoreReport report)
    {
        var where = report.Mode == RestoreMode.AllRegions ? "every region" : report.Regions.Count == 1 ? report.Regions[0] : "(no region: dry run)";
        var table = new Table()
            .Title(Markup.Escape($"{report.Topic} at {RestoreInput.Format(report.AtMs)} -> {report.Target} in {where}{(report.DryRun ? " (dry run: nothing written)" : "")}"))
            .AddColumns("partition", "records", "written", "group positions");
        foreach (var p in report.Partitions)
        {
            var written = p.Regions.Count == 0 ? "-" : string.Join(", ", p.Regions.Select(r => $"{r.Region}: {r.Written}{(r.AlreadyWritten > 0 ? $" (+{r.AlreadyWritten} before)" : "")}"));
            var groups = p.Groups.Count == 0 ? "-" : string.Join(", ", p.Groups.Select(g => $"{g.Group} @ {g.Position}{(g.Redelivered > 0 ? $" ({g.Redelivered} again)" : "")}"));
            table.AddRow($"{p.Partition}", $"{p.Records}", Markup.Escape(written), Markup.Escape(groups));
        }
        AnsiConsole.Write(table);
        foreach (var note in report.Notes) Console.WriteLine($"note: {note}");
        Console.WriteLine($"restore {report.RestoreId}: {report.Records} record(s) from {report.SegmentsRead} segment(s) of {report.Store}" +
            (report.DryRun ? "; nothing written" : $"; topic '{report.Target}' ({report.PartitionCount} partitions) written in {string.Join(", ", report.Regions)}"));
    }
}
