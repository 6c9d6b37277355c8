using System.CommandLine;
using Mesh.Client.Drill;
using Mesh.Client.Local;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary>
/// <c>mesh drill</c>: a region-loss drill on a local mesh of its own. Exit codes: 0 the group lost
/// nothing and every region is identical afterwards; 1 otherwise (the reasons are printed); 2 bad input.
/// </summary>
internal static class DrillCommand
{
    public static Command Create()
    {
        var dir = new Option<string>("--dir") { Description = "Folder for the drill's mesh (state and logs), kept afterwards; default: a new temporary folder, removed at the end" };
        var regions = new Option<string>("--regions") { Description = "Comma-separated regions of the drill's full mesh, at least three", DefaultValueFactory = _ => string.Join(",", DrillOptions.DefaultRegions) };
        var kill = new Option<string>("--kill") { Description = "The region that dies (the consumer group reads there until it does); default: the first region" };
        var rate = new Option<int>("--rate") { Description = "Records per second produced into each region", DefaultValueFactory = _ => 50 };
        var warmup = new Option<int>("--warmup") { Description = "Seconds of traffic before the kill", DefaultValueFactory = _ => 10 };
        var partitions = new Option<int>("--partitions") { Description = "Partitions of the drill's topic", DefaultValueFactory = _ => 4 };
        var rebuildTimeout = new Option<int>("--rebuild-timeout") { Description = "Seconds the restarted region may take to hold every record the survivors held", DefaultValueFactory = _ => 180 };
        var json = CommonOptions.Json();
        var keep = new Option<bool>("--keep") { Description = "Leave the drill's regions running afterwards (stop them with 'mesh local down --dir <dir>')" };
        var command = new Command("drill", "Region-loss drill on a local mesh of its own: steady producers in every region and a consumer group in one; " +
            "kills that region whole (Kafka and silos) without warning, fails the group over to a survivor, restarts the region empty, waits for its " +
            "rebuild and audits the mesh. Reports RPO (records acknowledged that no survivor held, and the oldest one's age), RTO (kill to the group " +
            "consuming in the survivor), records the group lost and re-processed, rebuild time and whether every region is identical. " +
            "Exit code 0: nothing lost and regions identical; 1: otherwise; 2: bad input")
        {
            dir, regions, kill, rate, warmup, partitions, rebuildTimeout, json, keep,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new DrillOptions
            {
                Regions = CommonOptions.SplitList(parse.GetValue(regions)),
                Kill = parse.GetValue(kill),
                Rate = parse.GetValue(rate),
                Warmup = TimeSpan.FromSeconds(parse.GetValue(warmup)),
                Partitions = parse.GetValue(partitions),
                RebuildTimeout = TimeSpan.FromSeconds(parse.GetValue(rebuildTimeout)),
            };
            options.Validate();
            var dirGiven = parse.GetValue(dir);
            var root = dirGiven ?? Path.Combine(Path.GetTempPath(), $"mesh-drill-{Guid.NewGuid():N}"[..19]);
            // The drill stops what it started at the end: never someone else's mesh.
            if (LocalMeshState.TryLoad(root) is not null)
                throw new MeshCommandException($"--dir {root} already holds a local mesh; give the drill a new folder (it starts and stops a mesh of its own).", 2);
            var mesh = new LocalMesh(root, Terminal.Progress);
            var keepRunning = parse.GetValue(keep);
            try
            {
                var report = await new DrillRunner(mesh, options, Terminal.Progress).RunAsync(cancellationToken);
                if (parse.GetValue(json)) Console.WriteLine(DrillOutput.Json(report));
                else AnsiConsole.Write(DrillOutput.Table(report));
                foreach (var failure in report.Failures) Terminal.Error.MarkupLineInterpolated($"[red]drill failed: {failure}[/]");
                if (report.Passed) Terminal.Progress("drill passed: the group lost nothing and every region is identical");
                return report.Passed ? 0 : 1;
            }
            finally
            {
                if (keepRunning)
                    Terminal.Progress($"the drill's regions keep running in {mesh.Paths.Root}; stop them with 'mesh local down --dir {mesh.Paths.Root}'");
                else
                {
                    Terminal.Progress("stopping the drill's regions");
                    await mesh.DownAsync();
                    if (dirGiven is null)
                        try { Directory.Delete(mesh.Paths.Root, recursive: true); } catch (IOException) { }
                    else Terminal.Progress($"its state and logs are kept in {mesh.Paths.Root}");
                }
            }
        });
        return command;
    }
}
