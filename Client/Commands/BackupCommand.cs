using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Mesh.Client.Backup;
using Mesh.Client.Local;
using Mesh.Core.Backup.Restore;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary>
/// <c>mesh backup status|verify|prune</c>: what a backup store covers, whether its segments are sound, and removing
/// what no restore needs any more. Exit codes as in docs/backup.md (0 ok, 1 failed partway, 2 bad input,
/// 3 store or region unreachable, 5 corrupt segment).
/// </summary>
internal static class BackupCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    private static Option<string> Store() => new("--store")
    {
        Description = "The backup: a directory, file:///path, or azure://container (connection string in MESH_BACKUP_AZURE_CONNECTION)",
        Required = true,
    };

    public static Command Create() => new("backup", "Inspect and maintain a backup store (see docs/backup.md)") { Status(), Verify(), Prune() };

    private static Command Status()
    {
        var store = Store();
        var topic = new Option<string>("--topic") { Description = "Only this topic" };
        var json = CommonOptions.Json();
        var dir = new Option<string>("--dir") { Description = "A local mesh's folder: also count the records each stream is behind its live origin partition" };
        var command = new Command("status",
            "Per topic and origin stream (partition, origin region@incarnation): the time range covered, records, bytes raw and stored, gaps (records no region " +
            "held any more when they were read), segments, and lag (now - the latest segment's write time; with --dir also records behind the live origin). " +
            "Orphan segments (no manifest entry names them) are listed. Exit code 0; 2 bad input; 3 store unreachable")
        {
            store, topic, json, dir,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var dirValue = parse.GetValue(dir);
            var report = await BackupStatus.RunAsync(parse.GetValue(store)!, parse.GetValue(topic),
                dirValue is null ? null : () => BackupRegions.Open(dirValue, null, null), TimeProvider.System, cancellationToken);
            if (parse.GetValue(json)) Console.WriteLine(StatusJson(report));
            else RenderStatus(report);
            return 0;
        });
        return command;
    }

    private static Command Verify()
    {
        var store = Store();
        var deep = new Option<bool>("--deep") { Description = "Also compare the covered ranges with the live regions (--dir): records a region still holds must be byte-identical" };
        var json = CommonOptions.Json();
        var keyEnv = new Option<string>("--key-env") { Description = "Environment variable holding the store's encryption key: also decrypt every segment" };
        var dir = new Option<string>("--dir") { Description = "The local mesh to compare with under --deep (default .mesh)" };
        var bootstrap = new Option<string>("--bootstrap") { Description = "Deployed regions to compare with under --deep: region=servers,..." };
        var command = new Command("verify",
            "Check every segment: its SHA-256 against its manifest entry, its own trailing checksum and header, and its records (decrypted when the store is " +
            "encrypted and --key-env is given). Exit code 0: sound; 5: bad segments, each named; 2 bad input; 3 store unreachable")
        {
            store, deep, json, keyEnv, dir, bootstrap,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            Func<BackupRegions>? regions = parse.GetValue(deep) ? () => BackupRegions.Open(parse.GetValue(dir), parse.GetValue(bootstrap), null) : null;
            var report = await BackupVerify.RunAsync(parse.GetValue(store)!, parse.GetValue(keyEnv), regions, Terminal.Progress, cancellationToken);
            if (parse.GetValue(json)) Console.WriteLine(VerifyJson(report));
            else RenderVerify(report);
            if (!report.Sound)
            {
                foreach (var bad in report.Bad) Console.Error.WriteLine($"mesh: bad segment {bad.Name}: {bad.Problem}");
                return 5;
            }
            return 0;
        });
        return command;
    }

    private static Command Prune()
    {
        var store = Store();
        var olderThan = new Option<string>("--older-than")
        {
            Description = "Keep everything a restore to a moment within this long ago needs (7d, 12h, 30m, 1d12h); whole segments older than that go",
            Required = true,
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "List what would be removed; remove nothing" };
        var json = CommonOptions.Json();
        var keyEnv = new Option<string>("--key-env") { Description = "Environment variable holding the store's encryption key (compacted topics' segments are read for their keys)" };
        var command = new Command("prune",
            "Remove whole segments no restore to a moment at or after now - DURATION needs: for a topic deleting by age, segments whose newest record is older " +
            "than that moment minus retention.ms; for a compacted or kept-for-ever topic, segments every record of which a later record with the same key " +
            "(same origin, at or before that moment) supersedes. Only a stream's leading segments, never its last. Exit code 0; 1 failed partway (run again); " +
            "2 bad input; 3 store unreachable; 5 a segment it had to read is corrupt")
        {
            store, olderThan, dryRun, json, keyEnv,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!RestoreInput.TryParseDuration(parse.GetValue(olderThan), out var duration, out var reason)) throw new MeshCommandException($"--older-than: {reason}.", 2);
            var report = await BackupPrune.RunAsync(parse.GetValue(store)!, duration, parse.GetValue(dryRun), parse.GetValue(keyEnv), TimeProvider.System,
                Terminal.Progress, cancellationToken);
            if (parse.GetValue(json)) Console.WriteLine(PruneJson(report));
            else RenderPrune(report);
            return 0;
        });
        return command;
    }

    private static string? Moment(long? ms) => ms is { } value ? RestoreInput.Format(value) : null;

    internal static string StatusJson(StatusReport report) => JsonSerializer.Serialize(new
    {
        store = report.Store,
        format = report.Descriptor?.Format,
        encrypted = report.Descriptor?.EncryptionKeyId is not null,
        topics = report.Topics.Select(t => new
        {
            topic = t.Topic,
            records = t.Records,
            bytesRaw = t.BytesRaw,
            bytesStored = t.BytesStored,
            earliest = Moment(t.Earliest),
            latest = Moment(t.Latest),
            gaps = t.Gaps,
            configSnapshots = t.ConfigSnapshots,
            streams = t.Streams.Select(s => new
            {
                partition = s.Partition,
                origin = s.Origin,
                incarnation = s.Incarnation,
                firstOffset = s.FirstOffset,
                lastOffset = s.LastOffset,
                earliest = Moment(s.EarliestMs),
                latest = Moment(s.LatestMs),
                records = s.Records,
                bytesRaw = s.BytesRaw,
                bytesStored = s.BytesStored,
                gaps = s.Gaps,
                gapRecords = s.GapRecords,
                segments = s.Segments,
                lagMs = s.LagMs,
                behind = s.Behind,
            }),
        }),
        groupSnapshots = report.GroupSnapshots,
        orphans = report.Orphans.Select(o => new { name = o.Name, size = o.Size }),
        notes = report.Notes,
    }, JsonOptions);

    private static void RenderStatus(StatusReport report)
    {
        var table = new Table().Title(Markup.Escape($"backup in {report.Store}"))
            .AddColumns("topic", "partition", "origin", "from", "to", "records", "raw", "stored", "gaps", "segments", "lag");
        foreach (var topic in report.Topics)
        foreach (var s in topic.Streams)
            table.AddRow(Markup.Escape(topic.Topic), $"{s.Partition}", Markup.Escape($"{s.Origin}@{s.Incarnation}"), Moment(s.EarliestMs) ?? "-", Moment(s.LatestMs) ?? "-",
                $"{s.Records}", Bytes(s.BytesRaw), Bytes(s.BytesStored), s.Gaps == 0 ? "0" : $"{s.Gaps} ({s.GapRecords} records)", $"{s.Segments}",
                (s.LagMs is { } lag ? $"{TimeSpan.FromMilliseconds(lag):g}" : "-") + (s.Behind is { } behind ? $", {behind} behind" : ""));
        AnsiConsole.Write(table);
        foreach (var topic in report.Topics)
            Console.WriteLine($"{topic.Topic}: {topic.Records} records, {Bytes(topic.BytesRaw)} raw, {Bytes(topic.BytesStored)} stored, " +
                $"{Moment(topic.Earliest) ?? "-"} .. {Moment(topic.Latest) ?? "-"}, {topic.Gaps} gap(s)");
        foreach (var orphan in report.Orphans) Console.WriteLine($"orphan (no manifest entry names it): {orphan.Name}");
        foreach (var note in report.Notes) Console.WriteLine($"note: {note}");
    }

    internal static string VerifyJson(VerifyReport report) => JsonSerializer.Serialize(new
    {
        store = report.Store,
        sound = report.Sound,
        segments = report.Segments,
        records = report.Records,
        decoded = report.Decoded,
        compared = report.Compared,
        bad = report.Bad.Select(b => new { name = b.Name, stream = b.Stream, sequence = b.Sequence, problem = b.Problem }),
        orphans = report.Orphans.Select(o => new { name = o.Name, size = o.Size }),
        notes = report.Notes,
    }, JsonOptions);

    private static void RenderVerify(VerifyReport report)
    {
        foreach (var bad in report.Bad) AnsiConsole.MarkupLineInterpolated($"[red]bad[/] {bad.Name}: {bad.Problem}");
        foreach (var orphan in report.Orphans) Console.WriteLine($"orphan (no manifest entry names it; not part of the backup): {orphan.Name}");
        foreach (var note in report.Notes) Console.WriteLine($"note: {note}");
        Console.WriteLine(report.Sound
            ? $"sound: {report.Segments} segment(s), {report.Records} record(s){(report.Compared is { } c ? $", {c} compared with the live regions" : "")}"
            : $"{report.Bad.Count} bad segment(s) of {report.Segments}");
    }

    internal static string PruneJson(PruneReport report) => JsonSerializer.Serialize(new
    {
        store = report.Store,
        dryRun = report.DryRun,
        cutoff = RestoreInput.Format(report.Plan.CutoffMs),
        segments = report.Plan.Segments.Select(s => new
        {
            topic = s.Stream.Topic,
            partition = s.Stream.Partition,
            origin = s.Stream.OriginRegion,
            incarnation = s.Stream.OriginIncarnation,
            sequence = s.Entry.Sequence,
            name = Mesh.Core.Backup.BackupLayout.StreamFolder(s.Stream) + s.Entry.Segment,
            records = s.Entry.Records,
            bytesStored = s.Entry.StoredBytes,
            reason = s.Reason,
        }),
        orphans = report.Plan.Orphans.Select(o => o.Name),
        bytes = report.Plan.Bytes,
        removed = new { entries = report.EntriesRemoved, segments = report.SegmentsRemoved, orphans = report.OrphansRemoved },
        notes = report.Plan.Notes,
    }, JsonOptions);

    private static void RenderPrune(PruneReport report)
    {
        foreach (var note in report.Plan.Notes) Console.WriteLine(note);
        foreach (var s in report.Plan.Segments)
            Console.WriteLine($"{(report.DryRun ? "would remove" : "removed")} {s.Stream} #{s.Entry.Sequence} ({s.Entry.Records} records): {s.Reason}");
        foreach (var orphan in report.Plan.Orphans) Console.WriteLine($"{(report.DryRun ? "would remove" : "removed")} orphan {orphan.Name}");
        Console.WriteLine($"{(report.DryRun ? "would free" : "freed")} {Bytes(report.Plan.Bytes)}: {report.Plan.Segments.Count} segment(s), {report.Plan.Orphans.Count} orphan(s)");
    }

    private static string Bytes(long bytes) => bytes switch
    {
        < 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.0} MiB"),
    };
}
