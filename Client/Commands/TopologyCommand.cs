using System.CommandLine;
using Mesh.Core.Topology;

namespace Mesh.Client.Commands;

/// <summary>
/// <c>mesh topology</c>: work on topology files (validate, show, diff, import-mm2: offline) and on
/// the topology the running regions hold (apply, get). Exit codes: 0 valid, 2 the input has errors
/// (or a diff or an apply does not increase the version), 3 a region cannot be reached, 1 an
/// unexpected failure.
/// </summary>
public static partial class TopologyCommand
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Invalid = 2;

    public static Command Create()
    {
        var command = new Command("topology", "Validate, show, compare and import topology files, offline; apply one to the running regions and see what each runs");
        command.Subcommands.Add(ValidateCommand());
        command.Subcommands.Add(ShowCommand());
        command.Subcommands.Add(DiffCommand());
        command.Subcommands.Add(ImportMm2Command());
        command.Subcommands.Add(ApplyCommand());
        command.Subcommands.Add(GetCommand());
        return command;
    }

    private static Command ValidateCommand()
    {
        var file = FileArgument("file", "The topology file, YAML or JSON");
        var command = new Command("validate", "Check a topology file and list every problem with its fix") { file };
        command.SetAction(parse => Run(parse, (output, error) =>
        {
            var path = parse.GetValue(file)!;
            if (Load(path, error) is not { } load) return Invalid;
            output.Write(TopologyReport.Problems(load.Problems, path.Name));
            var errors = load.Errors.Count();
            var warnings = load.Warnings.Count();
            if (load.Topology is { } topology)
            {
                output.WriteLine($"{path.Name}: valid: {topology}" + (warnings > 0 ? $" ({Plural(warnings, "warning")})" : ""));
                return Ok;
            }
            output.WriteLine($"{path.Name}: invalid: {Plural(errors, "error")}, {Plural(warnings, "warning")}");
            return Invalid;
        }));
        return command;
    }

    private static Command ShowCommand()
    {
        var file = FileArgument("file", "The topology file, YAML or JSON");
        var json = new Option<bool>("--json") { Description = "Print JSON instead of tables" };
        var command = new Command("show", "Print regions, links, routes, the forwarding table and remote topic names") { file, json };
        command.SetAction(parse => Run(parse, (output, error) =>
        {
            var path = parse.GetValue(file)!;
            if (LoadValid(path, error) is not { } topology) return Invalid;
            output.Write(parse.GetValue(json)
                ? TopologyReport.ShowJson(topology).ToJsonString(TopologyReport.JsonOptions) + "\n"
                : TopologyReport.Show(topology));
            return Ok;
        }));
        return command;
    }

    private static Command DiffCommand()
    {
        var oldFile = FileArgument("old", "The topology applied now");
        var newFile = FileArgument("new", "The topology to apply");
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text" };
        var command = new Command("diff", "Show what applying <new> over <old> changes, and check that the version increases") { oldFile, newFile, json };
        command.SetAction(parse => Run(parse, (output, error) =>
        {
            var before = LoadValid(parse.GetValue(oldFile)!, error);
            var after = LoadValid(parse.GetValue(newFile)!, error);
            if (before is null || after is null) return Invalid;
            var diff = TopologyDiff.Compare(before, after);
            output.Write(parse.GetValue(json)
                ? TopologyReport.DiffJson(diff).ToJsonString(TopologyReport.JsonOptions) + "\n"
                : TopologyReport.Diff(diff));
            return diff.VersionIncreases ? Ok : Invalid;
        }));
        return command;
    }

    private static Command ImportMm2Command()
    {
        var file = FileArgument("mm2.properties", "The MirrorMaker 2 configuration");
        var outputFile = new Option<FileInfo?>("--output", "-o") { Description = "Write the topology here instead of to standard output" };
        var command = new Command("import-mm2", "Convert a MirrorMaker 2 configuration into a topology file; unmapped settings go to standard error") { file, outputFile };
        command.SetAction(parse => Run(parse, (output, error) =>
        {
            var path = parse.GetValue(file)!;
            if (Read(path, error) is not { } text) return Invalid;
            var target = parse.GetValue(outputFile);
            var name = Path.GetFileNameWithoutExtension(path.Name);
            var import = Mm2Importer.Import(text, name);

            foreach (var problem in import.Errors) error.WriteLine($"{path.Name}: error: {problem}");
            if (import.HasErrors) return Invalid;
            foreach (var note in import.Notes) error.WriteLine($"note: {note}");
            foreach (var setting in import.Unmapped) error.WriteLine($"{path.Name}:{setting.Line}: not mapped: {setting.Key}={setting.Value}: {setting.Reason}");

            var yaml = TopologyWriter.ToYaml(import.Document,
            [
                $"Imported from {path.Name} by 'mesh topology import-mm2'.",
                import.Unmapped.Count == 0
                    ? "Every MirrorMaker 2 setting was mapped."
                    : $"{Plural(import.Unmapped.Count, "MirrorMaker 2 setting")} could not be mapped; the import listed them on standard error.",
            ]);
            // Check what was written, as it will be read back, not the in-memory document.
            var load = Topology.Load(yaml, target?.Name ?? "(output)");
            if (target is null) output.Write(yaml);
            else
            {
                File.WriteAllText(target.FullName, yaml);
                error.WriteLine($"wrote {target.FullName}");
            }
            error.Write(TopologyReport.Problems(load.Problems, target?.Name ?? "(output)"));
            return load.IsValid ? Ok : Invalid;
        }));
        return command;
    }

    private static Argument<FileInfo> FileArgument(string name, string description) => new(name) { Description = description };

    private static int Run(ParseResult parse, Func<TextWriter, TextWriter, int> action)
    {
        var output = parse.InvocationConfiguration.Output;
        var error = parse.InvocationConfiguration.Error;
        try
        {
            return action(output, error);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"error: {e.Message}");
            return Failure;
        }
        catch (Exception e)
        {
            error.WriteLine($"unexpected failure: {e}");
            return Failure;
        }
    }

    private static string? Read(FileInfo file, TextWriter error)
    {
        if (file.Exists) return File.ReadAllText(file.FullName);
        error.WriteLine($"error: {file.FullName}: no such file");
        return null;
    }

    private static TopologyLoad? Load(FileInfo file, TextWriter error) =>
        Read(file, error) is { } text ? Topology.Load(text, file.Name) : null;

    /// <summary>The topology, or null after printing its problems.</summary>
    private static Topology? LoadValid(FileInfo file, TextWriter error)
    {
        if (Load(file, error) is not { } load) return null;
        if (load.Topology is { } topology) return topology;
        error.Write(TopologyReport.Problems(load.Problems, file.Name));
        error.WriteLine($"{file.Name}: invalid: {Plural(load.Errors.Count(), "error")}");
        return null;
    }

    private static string Plural(int count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";
}
