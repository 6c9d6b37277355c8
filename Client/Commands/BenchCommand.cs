using System.CommandLine;
using Mesh.Client.Bench;
using Mesh.Client.Local;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary>
/// <c>mesh bench</c>: measurements on a local mesh of its own; <c>backup</c> is the first. Exit codes: 0 measured
/// (whether the targets were met is in the report), 1 the run failed, 2 bad input.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Measurements on a local mesh of its own, started in a temporary folder and stopped at the end");
        command.Subcommands.Add(Backup());
        return command;
    }

    private static Command Backup()
    {
        var records = new Option<int>("--records") { Description = "Records per measure", DefaultValueFactory = _ => BackupBenchOptions.DefaultRecords };
        var partitions = new Option<int>("--partitions") { Description = "Partitions of the bench's topics", DefaultValueFactory = _ => BackupBenchOptions.DefaultPartitions };
        var recordBytes = new Option<int>("--record-bytes")
        {
            Description = "Raw bytes of each record (key, value and header together)",
            DefaultValueFactory = _ => BackupBenchOptions.DefaultRecordBytes,
        };
        var restore = new Option<bool>("--restore") { Description = "Also restore the backup into the second region under a new name and time it" };
        var pairs = new Option<int>("--pairs")
        {
            Description = $"Measure replication this many times without and with the backup, alternately, and take the median slowdown (1 to {BackupBenchOptions.MaxPairs}; " +
                          "each pair adds two replication measures of N records)",
            DefaultValueFactory = _ => BackupBenchOptions.DefaultPairs,
        };
        var json = CommonOptions.Json();
        var dir = new Option<string>("--dir") { Description = "Folder for the bench's mesh, store and logs, kept afterwards; default: a new temporary folder, removed at the end" };
        var command = new Command("backup",
            "Backup throughput against a bare consumer, in one run on a two-region full mesh (r1, r2) of its own: replication of N records into r2 " +
            "without a backup; a plain consumer reading r1's topic; the backup of that topic (a topology with a backup section applied, timed until " +
            "the store's catalog holds every record), with its compression ratio; replication of another N records while the backup runs; " +
            "with --pairs K, K such pairs of replication measures without and with the backup (the slowdown is their median); " +
            "with --restore, 'mesh restore' of the backup into r2. Targets (issue 13): backup at >= 0.8x the bare read; replication slowed by <= 10%. " +
            "The embedded Kafka keeps about 5 MB per partition: records x record-bytes / partitions may be at most 4 MB. " +
            "Exit code 0: measured (the report says whether each target was met); 1: the run failed; 2: bad input")
        {
            records, partitions, recordBytes, restore, pairs, json, dir,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new BackupBenchOptions
            {
                Records = parse.GetValue(records),
                Partitions = parse.GetValue(partitions),
                RecordBytes = parse.GetValue(recordBytes),
                Restore = parse.GetValue(restore),
                Pairs = parse.GetValue(pairs),
            };
            options.Validate();
            var dirGiven = parse.GetValue(dir);
            var root = dirGiven ?? Path.Combine(Path.GetTempPath(), $"mesh-bench-{Guid.NewGuid():N}"[..19]);
            // The bench stops what it started at the end: never someone else's mesh.
            if (LocalMeshState.TryLoad(root) is not null)
                throw new MeshCommandException($"--dir {root} already holds a local mesh; give the bench a new folder (it starts and stops a mesh of its own).", 2);
            var mesh = new LocalMesh(root, Terminal.Progress);
            try
            {
                var report = await new BackupBenchRunner(mesh, options, Terminal.Progress).RunAsync(cancellationToken);
                if (parse.GetValue(json)) Console.WriteLine(BackupBenchOutput.Json(report));
                else AnsiConsole.Write(BackupBenchOutput.Table(report));
                foreach (var target in report.Targets.Where(t => !t.Met))
                    Terminal.Progress($"target not met: {target.Name} ({target.Figure} = {target.Value} {(target.Comparison == ">=" ? "<" : ">")} {target.Threshold})");
                return 0;
            }
            finally
            {
                Terminal.Progress("stopping the bench's regions");
                await mesh.DownAsync();
                if (dirGiven is null)
                    try { Directory.Delete(mesh.Paths.Root, recursive: true); } catch (IOException) { }
                else Terminal.Progress($"its store, state and logs are kept in {mesh.Paths.Root}");
            }
        });
        return command;
    }
}
