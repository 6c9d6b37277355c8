using System.CommandLine;
using Mesh.Client.Audit;
using Mesh.Client.Local;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary>
/// <c>mesh audit</c>: reads every region's copy of the topics straight from each region's Kafka and
/// says whether they hold the same data. Exit codes: 0 the regions agree, 5 they do not, 3 a region
/// cannot be reached, 2 bad input.
/// </summary>
internal static class AuditCommand
{
    public const int Agree = 0;
    public const int Disagree = 5;

    public static Command Create()
    {
        var topics = new Option<string[]>("--topic")
        {
            Description = "A topic to audit (repeat it, or separate with commas); default: every topic any region holds, except internal '__' ones",
        };
        var json = CommonOptions.Json();
        var dir = CommonOptions.Dir();
        var bootstrap = new Option<string>("--bootstrap")
        {
            Description = "Audit deployed regions: region=servers,... (a region's servers follow it: us-east=b1:9092,b2:9092,eu-west=b3:9092); not with --dir",
        };
        var topology = new Option<FileInfo>("--topology")
        {
            Description = "The topology file: which origins' records should reach which regions (routes, topic selection), naming, conflict policies, " +
                          "and the regions' other Kafka settings. Alone: audit its regions at the Kafka it names. " +
                          "Default: the newest topology the regions keep in their __mesh_topology (with --dir, or the local mesh's topology file if newer)",
        };
        var command = new Command("audit", "Check that every region holds the same data, after an incident for example. Reads every region's copy of the topics " +
            "directly from its Kafka (from the start of each partition to where it ended when the audit began) and reports per topic and partition: " +
            "for append topics, each origin's records missing or duplicated in each region (a record is known by its provenance: origin region, " +
            "incarnation and origin offset); for last-writer-wins topics, keys whose last record differs between regions. " +
            "Exit code 0: the regions agree; 5: they do not; 3: a region cannot be reached; 2: bad input")
        {
            topics, json, dir, bootstrap, topology,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var targets = Targets(parse, dir, bootstrap, topology);
            foreach (var note in targets.Notes) Terminal.Progress($"note: {note}");
            var names = (parse.GetValue(topics) ?? []).SelectMany(CommonOptions.SplitList).Distinct().ToList();
            var report = await Auditor.RunAsync(targets.Regions, targets.Topology, names, Terminal.Progress, cancellationToken);
            if (parse.GetValue(json)) Console.WriteLine(AuditOutput.Json(report));
            else Render(report);
            return report.Agree ? Agree : Disagree;
        });
        return command;
    }

    /// <summary>
    /// The regions' Kafka from --bootstrap, --topology or a local mesh's --dir (<paramref name="local"/> reads the local
    /// mesh; by default every region of it must run).
    /// </summary>
    internal static AuditTargets Targets(ParseResult parse, Option<string> dir, Option<string> bootstrap, Option<FileInfo> topology,
        Func<string, string?, AuditTargets>? local = null)
    {
        var dirGiven = parse.GetResult(dir) is { Implicit: false };
        var named = parse.GetValue(bootstrap);
        var file = parse.GetValue(topology)?.FullName;
        if (named is not null)
        {
            if (dirGiven) throw new MeshCommandException("--dir and --bootstrap exclude each other: give the local mesh's folder or the regions' Kafka.", 2);
            return AuditTargets.FromBootstrap(named, file);
        }
        if (file is not null && !dirGiven) return AuditTargets.FromTopology(file);
        return (local ?? AuditTargets.FromLocalMesh)(parse.GetValue(dir)!, file);
    }

    private static void Render(AuditReport report)
    {
        var lines = AuditOutput.Lines(report).ToList();
        // Plain lines, never wrapped, so that offsets and keys can be copied; only the verdict is coloured.
        foreach (var line in lines.SkipLast(1)) Console.WriteLine(line);
        if (report.Agree) AnsiConsole.MarkupLineInterpolated($"[green]{lines[^1]}[/]");
        else AnsiConsole.MarkupLineInterpolated($"[red]{lines[^1]}[/]");
    }
}
