using System.Text.RegularExpressions;

namespace Mesh.Core.Replication;

/// <summary>
/// Which topics a link replicates: any include pattern matches the whole name and no exclude
/// pattern does. Internal topics (Kafka's <c>__*</c> and the mesh's own) are never replicated,
/// whatever the patterns say.
/// </summary>
public sealed class TopicFilter
{
    /// <summary>Prefix of every topic the mesh itself owns (checkpoints and the like).</summary>
    public const string MeshInternalPrefix = "__mesh";

    private readonly Regex[] _include;
    private readonly Regex[] _exclude;

    public TopicFilter(IEnumerable<string> include, IEnumerable<string> exclude)
    {
        _include = [.. include.Select(Compile)];
        _exclude = [.. exclude.Select(Compile)];
        if (_include.Length == 0) _include = [Compile(".*")];
    }

    public static TopicFilter All { get; } = new([".*"], []);

    public static bool IsInternal(string topic) =>
        topic.StartsWith("__", StringComparison.Ordinal) || topic.StartsWith(MeshInternalPrefix, StringComparison.Ordinal);

    public bool Matches(string topic) =>
        !IsInternal(topic)
        && _include.Any(r => r.IsMatch(topic))
        && !_exclude.Any(r => r.IsMatch(topic));

    /// <summary>Checks a pattern; <paramref name="reason"/> carries the parser's complaint.</summary>
    public static bool IsValidPattern(string pattern, out string reason)
    {
        try
        {
            _ = Compile(pattern);
            reason = "";
            return true;
        }
        catch (ArgumentException e)
        {
            reason = e.Message;
            return false;
        }
    }

    // Anchored: 'orders' must not also select 'orders-dlq'.
    private static Regex Compile(string pattern) =>
        new($"^(?:{pattern})$", RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(1));
}
