using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Mesh.Core.Topology;

/// <summary>
/// Topic and group expressions: .NET regular expressions matched against the whole name, as
/// MirrorMaker 2 matches its Java ones, so <c>orders</c> does not select <c>orders-dlq</c>.
/// </summary>
public static class TopicPattern
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);
    private static readonly ConcurrentDictionary<string, Regex> Compiled = new(StringComparer.Ordinal);

    public static bool IsValid(string pattern, out string error)
    {
        try
        {
            _ = Get(pattern);
            error = "";
            return true;
        }
        catch (ArgumentException e)
        {
            error = e.Message;
            return false;
        }
    }

    /// <exception cref="ArgumentException">The expression is invalid.</exception>
    public static bool IsMatch(string pattern, string name) => Get(pattern).IsMatch(name);

    private static Regex Get(string pattern) =>
        Compiled.TryGetValue(pattern, out var regex)
            ? regex
            : Compiled.GetOrAdd(pattern, Compile);

    private static Regex Compile(string pattern)
    {
        // Parse the expression alone first: wrapped, "a)(b" would pass as "^(?:a)(b)\z".
        _ = new Regex(pattern, RegexOptions.CultureInvariant, MatchTimeout);
        return new Regex($"^(?:{pattern})\\z", RegexOptions.CultureInvariant, MatchTimeout);
    }
}
