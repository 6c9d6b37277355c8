using System.CommandLine;
using Mesh.Client.Admin;
using Mesh.Client.Local;
using Mesh.Core.Topology;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary>Options shared by several verbs.</summary>
internal static class CommonOptions
{
    public static Option<string> Dir() => new("--dir")
    {
        Description = "Folder holding the local mesh's state, logs and each region's bootstrap file",
        DefaultValueFactory = _ => ".mesh",
    };

    public static Option<string> Gateways() => new("--gateways")
    {
        Description = "Reach regions through their silo gateways instead of a local mesh: region=host:port,... (each region is the Orleans cluster mesh-<region>, service mesh); not with --dir",
    };

    /// <summary>
    /// How the verb reaches the regions: <c>--gateways</c>; else <c>--dir</c> when given; else the
    /// gateways of <paramref name="topology"/> when it names one for every region; else the local
    /// mesh in the default folder.
    /// </summary>
    public static IRegionGateways Regions(ParseResult parse, Option<string> dir, Option<string> gateways, Topology? topology = null, string? sourceName = null)
    {
        var dirGiven = parse.GetResult(dir) is { Implicit: false };
        var named = parse.GetValue(gateways);
        var fromFile = topology?.Regions.Where(r => r.Gateway.Count > 0)
            .ToDictionary(r => r.Id, r => (IReadOnlyList<string>)[.. r.Gateway], StringComparer.Ordinal) ?? [];
        if (named is not null)
        {
            if (dirGiven) throw new MeshCommandException("--dir and --gateways exclude each other: give the local mesh's folder or the regions' gateways.", 2);
            return NamedGateways.Parse(named).With(fromFile);
        }
        if (!dirGiven && topology is not null && fromFile.Count == topology.Regions.Count)
            return new NamedGateways(fromFile, $"the gateways in {sourceName ?? "the topology file"}");
        var root = parse.GetValue(dir)!;
        if (!dirGiven && LocalMeshState.TryLoad(root) is null)
            throw new MeshCommandException($"No local mesh in '{root}' (no {LocalMeshState.FileName}). Give the folder of a local mesh with --dir, " +
                "or reach the regions through their gateways with --gateways region=host:port,...");
        return new LocalGateways(new LocalMesh(root, Terminal.Progress));
    }

    public static Option<FileInfo> TopologyFile() => new("--topology")
    {
        Description = "A topology file (YAML or JSON): reach its regions through the gateways it names ('gateway:' per region); --gateways adds or overrides",
    };

    /// <summary>
    /// <see cref="Regions(ParseResult, Option{string}, Option{string}, Topology?, string?)"/> with <c>--topology FILE</c> read and
    /// validated first: a file that does not parse or validate stops the verb with the validator's messages (exit code 2), and a
    /// file that leaves a region without a gateway (none given with --gateways either) says which.
    /// </summary>
    public static IRegionGateways Regions(ParseResult parse, Option<string> dir, Option<string> gateways, Option<FileInfo> topologyFile)
    {
        if (parse.GetValue(topologyFile) is not { } file) return Regions(parse, dir, gateways);
        if (parse.GetResult(dir) is { Implicit: false })
            throw new MeshCommandException("--dir and --topology exclude each other: give the local mesh's folder or the topology file of the deployed mesh.", 2);
        if (!file.Exists) throw new MeshCommandException($"--topology: {file.FullName} does not exist.", 2);
        var load = Topology.Load(File.ReadAllText(file.FullName), file.Name);
        if (load.Topology is not { } topology)
            throw new MeshCommandException($"--topology: {file.Name} is not a valid topology:{Environment.NewLine}{TopologyReport.Problems(load.Problems, file.Name).TrimEnd()}", 2);
        var named = parse.GetValue(gateways) is { } given ? NamedGateways.Parse(given).Regions : [];
        var missing = topology.Regions.Where(r => r.Gateway.Count == 0 && !named.Contains(r.Id)).Select(r => r.Id).ToList();
        if (missing.Count > 0)
            throw new MeshCommandException($"--topology: {file.Name} names no gateway for {string.Join(", ", missing)}: add 'gateway: [host:port]' to " +
                $"{(missing.Count == 1 ? "that region" : "those regions")}, or give --gateways {missing[0]}=host:port.", 2);
        return Regions(parse, dir, gateways, topology, file.Name);
    }

    public static Option<bool> Json() => new("--json") { Description = "Print machine-readable JSON instead of tables" };

    public static List<string> SplitList(string? value) =>
        string.IsNullOrWhiteSpace(value) ? [] : [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}

/// <summary>Where verbs write: results on standard output, progress and errors on standard error.</summary>
internal static class Terminal
{
    public static IAnsiConsole Error { get; } = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    /// <summary>
    /// One progress line of a long step on standard error (standard output stays for results and
    /// JSON): grey in a terminal, a plain unwrapped line when redirected.
    /// </summary>
    public static void Progress(string line)
    {
        if (Console.IsErrorRedirected) Console.Error.WriteLine(line);
        else Error.MarkupLineInterpolated($"[grey]{line}[/]");
    }
}
