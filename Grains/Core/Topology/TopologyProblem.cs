using System.Text;

namespace Mesh.Core.Topology;

public enum ProblemSeverity
{
    Error,
    Warning,
}

/// <summary>
/// One thing wrong with a topology file.
/// </summary>
/// <param name="Path">Where in the document: <c>links[2].to</c>, <c>regions.eu-west.kafka["sasl.password"]</c>; empty for the whole file.</param>
/// <param name="Message">What is wrong, naming the offending value.</param>
/// <param name="Fix">What to do about it.</param>
/// <param name="Line">1-based line in the file, when known.</param>
/// <param name="Column">1-based column in the file, when known.</param>
public sealed record TopologyProblem(
    string Path,
    string Message,
    string Fix,
    ProblemSeverity Severity = ProblemSeverity.Error,
    int? Line = null,
    int? Column = null)
{
    public bool IsError => Severity == ProblemSeverity.Error;

    /// <summary><c>topology.yaml:12:7: error: links[2].to: unknown region 'eu-wst'</c>.</summary>
    public string Describe(string? sourceName = null)
    {
        var sb = new StringBuilder();
        if (!string.IsNullOrEmpty(sourceName))
        {
            sb.Append(sourceName);
            if (Line is not null) sb.Append(':').Append(Line).Append(':').Append(Column ?? 1);
            sb.Append(": ");
        }
        else if (Line is not null)
        {
            sb.Append("line ").Append(Line).Append(", column ").Append(Column ?? 1).Append(": ");
        }
        sb.Append(Severity == ProblemSeverity.Error ? "error" : "warning").Append(": ");
        if (Path.Length > 0) sb.Append(Path).Append(": ");
        sb.Append(Message);
        return sb.ToString();
    }

    public override string ToString() => Describe();
}

/// <summary>Builds the problem paths: dotted keys, <c>[i]</c> indexes, and <c>["..."]</c> for keys that need quoting.</summary>
public static class TopologyPath
{
    public static string Key(string parent, string key)
    {
        var plain = key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
        if (!plain) return parent + "[\"" + key.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"]";
        return parent.Length == 0 ? key : parent + "." + key;
    }

    public static string Index(string parent, int index) => $"{parent}[{index}]";

    /// <summary>The enclosing path: <c>links[2].to</c> to <c>links[2]</c> to <c>links</c> to empty.</summary>
    public static string Parent(string path)
    {
        if (path.EndsWith("\"]", StringComparison.Ordinal))
        {
            var open = path.LastIndexOf("[\"", StringComparison.Ordinal);
            return open <= 0 ? "" : path[..open];
        }
        if (path.EndsWith(']'))
        {
            var open = path.LastIndexOf('[');
            return open <= 0 ? "" : path[..open];
        }
        var dot = path.LastIndexOf('.');
        return dot < 0 ? "" : path[..dot];
    }
}

public readonly record struct SourcePosition(int Line, int Column);

/// <summary>
/// Where each path of a document was read from. Two documents that say the same thing are equal
/// wherever they were read from, so a source map never makes documents differ.
/// </summary>
public sealed class SourceMap : IEquatable<SourceMap>
{
    private readonly IReadOnlyDictionary<string, SourcePosition> _positions;

    public static SourceMap None { get; } = new(new Dictionary<string, SourcePosition>());

    public SourceMap(IReadOnlyDictionary<string, SourcePosition> positions, string? sourceName = null)
    {
        _positions = positions;
        SourceName = sourceName;
    }

    public string? SourceName { get; }

    /// <summary>The position of <paramref name="path"/>, or of its closest enclosing path that has one.</summary>
    public SourcePosition? Find(string path)
    {
        while (true)
        {
            if (_positions.TryGetValue(path, out var position)) return position;
            if (path.Length == 0) return null;
            path = TopologyPath.Parent(path);
        }
    }

    /// <summary>The problem with its line and column filled from this map when it has none.</summary>
    public TopologyProblem Locate(TopologyProblem problem)
    {
        if (problem.Line is not null) return problem;
        var position = Find(problem.Path);
        return position is null ? problem : problem with { Line = position.Value.Line, Column = position.Value.Column };
    }

    public bool Equals(SourceMap? other) => other is not null;

    public override bool Equals(object? obj) => obj is SourceMap;

    public override int GetHashCode() => 0;
}
