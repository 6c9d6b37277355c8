using Mesh.Core.Topology;

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

    private readonly string[] _include;
    private readonly string[] _exclude;

    /// <exception cref="ArgumentException">A pattern is not a valid regular expression.</exception>
    public TopicFilter(IEnumerable<string> include, IEnumerable<string> exclude)
    {
        _include = [.. include];
        _exclude = [.. exclude];
        if (_include.Length == 0) _include = [".*"];
        foreach (var pattern in _include.Concat(_exclude))
            if (!IsValidPattern(pattern, out var reason))
                throw new ArgumentException($"topic pattern '{pattern}' is invalid: {reason}");
    }

    public static TopicFilter All { get; } = new([".*"], []);

    public static bool IsInternal(string topic) =>
        topic.StartsWith("__", StringComparison.Ordinal) || topic.StartsWith(MeshInternalPrefix, StringComparison.Ordinal);

    // Whole-name matching, shared with the topology model: 'orders' must not also select 'orders-dlq'.
    public bool Matches(string topic) =>
        !IsInternal(topic)
        && _include.Any(p => TopicPattern.IsMatch(p, topic))
        && !_exclude.Any(p => TopicPattern.IsMatch(p, topic));

    /// <summary>Checks a pattern; <paramref name="reason"/> carries the parser's complaint.</summary>
    public static bool IsValidPattern(string pattern, out string reason) => TopicPattern.IsValid(pattern, out reason);
}
