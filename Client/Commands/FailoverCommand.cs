using System.CommandLine;
using System.Text.Json;
using Mesh.Client.Audit;
using Mesh.Client.Local;
using Mesh.Client.Offsets;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary>
/// <c>mesh failover --group G --from R1 --to R2</c>: moves a consumer group's committed offsets from
/// one region to another by record identity, so that the group resumes there without losing a record.
/// Exit codes: 0 done, 2 bad input (no such group, same region, group active in R2), 3 a region cannot be reached.
/// </summary>
internal static class FailoverCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public static Command Create()
    {
        var group = new Option<string>("--group") { Description = "The consumer group to move", Required = true };
        var from = new Option<string>("--from") { Description = "The region where the group committed its offsets", Required = true };
        var to = new Option<string>("--to") { Description = "The region to resume it in; the group must have no members there", Required = true };
        var topics = new Option<string[]>("--topic")
        {
            Description = "A topic of the group's to move (repeat it, or separate with commas); default: every topic the group committed offsets for in --from",
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the translated offsets without committing them" };
        var json = CommonOptions.Json();
        var dir = CommonOptions.Dir();
        var bootstrap = new Option<string>("--bootstrap")
        {
            Description = "Deployed regions: region=servers,... (a region's servers follow it: us-east=b1:9092,b2:9092,eu-west=b3:9092); not with --dir",
        };
        var topology = new Option<FileInfo>("--topology")
        {
            Description = "The topology file: the regions' Kafka settings (security); alone, the regions at the Kafka it names",
        };
        var command = new Command("failover", "Move a consumer group to another region without losing a record: reads the group's committed offsets in --from, " +
            "both regions' copies of its partitions, and commits for the group in --to, per partition, the first offset holding a record the group had not " +
            "processed (records are told apart by provenance). Prints per partition the offsets and how many records the group gets again (the bound). " +
            "Exit code 0: done; 2: bad input (no such group, the same region twice, the group active in --to), nothing changed; 3: a region cannot be reached")
        {
            group, from, to, topics, dryRun, json, dir, bootstrap, topology,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var fromRegion = parse.GetValue(from)!;
            var toRegion = parse.GetValue(to)!;
            if (fromRegion == toRegion) throw new MeshCommandException($"--from and --to are both {fromRegion}: fail a group over to another region.", 2);
            var targets = Targets(parse, dir, bootstrap, topology, [fromRegion, toRegion]);
            var names = (parse.GetValue(topics) ?? []).SelectMany(CommonOptions.SplitList).Distinct().ToList();
            var report = await GroupFailover.RunAsync(targets, parse.GetValue(group)!, fromRegion, toRegion, names, parse.GetValue(dryRun),
                Terminal.Progress, cancellationToken);
            if (parse.GetValue(json)) Console.WriteLine(Json(report));
            else Render(report);
            return 0;
        });
        return command;
    }

    private static AuditTargets Targets(ParseResult parse, Option<string> dir, Option<string> bootstrap, Option<FileInfo> topology, string[] regions) =>
        AuditCommand.Targets(parse, dir, bootstrap, topology, (folder, file) => LocalTargets(folder, file, regions));

    /// <summary>The two regions of a local mesh, each at its embedded Kafka as it runs now; the others may be down.</summary>
    private static AuditTargets LocalTargets(string root, string? topologyFile, string[] regions)
    {
        if (LocalMeshState.TryLoad(root) is not { } state)
            throw new MeshCommandException($"No local mesh in '{root}' (no {LocalMeshState.FileName}). Give the folder of a local mesh with --dir, " +
                "or the regions' Kafka with --bootstrap region=host:port,...", 2);
        var mesh = new LocalMesh(root);
        var known = state.Regions.Select(r => r.Id).ToList();
        foreach (var region in regions)
        {
            if (!known.Contains(region))
                throw new MeshCommandException($"{region} is not a region of the local mesh in {mesh.Paths.Root} (its regions: {string.Join(", ", known)}).", 2);
            if (!mesh.IsKafkaRunning(region) || !File.Exists(mesh.Paths.BootstrapFile(region)))
                throw new MeshCommandException($"Cannot fail over: the Kafka of {region} is not running (start it with 'mesh local start {region} --dir {mesh.Paths.Root}'). Nothing changed.", 3);
        }
        var topology = topologyFile is not null ? AuditTargets.Load(topologyFile)
            : File.Exists(mesh.RunningTopologyFile) ? AuditTargets.Load(mesh.RunningTopologyFile) : null;
        return new AuditTargets([.. regions.Select(r => new AuditRegion(r, new Dictionary<string, string> { ["bootstrap.servers"] = mesh.Bootstrap(r) }))], topology, []);
    }

    private static string Json(FailoverReport report) => JsonSerializer.Serialize(new
    {
        group = report.Group,
        from = report.From,
        to = report.To,
        dryRun = report.DryRun,
        partitions = report.Partitions.Select(p => new
        {
            topic = p.Topic,
            partition = p.Partition,
            fromOffset = p.FromOffset,
            toOffset = p.ToOffset,
            redelivered = p.Redelivered,
            uncertain = p.Uncertain,
        }),
        redelivered = report.Redelivered,
        uncertain = report.Uncertain,
    }, JsonOptions);

    private static void Render(FailoverReport report)
    {
        var table = new Table()
            .Title(Markup.Escape($"group {report.Group}: {report.From} -> {report.To}{(report.DryRun ? " (dry run: nothing committed)" : "")}"))
            .AddColumns("topic", "partition", $"offset in {report.From}", $"offset in {report.To}", "re-delivered");
        foreach (var p in report.Partitions)
            table.AddRow(Markup.Escape(p.Topic), $"{p.Partition}", $"{p.FromOffset}", $"{p.ToOffset}",
                p.Uncertain > 0 ? $"{p.Redelivered} (at most; {p.Uncertain} undecided: retention in {Markup.Escape(report.From)})" : $"{p.Redelivered}");
        AnsiConsole.Write(table);
        Console.WriteLine($"{(report.DryRun ? "would re-deliver" : "re-delivers")} at most {report.Redelivered} record(s) the group already processed in {report.From}; " +
            $"none it had not is skipped{(report.DryRun ? "" : $"; committed for group {report.Group} in {report.To}")}");
    }
}
