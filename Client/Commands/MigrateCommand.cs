using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mesh.Client.Local;
using Mesh.Client.Migration;
using Mesh.Core.Migration;
using Mesh.Core.Topology;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary>
/// <c>mesh migrate from-mm2</c>: take over from a MirrorMaker 2 that ran the same flows. Exit codes: 0 the checkpoints
/// are in place (or would be, with --dry-run); 2 the input is wrong (configuration, topology); 3 what the clusters hold
/// disagrees with MM2's positions, or a cluster could not be read. Nothing is written unless the exit code is 0.
/// </summary>
public static class MigrateCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public static Command Create()
    {
        var migrate = new Command("migrate", "Move replication that another tool ran over to Mesh, without copying anything twice or skipping anything");
        migrate.Subcommands.Add(FromMm2());
        return migrate;
    }

    private static Command FromMm2()
    {
        var properties = new Argument<FileInfo>("MM2_PROPERTIES") { Description = "The MirrorMaker 2 configuration MM2 ran with (connect-mirror-maker.properties): its cluster aliases, flows and replication policy" };
        var topologyFile = new Option<FileInfo?>("--topology") { Description = "The topology Mesh will run (default: the one 'mesh topology import-mm2' makes of MM2_PROPERTIES). Its region ids must be MM2's cluster aliases, its naming MM2's, and it must have a link for every flow MM2 ran; its regions' Kafka settings are used to read and write" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print per topic and partition where Mesh would start and how many records remain to copy; write nothing" };
        var json = CommonOptions.Json();
        var command = new Command("from-mm2", """
            Take over from MirrorMaker 2. Stop MM2 first (cleanly, so that it commits its positions), then run this, then start Mesh.
            For every flow MM2 ran (A->B.enabled = true) it reads what MM2 left behind: the source positions its Connect worker committed
            (mm2-offsets.<target>.internal in the target), its offset syncs (mm2-offset-syncs.<target>.internal, in the source unless
            offset-syncs.topic.location = target) and its group checkpoints (<source>.checkpoints.internal in the target). It checks that each remote
            partition ends where MM2's position and offset sync say it should, and writes each replicator's checkpoint into the region's
            __mesh_checkpoints so that Mesh continues exactly after the last record MM2 copied, into the same remote topics (A.<topic> under MM2's
            default policy). Partitions MM2 never reached, with an empty remote partition, start from the source's first record.
            It refuses, naming the topic and partition and the fix, when anything disagrees, and then writes nothing. Running it again changes
            nothing. Exit codes: 0 done (or would be, with --dry-run); 2 bad input (configuration, topology); 3 the clusters disagree with MM2's
            state, MM2's topics are missing or unreadable, a cluster cannot be reached, or Mesh has already replicated a partition since.
            """.Replace("\r", ""))
        {
            properties, topologyFile, dryRun, json,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var path = parse.GetValue(properties)!;
            if (!path.Exists) throw new MeshCommandException($"{path.FullName}: no such file (the MirrorMaker 2 configuration MM2 ran with).", 2);
            var text = File.ReadAllText(path.FullName);
            var import = Mm2Importer.Import(text, Path.GetFileNameWithoutExtension(path.Name));
            if (import.HasErrors) throw new MeshCommandException($"{path.Name}: " + string.Join("; ", import.Errors), 2);

            Topology topology;
            if (parse.GetValue(topologyFile) is { } file)
            {
                if (!file.Exists) throw new MeshCommandException($"--topology {file.FullName}: no such file.", 2);
                var load = Topology.Load(File.ReadAllText(file.FullName), file.Name);
                topology = load.Topology ?? throw new MeshCommandException($"--topology {file.Name} is invalid:\n{TopologyReport.Problems(load.Problems, file.Name)}", 2);
            }
            else
            {
                var yaml = TopologyWriter.ToYaml(import.Document, [$"Imported from {path.Name}"]);
                var load = Topology.Load(yaml, path.Name);
                topology = load.Topology ?? throw new MeshCommandException($"the topology imported from {path.Name} is invalid; check it with 'mesh topology import-mm2 {path.Name}':\n" +
                    TopologyReport.Problems(load.Problems, path.Name), 2);
            }

            MigrationResult result;
            try
            {
                result = Mm2Migration.Run(text, import, topology, parse.GetValue(dryRun), cancellationToken);
            }
            catch (UnresolvedSecretException e)
            {
                throw new MeshCommandException($"--topology: {e.Message}", 2);
            }
            if (parse.GetValue(json)) output.WriteLine(Json(result).ToJsonString(JsonOptions));
            else Render(result, output);
            foreach (var problem in result.Problems) error.WriteLine($"mesh: {problem.Message}");
            return Task.FromResult(result.ExitCode);
        });
        return command;
    }

    private static string Outcome(SeedOutcome outcome) => outcome switch
    {
        SeedOutcome.WouldWrite => "would write",
        SeedOutcome.Written => "written",
        SeedOutcome.Unchanged => "unchanged",
        SeedOutcome.NotWritten => "not written",
        _ => "none needed",
    };

    private static string GroupText(GroupPosition group) => group.Outcome switch
    {
        GroupOutcome.WouldCommit => "would commit it",
        GroupOutcome.Committed => "committed",
        GroupOutcome.Unchanged => "committed already",
        GroupOutcome.NotCommitted => "not committed",
        _ => $"left at the {N(group.CommittedInTarget ?? 0)} the group has committed there",
    };

    private static string GroupOutcomeWord(GroupOutcome outcome) => outcome switch
    {
        GroupOutcome.WouldCommit => "would commit",
        GroupOutcome.Committed => "committed",
        GroupOutcome.Unchanged => "unchanged",
        GroupOutcome.NotCommitted => "not committed",
        _ => "kept target's",
    };

    private static string Start(Mm2Start start) => start == Mm2Start.AfterMm2 ? "after-mm2" : "source-start";

    private static void Render(MigrationResult result, TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 160;
        foreach (var flow in result.Flows)
        {
            var t = flow.Topics;
            console.WriteLine($"{t.Source} -> {t.Target}: MM2's positions from {t.OffsetsTopic} in {t.Target}, offset syncs from {t.SyncsTopic} in {t.SyncsCluster}, " +
                              $"checkpoints into {flow.CheckpointRegion}'s __mesh_checkpoints");
            if (flow.Partitions.Count > 0)
            {
                var table = new Table().Border(TableBorder.Simple);
                foreach (var column in new[] { "topic", "partition", "remote topic", "mm2 copied up to", "target end", "mesh starts at", "to copy", "checkpoint" })
                    table.AddColumn(new TableColumn(column));
                foreach (var p in flow.Partitions)
                {
                    var plan = p.Plan;
                    table.AddRow(Markup.Escape(plan.Topic), N(plan.Partition), Markup.Escape(plan.RemoteTopic),
                        plan.LastCopied is { } last ? N(last) : "-", N(plan.TargetEnd),
                        plan.Start == Mm2Start.AfterMm2 ? N(plan.NextSourceOffset) : $"{N(plan.NextSourceOffset)} (source start)",
                        N(plan.Remaining), Outcome(p.Outcome));
                }
                console.Write(table);
                var copied = flow.Partitions.Where(p => p.Plan.Start == Mm2Start.AfterMm2).Sum(p => p.Plan.TargetEnd);
                console.WriteLine($"{flow.Partitions.Count} partitions: Mesh continues after MM2's last copied record and copies {N(flow.Partitions.Sum(p => p.Plan.Remaining))} more records; " +
                                  $"the {N(copied)} records MM2 wrote stay as they are.");
            }
            foreach (var group in flow.Groups)
                console.WriteLine($"group {group.Group}: {group.RemoteTopic}/{group.Partition} resumes at offset {N(group.DownstreamOffset)} in {t.Target} " +
                                  $"(MM2's translation of {N(group.UpstreamOffset)} in {t.Source}): {GroupText(group)}");
            foreach (var note in flow.Plan.Notes) console.WriteLine($"note: {note}");
        }
        if (result.Problems.Count > 0)
            console.WriteLine($"refused: {result.Problems.Count} problem{(result.Problems.Count == 1 ? "" : "s")} (listed on standard error); nothing was written");
        else if (result.DryRun)
            console.WriteLine("dry run: nothing was written; run without --dry-run to write these checkpoints, then start Mesh");
        else
        {
            var all = result.Flows.SelectMany(f => f.Partitions).ToList();
            console.WriteLine($"{all.Count(p => p.Outcome == SeedOutcome.Written)} checkpoints written, {all.Count(p => p.Outcome == SeedOutcome.Unchanged)} already in place. " +
                              "Start Mesh now; check with 'mesh audit' that nothing was skipped or copied twice.");
        }
    }

    private static JsonObject Json(MigrationResult result) => new()
    {
        ["dryRun"] = result.DryRun,
        ["exitCode"] = result.ExitCode,
        ["flows"] = new JsonArray([.. result.Flows.Select(f => (JsonNode)new JsonObject
        {
            ["source"] = f.Topics.Source,
            ["target"] = f.Topics.Target,
            ["offsetsTopic"] = f.Topics.OffsetsTopic,
            ["offsetSyncsTopic"] = f.Topics.SyncsTopic,
            ["offsetSyncsCluster"] = f.Topics.SyncsCluster,
            ["checkpointsTopic"] = f.Topics.CheckpointsTopic,
            ["checkpointRegion"] = f.CheckpointRegion,
            ["partitions"] = new JsonArray([.. f.Partitions.Select(p => (JsonNode)new JsonObject
            {
                ["topic"] = p.Plan.Topic,
                ["partition"] = p.Plan.Partition,
                ["remoteTopic"] = p.Plan.RemoteTopic,
                ["start"] = Start(p.Plan.Start),
                ["lastCopied"] = p.Plan.LastCopied,
                ["nextSourceOffset"] = p.Plan.NextSourceOffset,
                ["sourceEnd"] = p.Plan.SourceHigh,
                ["targetEnd"] = p.Plan.TargetEnd,
                ["remaining"] = p.Plan.Remaining,
                ["checkpoint"] = Outcome(p.Outcome),
                ["checkpointKey"] = p.CheckpointKey,
            })]),
            ["groups"] = new JsonArray([.. f.Groups.Select(g => (JsonNode)new JsonObject
            {
                ["group"] = g.Group,
                ["remoteTopic"] = g.RemoteTopic,
                ["partition"] = g.Partition,
                ["upstreamOffset"] = g.UpstreamOffset,
                ["downstreamOffset"] = g.DownstreamOffset,
                ["committedInTarget"] = g.CommittedInTarget,
                ["outcome"] = GroupOutcomeWord(g.Outcome),
            })]),
            ["notes"] = new JsonArray([.. f.Plan.Notes.Select(n => (JsonNode)JsonValue.Create(n))]),
        })]),
        ["problems"] = new JsonArray([.. result.Problems.Select(p => (JsonNode)new JsonObject
        {
            ["topic"] = p.Topic,
            ["partition"] = p.Partition,
            ["exitCode"] = p.ExitCode,
            ["message"] = p.Message,
        })]),
    };

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
