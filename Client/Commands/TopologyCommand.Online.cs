using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mesh.Client.Admin;
using Mesh.Core.Topology;
using Spectre.Console;

namespace Mesh.Client.Commands;

// `mesh topology apply` and `get`: the topology the running regions hold.
public static partial class TopologyCommand
{
    public const int Unreachable = 3;

    // Relaxed escaping: links read "a -> b" in the JSON too. The output is for scripts and people, never embedded in HTML.
    internal static readonly JsonSerializerOptions ResultJson = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static Command ApplyCommand()
    {
        var file = FileArgument("file", "The topology file to apply, YAML or JSON; its version must be greater than every region's");
        var dir = CommonOptions.Dir();
        var gateways = CommonOptions.Gateways();
        var dryRun = new Option<bool>("--dry-run") { Description = "Ask every region what the new version would change, and change nothing" };
        var allowUnreachable = new Option<bool>("--allow-unreachable")
        {
            Description = "Apply to the regions that can be reached; the others adopt the new version from their peers when they return",
        };
        var json = CommonOptions.Json();
        var command = new Command("apply", "Apply a new version of the topology to the running regions: every region that runs now and every region of the file " +
            "(regions a local mesh does not run yet are started; regions left out of the file keep running with no links). Shows what changes against what each region runs, " +
            "applies to one region first (the one whose id sorts first: it decides between concurrent applies), then to the others. " +
            "Exit code 0: applied (or --dry-run); 2: the file is invalid, its version does not increase, it moves a route onto or off a push link " +
            "(between links run in different regions) while the old link is not paused, or another apply won (nothing applied); " +
            "3: a region cannot be reached (nothing applied, unless --allow-unreachable); 1: a region failed otherwise. " +
            "The regions are reached through the local mesh in --dir (default .mesh), or the gateways given with --gateways, or, with neither, " +
            "the file's 'gateway:' entries when it names one for every region")
        {
            file, dir, gateways, dryRun, allowUnreachable, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(file)!;
            var error = parse.InvocationConfiguration.Error;
            if (Read(path, error) is not { } text) return Invalid;
            var load = Topology.Load(text, path.Name);
            if (load.Topology is not { } topology)
            {
                error.Write(TopologyReport.Problems(load.Problems, path.Name));
                error.WriteLine($"{path.Name}: invalid: {Plural(load.Errors.Count(), "error")}; nothing was sent to any region.");
                return Invalid;
            }
            var regions = CommonOptions.Regions(parse, dir, gateways, topology, path.Name);
            var asJson = parse.GetValue(json);
            var rollout = new TopologyRollout(regions, (regions as LocalGateways)?.Mesh, Terminal.Progress,
                diff => (asJson ? Console.Error : Console.Out).Write(diff));
            var result = await rollout.RunAsync(new TopologyRollout.Input(text, path.Name, topology), parse.GetValue(dryRun), parse.GetValue(allowUnreachable), cancellationToken);
            if (asJson) Console.WriteLine(ApplyJson(result));
            else RenderApply(result);
            foreach (var line in result.Errors) Console.Error.WriteLine(line);
            return result.ExitCode;
        });
        return command;
    }

    private static Command GetCommand()
    {
        var dir = CommonOptions.Dir();
        var gateways = CommonOptions.Gateways();
        var topologyFile = CommonOptions.TopologyFile();
        var json = CommonOptions.Json();
        var command = new Command("get", "Show the topology each running region holds: version, name, whether the region is in it, the links it runs, paused links, " +
            "when it was applied and from which peer it was adopted. A region on an older version than the others is flagged (it adopts the newer one from its peers). " +
            "Exit code 0: every region answered; 3: a region cannot be reached")
        {
            dir, gateways, topologyFile, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var regions = CommonOptions.Regions(parse, dir, gateways, topologyFile);
            await using var connections = await MeshConnections.OpenAsync(regions, regions.Regions, cancellationToken);
            var read = await connections.ReadTopologiesAsync(cancellationToken);
            if (parse.GetValue(json)) Console.WriteLine(GetJson(read));
            else RenderGet(read);
            return read.Any(r => !r.Reachable) ? Unreachable : Ok;
        });
        return command;
    }

    /// <summary>The note for a region that runs an older version than another; null when it is on the newest.</summary>
    public static string? Behind(long version, long newest) =>
        version < newest
            ? $"runs version {version}; the others run {newest}: it adopts the newer version from its peers"
            : null;

    // versionBefore/versionAfter are null where the region's version is not known (it could not be read).
    internal static string ApplyJson(RolloutResult result) => JsonSerializer.Serialize(new
    {
        version = result.Version,
        name = result.Name,
        dryRun = result.DryRun,
        exitCode = result.ExitCode,
        elapsedMs = (long)result.Elapsed.TotalMilliseconds,
        regions = result.Regions.Select(r => new
        {
            region = r.Region,
            outcome = r.Outcome,
            coordinator = r.Coordinator,
            versionBefore = r.VersionBefore,
            versionAfter = r.VersionAfter,
            linksAdded = r.LinksAdded,
            linksRemoved = r.LinksRemoved,
            linksChanged = r.LinksChanged,
            partitionsRestarted = r.PartitionsRestarted,
            adoptedFrom = r.AdoptedFrom,
            elapsedMs = (long)r.Elapsed.TotalMilliseconds,
            error = r.Error,
        }),
        errors = result.Errors,
        notes = result.Notes,
    }, ResultJson);

    // One line per region, never wrapped, so that it reads in a terminal and greps in a log.
    private static void RenderApply(RolloutResult result)
    {
        Console.WriteLine($"version {result.Version} ('{result.Name}'){(result.DryRun ? ", dry run" : "")}:");
        var width = result.Regions.Select(r => r.Region.Length).DefaultIfEmpty(0).Max();
        foreach (var r in result.Regions)
        {
            AnsiConsole.Markup($"  {Markup.Escape(r.Region.PadRight(width))}  {Outcome(r.Outcome)}");
            Console.WriteLine($"{new string(' ', Math.Max(1, 12 - r.Outcome.Length))}{ApplyLine(r)}");
        }
        foreach (var note in result.Notes) Console.WriteLine(note);
        if (result.ExitCode == Ok && result.Regions.Any(r => r.Outcome == RolloutOutcomes.Applied))
            AnsiConsole.MarkupLineInterpolated($"[green]version {result.Version} applied[/] in {result.Elapsed.TotalSeconds:N1} s");
    }

    /// <summary>What the apply did to one region, after its outcome: versions (unknown where it could not be read), links, restarts, time, error.</summary>
    internal static string ApplyLine(RegionApplyReport r)
    {
        static string Version(long? version) => version?.ToString(CultureInfo.InvariantCulture) ?? "unknown";
        var parts = new List<string>
        {
            r.VersionBefore == r.VersionAfter ? $"version {Version(r.VersionAfter)}" : $"version {Version(r.VersionBefore)} -> {Version(r.VersionAfter)}",
        };
        var links = r.LinksAdded.Select(l => $"+{l}").Concat(r.LinksRemoved.Select(l => $"-{l}")).Concat(r.LinksChanged.Select(l => $"~{l}")).ToList();
        if (links.Count > 0) parts.Add($"links {string.Join(" ", links)}");
        if (r.PartitionsRestarted > 0) parts.Add(r.PartitionsRestarted == 1 ? "1 partition restarted" : $"{r.PartitionsRestarted} partitions restarted");
        if (r.Elapsed > TimeSpan.Zero) parts.Add(string.Create(CultureInfo.InvariantCulture, $"{r.Elapsed.TotalSeconds:N1} s"));
        if (r.Coordinator) parts.Add(r.Outcome is RolloutOutcomes.Applied or RolloutOutcomes.Unchanged ? "applied first" : "asked first");
        if (r.AdoptedFrom is not null) parts.Add($"took it from {r.AdoptedFrom} before this apply reached it");
        if (r.Error is not null) parts.Add(r.Error);
        return string.Join(", ", parts);
    }

    private static string Outcome(string outcome) => outcome switch
    {
        RolloutOutcomes.Applied or RolloutOutcomes.Unchanged => $"[green]{outcome}[/]",
        RolloutOutcomes.WouldApply or RolloutOutcomes.WouldStart => $"[blue]{outcome}[/]",
        RolloutOutcomes.NotApplied => $"[grey]{outcome}[/]",
        _ => $"[red]{Markup.Escape(outcome)}[/]",
    };

    private static long Newest(IReadOnlyList<RegionTopology> read) => read.Where(r => r.Reachable).Select(r => r.Version).DefaultIfEmpty(0).Max();

    internal static string GetJson(IReadOnlyList<RegionTopology> read)
    {
        var newest = Newest(read);
        return JsonSerializer.Serialize(new
        {
            newestVersion = newest,
            regions = read.Select(r => new
            {
                region = r.Region,
                reachable = r.Reachable,
                error = r.Error,
                version = r.Applied?.Version,
                name = r.Applied?.Name,
                inTopology = r.Applied?.InTopology,
                links = r.Applied?.Links,
                paused = r.Applied?.Paused,
                appliedAt = r.Applied?.AppliedAt,
                adoptedFrom = r.Applied?.AdoptedFrom,
                // The document itself may hold literal settings an operator did not mean to print; its hash says whether two regions run the same one.
                documentSha256 = r.Applied is { Document.Length: > 0 } a ? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(a.Document))) : null,
                behind = r.Reachable && r.Version < newest,
                note = r.Reachable ? Behind(r.Version, newest) : null,
            }),
        }, ResultJson);
    }

    private static void RenderGet(IReadOnlyList<RegionTopology> read)
    {
        var newest = Newest(read);
        foreach (var r in read)
        {
            if (r.Applied is not { } a)
            {
                AnsiConsole.MarkupLineInterpolated($"[bold]{r.Region}[/]  [red]cannot be reached[/]");
                Console.WriteLine($"  {r.Error}");
                continue;
            }
            var head = a.Version == 0
                ? "no topology (version 0): it runs no links until one is applied"
                : $"version {a.Version} '{a.Name}'" + (a.AppliedAt is { } at ? $", applied {at.ToString("u", CultureInfo.InvariantCulture)}" : "")
                  + (a.AdoptedFrom is null ? "" : $", adopted from {a.AdoptedFrom}");
            AnsiConsole.MarkupLineInterpolated($"[bold]{r.Region}[/]  {head}");
            if (Behind(a.Version, newest) is { } behind) AnsiConsole.MarkupLineInterpolated($"  [yellow]{behind}[/]");
            if (a.Version > 0 && !a.InTopology) Console.WriteLine("  not in its topology: it runs no links");
            foreach (var link in a.Links) Console.WriteLine($"  link   {link}");
            foreach (var paused in a.Paused) AnsiConsole.MarkupLineInterpolated($"  [blue]paused[/] {paused}");
        }
    }
}
