namespace Mesh.Core.Topology;

/// <summary>The words the topology file uses for its enumerated values.</summary>
public static class TopologyKeywords
{
    private static readonly (TopologyPattern Value, string Word)[] Patterns =
    [
        (TopologyPattern.Custom, "custom"),
        (TopologyPattern.ActivePassive, "active-passive"),
        (TopologyPattern.ActiveActive, "active-active"),
        (TopologyPattern.HubSpoke, "hub-spoke"),
        (TopologyPattern.Mesh, "mesh"),
    ];

    private static readonly (NamingPolicy Value, string Word)[] Namings = [(NamingPolicy.Identity, "identity"), (NamingPolicy.Prefix, "prefix")];
    private static readonly (LinkMode Value, string Word)[] Modes = [(LinkMode.Pull, "pull"), (LinkMode.Push, "push")];
    private static readonly (ConflictPolicy Value, string Word)[] Policies = [(ConflictPolicy.None, "none"), (ConflictPolicy.Lww, "lww")];

    public static string Word(TopologyPattern value) => Patterns.First(p => p.Value == value).Word;
    public static string Word(NamingPolicy value) => Namings.First(p => p.Value == value).Word;
    public static string Word(LinkMode value) => Modes.First(p => p.Value == value).Word;
    public static string Word(ConflictPolicy value) => Policies.First(p => p.Value == value).Word;

    public static IReadOnlyList<string> PatternWords { get; } = Patterns.Select(p => p.Word).ToArray();
    public static IReadOnlyList<string> NamingWords { get; } = Namings.Select(p => p.Word).ToArray();
    public static IReadOnlyList<string> ModeWords { get; } = Modes.Select(p => p.Word).ToArray();
    public static IReadOnlyList<string> PolicyWords { get; } = Policies.Select(p => p.Word).ToArray();

    public static bool TryParse(string word, out TopologyPattern value) => TryFind(Patterns, word, out value);
    public static bool TryParse(string word, out NamingPolicy value) => TryFind(Namings, word, out value);
    public static bool TryParse(string word, out LinkMode value) => TryFind(Modes, word, out value);
    public static bool TryParse(string word, out ConflictPolicy value) => TryFind(Policies, word, out value);

    private static bool TryFind<T>((T Value, string Word)[] table, string word, out T value)
    {
        foreach (var entry in table)
        {
            if (string.Equals(entry.Word, word, StringComparison.OrdinalIgnoreCase))
            {
                value = entry.Value;
                return true;
            }
        }
        value = default!;
        return false;
    }

    /// <summary>The closest candidate within two edits, for "did you mean" hints.</summary>
    public static string? Closest(string word, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = 3;
        foreach (var candidate in candidates)
        {
            var distance = EditDistance(word.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
