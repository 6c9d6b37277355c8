using System.CommandLine;

namespace Mesh.Client.Commands;

/// <summary>Options shared by several verbs.</summary>
internal static class CommonOptions
{
    public static Option<string> Dir() => new("--dir")
    {
        Description = "Folder holding the local mesh's state, logs and each region's bootstrap file",
        DefaultValueFactory = _ => ".mesh",
    };

    public static Option<bool> Json() => new("--json") { Description = "Print machine-readable JSON instead of tables" };

    public static List<string> SplitList(string? value) =>
        string.IsNullOrWhiteSpace(value) ? [] : [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
