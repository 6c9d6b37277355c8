using System.CommandLine;
using System.Diagnostics;
using Mesh.Client.Local;
using Mesh.Client.Traffic;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary>
/// <c>mesh demo</c>: two local regions, traffic produced into both at once, replication shown
/// live, then proof that both regions hold every record exactly once and nothing looped; then teardown.
/// </summary>
internal static class DemoCommand
{
    private static readonly string[] Regions = ["us-east", "eu-west"];
    private const string Topic = "orders";
    private const int Partitions = 4;
    private const int SteadyRate = 100, SteadySeconds = 4;

    public static Command Create()
    {
        var records = new Option<int>("--records") { Description = "Records produced into each region", DefaultValueFactory = _ => 20_000 };
        var dir = new Option<string>("--dir") { Description = "Folder for the demo mesh's state and logs (removed when the demo ends)", DefaultValueFactory = _ => ".mesh-demo" };
        var keep = new Option<bool>("--keep") { Description = "Leave the regions running after the demo (stop them with 'mesh local down --dir <dir>')" };
        var command = new Command("demo", "Two local regions replicating active-active: traffic into both, live progress, then an exact check that each region holds every record once and nothing looped") { records, dir, keep };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var perRegion = parse.GetValue(records);
            if (perRegion is < 1 or > 5_000_000) throw new MeshCommandException("--records must be from 1 to 5000000.", 2);
            var mesh = new LocalMesh(parse.GetValue(dir)!, line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]"));
            try
            {
                return await RunAsync(mesh, perRegion, cancellationToken);
            }
            finally
            {
                if (!parse.GetValue(keep))
                {
                    AnsiConsole.MarkupLine("[grey]tearing down the demo regions[/]");
                    await mesh.DownAsync();
                    try { Directory.Delete(mesh.Paths.Root, recursive: true); } catch (IOException) { }
                }
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(LocalMesh mesh, int perRegion, CancellationToken cancellationToken)
    {
        AnsiConsole.Write(new Rule("[bold]1. two regions, each its own Kafka and silo, replicating both ways[/]").LeftJustified());
        var started = Stopwatch.StartNew();
        await mesh.UpAsync(Regions, brokers: 3, Partitions, [Topic], LocalMesh.DefaultReadyTimeout, cancellationToken);
        AnsiConsole.MarkupLineInterpolated($"regions up and replicating in {started.Elapsed.TotalSeconds:N1} s");

        AnsiConsole.Write(new Rule($"[bold]2. {perRegion:N0} keyed records with application headers produced into each region at once[/]").LeftJustified());
        var probes = Regions.ToDictionary(r => r, r => new ArrivalProbe(mesh.Bootstrap(r), Topic, Partitions));
        var clock = Stopwatch.StartNew();
        try
        {
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var produceBars = Regions.ToDictionary(r => r, r => ctx.AddTask($"produce into {r}", maxValue: perRegion));
                    var replicateBars = Regions.ToDictionary(r => r, r => ctx.AddTask($"replicated into {r}", maxValue: perRegion));
                    var producing = Regions.Select(r => Task.Run(() => TestTraffic.ProduceAsync(mesh.Bootstrap(r), r, Topic, perRegion, keys: 500,
                        acked => produceBars[r].Value = acked, cancellationToken), cancellationToken)).ToList();
                    var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
                    while (Regions.Any(r => probes[r].Replicated < perRegion) || producing.Any(t => !t.IsCompleted))
                    {
                        foreach (var r in Regions) replicateBars[r].Value = probes[r].Replicated;
                        if (producing.FirstOrDefault(t => t.IsFaulted) is { } failed) await failed;
                        if (DateTime.UtcNow > deadline)
                            throw new MeshCommandException("Replication did not complete within 120 s: " +
                                string.Join(", ", Regions.Select(r => $"{r} received {probes[r].Replicated:N0} of {perRegion:N0}")) + ". Run with --keep and look at 'mesh status' and the silo logs.");
                        await Task.Delay(100, cancellationToken);
                    }
                    foreach (var r in Regions) replicateBars[r].Value = probes[r].Replicated;
                    await Task.WhenAll(producing);
                });
        }
        catch
        {
            foreach (var probe in probes.Values) probe.Dispose();
            throw;
        }

        var totalSeconds = clock.Elapsed.TotalSeconds;
        var latencies = probes.Values.SelectMany(p => p.LatenciesMs).ToList();
        List<double> steady;
        try
        {
            steady = await SteadyLatencyAsync(mesh, probes, perRegion, cancellationToken);
        }
        finally
        {
            foreach (var probe in probes.Values) probe.Dispose();
        }

        AnsiConsole.Write(new Rule("[bold]3. proof: every record in every region exactly once, no loop[/]").LeftJustified());
        var produced = Regions.ToDictionary(r => r, _ => perRegion + SteadyRate * SteadySeconds);
        var logs = Regions.ToDictionary(r => r, r => TestTraffic.ReadAll(mesh.Bootstrap(r), Topic, TimeSpan.FromSeconds(60)));
        var check = ReplicaCheck.Check(logs, produced);
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken); // give a loop, if there were one, time to show
        var after = Regions.ToDictionary(r => r, r => TestTraffic.ReadAll(mesh.Bootstrap(r), Topic, TimeSpan.FromSeconds(60)).Count);

        var table = new Table().AddColumns("region", "records held", "expected", "each record once", "count 3 s later");
        foreach (var r in Regions)
        {
            var exact = !check.Problems.Any(p => p.StartsWith(r + " ", StringComparison.Ordinal));
            table.AddRow(r, check.RecordsPerRegion[r].ToString("N0"), produced.Values.Sum().ToString("N0"),
                exact ? "[green]yes[/]" : "[red]no[/]", after[r] == check.RecordsPerRegion[r] ? $"[green]{after[r]:N0} (no loop)[/]" : $"[red]{after[r]:N0}[/]");
        }
        AnsiConsole.Write(table);
        foreach (var problem in check.Problems) AnsiConsole.MarkupLineInterpolated($"[red]{problem}[/]");

        var replicated = perRegion * Regions.Length;
        var rate = replicated / totalSeconds;
        AnsiConsole.MarkupLineInterpolated(
            $"replicated {replicated:N0} records ({perRegion:N0} each way) in {totalSeconds:N1} s from the first produce: [bold]{rate:N0} records/s[/]");
        AnsiConsole.MarkupLineInterpolated(
            $"end-to-end replication latency (origin timestamp to arrival in the other region) during the burst: p50 {ArrivalProbe.Percentile(latencies, 50):N0} ms, p99 {ArrivalProbe.Percentile(latencies, 99):N0} ms");
        AnsiConsole.MarkupLineInterpolated(
            $"end-to-end replication latency under steady traffic: p50 [bold]{ArrivalProbe.Percentile(steady, 50):N0} ms[/], p99 [bold]{ArrivalProbe.Percentile(steady, 99):N0} ms[/], max {ArrivalProbe.Percentile(steady, 100):N0} ms");

        var ok = check.Ok && Regions.All(r => after[r] == check.RecordsPerRegion[r]);
        AnsiConsole.MarkupLine(ok ? "[green bold]demo passed: both regions hold the same records, each exactly once, and nothing looped[/]" : "[red bold]demo FAILED[/]");
        return ok ? 0 : 1;
    }

    /// <summary>
    /// A burst measures how fast a backlog drains; a steady trickle measures one record's trip. The
    /// probes are the burst's, already connected, so their own start-up is not counted.
    /// </summary>
    private static async Task<List<double>> SteadyLatencyAsync(LocalMesh mesh, Dictionary<string, ArrivalProbe> probes, int offset, CancellationToken cancellationToken)
    {
        AnsiConsole.MarkupLineInterpolated($"then steady traffic: {SteadyRate} records/s into each region for {SteadySeconds} s (the last {SteadySeconds - 1} s measured)");
        // The first second warms up the new producers' connections; it is sent but not measured.
        var since = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1000;
        var before = Regions.ToDictionary(r => r, r => probes[r].Replicated);
        await Task.WhenAll(Regions.Select(r => TestTraffic.ProduceAsync(mesh.Bootstrap(r), r, Topic, SteadyRate * SteadySeconds, keys: 500,
            cancellationToken: cancellationToken, firstSequence: offset, recordsPerSecond: SteadyRate)));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Regions.Any(r => probes[r].Replicated - before[r] < SteadyRate * SteadySeconds) && DateTime.UtcNow < deadline)
            await Task.Delay(50, cancellationToken);
        return [.. probes.Values.SelectMany(p => p.LatenciesSince(since))];
    }
}
