using System.CommandLine;
using Mesh.Client.Bench;
using Mesh.Client.Local;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary>
/// <c>mesh bench</c>: measurements on a local mesh of its own: replication against a bare pipe (the verb itself, issue 15)
/// and the backup (<c>backup</c>, issue 13). Exit codes: 0 measured
/// (whether the targets were met is in the report), 1 the run failed, 2 bad input.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var (records, partitions, recordBytes) = SizeOptions(
            "Records of each backlog (the bare pipe's, the mesh's, the WAN measure's); the steady measures send at most as many",
            ReplicationBenchOptions.DefaultRecords, ReplicationBenchOptions.DefaultPartitions, ReplicationBenchOptions.DefaultRecordBytes);
        var rttMs = new Option<int>("--rtt-ms")
        {
            Description = "Round-trip time added to the source region's brokers for the WAN measure (0: no WAN measure, rtt_ratio null)",
            DefaultValueFactory = _ => ReplicationBenchOptions.DefaultRttMs,
        };
        var scalePartitions = new Option<int>("--scale-partitions")
        {
            Description = "Partitions one silo holds in the scale measure (0: no scale measure, its figures null); the JSON names keep their " +
                          "_10000_partitions suffix, scale_partitions says the size used",
            DefaultValueFactory = _ => ReplicationBenchOptions.DefaultScalePartitions,
        };
        var scaleBrokers = new Option<int>("--scale-brokers")
        {
            Description = "Brokers of each region's embedded Kafka in the scale measure, the partitions' leaders spread over them (librdkafka " +
                          "serves every partition a broker leads on each turn and sends one partition per produce request, so one broker " +
                          "leading all of them costs the silo more); scale_brokers says the number used",
            DefaultValueFactory = _ => ReplicationBenchOptions.DefaultScaleBrokers,
        };
        var sampleSeconds = new Option<int>("--sample-seconds")
        {
            Description = "How long the scale measure samples the idle silo, and how long its load lasts",
            DefaultValueFactory = _ => ReplicationBenchOptions.DefaultSampleSeconds,
        };
        var coldAfterSeconds = new Option<int>("--cold-after-seconds")
        {
            Description = "How long the scale measure's silo keeps an idle partition on its reader's hot lane (the silo's " +
                          "Mesh:Replication:ColdAfterMs); idle is sampled once every partition has gone cold",
            DefaultValueFactory = _ => ReplicationBenchOptions.DefaultColdAfterSeconds,
        };
        var noTls = new Option<bool>("--no-tls") { Description = "Run the bench's regions with plain-text Orleans ports (default: mutual TLS, as 'mesh local up'), to compare" };
        var json = CommonOptions.Json();
        var dir = DirOption();
        var command = new Command("bench",
            "Replication measured against a bare Confluent.Kafka consume -> produce pipe, in one run on two regions of its own (r1 -> r2, one embedded " +
            "Kafka broker each), on the same clusters and data. Figures: " +
            "(1) baseline: the bare pipe (idempotent, acks=all, key, value, headers and timestamp copied, no mesh) draining a backlog of N records, " +
            "records/s and MB/s from the first record's arrival in r2 to the last's; " +
            "(2) mesh catch-up: the same backlog waiting in r1 while r2's silos are down, r2's silos started, the same first-to-last rate, and catchup_ratio = mesh / pipe; " +
            "(3) steady latency: records sent at half the mesh's catch-up rate (at most 20,000/s, about 10 s) with their send time, end-to-end latency " +
            "p50/p99/p99.9/max (HdrHistogram) through the mesh and through the pipe, p99_ratio = mesh / pipe; " +
            "(4) WAN: the mesh's catch-up again with --rtt-ms on r1's brokers, rtt_ratio = that rate / the 0 ms rate; " +
            "(5) scale: on a mesh of its own, one silo holding --scale-partitions partitions: seconds from its start until every partition replicated a record, " +
            "its CPU (percent of one core) and resident memory idle, and its memory at its peak under a load across every partition. " +
            "Every measure reads its destination and checks that every record arrived once (records_checked). " +
            "Targets (issue 15, reported, not asserted): catch-up >= 0.85x the pipe; steady p99 <= 2x the pipe's; with 70 ms RTT >= 0.8x the 0 ms rate; " +
            "10,000 idle partitions <= 5% of one core and <= 1 GiB resident under load; every partition replicating within 15 s of the start. " +
            "The embedded Kafka keeps only about 5 MB per partition (older data is dropped, like retention): records x (record-bytes + 128) / partitions " +
            "may be at most 4 MB. Exit code 0: measured (the report says whether each target was met); 1: the run failed (a record missing or twice, a deadline passed); 2: bad input")
        {
            records, partitions, recordBytes, rttMs, scalePartitions, scaleBrokers, sampleSeconds, coldAfterSeconds, noTls, json, dir,
        };
        command.Subcommands.Add(Backup());
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new ReplicationBenchOptions
            {
                Records = parse.GetValue(records),
                Partitions = parse.GetValue(partitions),
                RecordBytes = parse.GetValue(recordBytes),
                RttMs = parse.GetValue(rttMs),
                ScalePartitions = parse.GetValue(scalePartitions),
                ScaleBrokers = parse.GetValue(scaleBrokers),
                SampleSeconds = parse.GetValue(sampleSeconds),
                ColdAfterSeconds = parse.GetValue(coldAfterSeconds),
                PlainText = parse.GetValue(noTls),
            };
            options.Validate();
            var (root, given) = Folder(parse.GetValue(dir), ReplicationBenchRunner.MeshFolder, ReplicationBenchRunner.ScaleMeshFolder);
            try
            {
                var report = await new ReplicationBenchRunner(root, options, Terminal.Progress).RunAsync(cancellationToken);
                if (parse.GetValue(json)) Console.WriteLine(ReplicationBenchOutput.Json(report));
                else AnsiConsole.Write(ReplicationBenchOutput.Table(report));
                ReportUnmet(report.Targets);
                return 0;
            }
            finally
            {
                Cleanup(root, given);
            }
        });
        return command;
    }

    /// <summary>What every bench measures with: how many records, over how many partitions, how big.</summary>
    private static (Option<int> Records, Option<int> Partitions, Option<int> RecordBytes) SizeOptions(string records, int defaultRecords, int defaultPartitions,
        int defaultRecordBytes) =>
    (
        new Option<int>("--records") { Description = records, DefaultValueFactory = _ => defaultRecords },
        new Option<int>("--partitions") { Description = "Partitions of the bench's topics", DefaultValueFactory = _ => defaultPartitions },
        new Option<int>("--record-bytes") { Description = "Raw bytes of each record (key, value and headers together)", DefaultValueFactory = _ => defaultRecordBytes }
    );

    private static Option<string> DirOption() =>
        new("--dir") { Description = "Folder for the bench's meshes and logs, kept afterwards; default: a new temporary folder, removed at the end" };

    /// <summary>The bench's folder: the one given, which must not hold a mesh (the bench stops what it started at the end: never someone else's), or a new temporary one.</summary>
    /// <param name="meshes">The folders below the root where the bench keeps its meshes (the root itself when none).</param>
    private static (string Root, bool Given) Folder(string? given, params string[] meshes)
    {
        var root = given ?? Path.Combine(Path.GetTempPath(), $"mesh-bench-{Guid.NewGuid():N}"[..19]);
        foreach (var folder in meshes.Select(m => Path.Combine(root, m)).Prepend(root))
            if (LocalMeshState.TryLoad(folder) is not null)
                throw new MeshCommandException($"--dir {root} already holds a local mesh (in {folder}); give the bench a new folder (it starts and stops meshes of its own).", 2);
        return (root, given is not null);
    }

    private static void Cleanup(string root, bool given)
    {
        if (!given)
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        else Terminal.Progress($"its state and logs are kept in {Path.GetFullPath(root)}");
    }

    private static void ReportUnmet(IEnumerable<BenchTarget> targets)
    {
        foreach (var target in targets.Where(t => !t.Met))
            Terminal.Progress($"target not met: {target.Name} ({target.Figure} = {target.Value} {(target.Comparison == ">=" ? "<" : ">")} {target.Threshold})");
    }

    private static Command Backup()
    {
        var (records, partitions, recordBytes) = SizeOptions("Records per measure",
            BackupBenchOptions.DefaultRecords, BackupBenchOptions.DefaultPartitions, BackupBenchOptions.DefaultRecordBytes);
        var restore = new Option<bool>("--restore") { Description = "Also restore the backup into the second region under a new name and time it" };
        var pairs = new Option<int>("--pairs")
        {
            Description = $"Measure replication this many times without and with the backup, alternately, and take the median slowdown (1 to {BackupBenchOptions.MaxPairs}; " +
                          "each pair adds two replication measures of N records)",
            DefaultValueFactory = _ => BackupBenchOptions.DefaultPairs,
        };
        var json = CommonOptions.Json();
        var dir = DirOption();
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
            var (root, given) = Folder(parse.GetValue(dir));
            var mesh = new LocalMesh(root, Terminal.Progress);
            try
            {
                var report = await new BackupBenchRunner(mesh, options, Terminal.Progress).RunAsync(cancellationToken);
                if (parse.GetValue(json)) Console.WriteLine(BackupBenchOutput.Json(report));
                else AnsiConsole.Write(BackupBenchOutput.Table(report));
                ReportUnmet(report.Targets);
                return 0;
            }
            finally
            {
                Terminal.Progress("stopping the bench's regions");
                await mesh.DownAsync();
                Cleanup(root, given);
            }
        });
        return command;
    }
}
