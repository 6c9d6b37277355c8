using System.Globalization;

namespace Mesh.Core.Topology;

public enum ChangeKind
{
    Added,
    Removed,
    Changed,
}

/// <param name="Key">What changed: a region id, <c>a -> b</c> for a link, a setting name, a topic expression.</param>
public sealed record Change<T>(ChangeKind Kind, string Key, T? Before, T? After) where T : class;

/// <summary>
/// What applying <see cref="NewVersion"/> over <see cref="OldVersion"/> changes: settings, regions,
/// links (and so the partitions to start and stop), topic rules, and which origins each link carries.
/// </summary>
public sealed record TopologyDiff(
    long OldVersion,
    long NewVersion,
    IReadOnlyList<Change<string>> Settings,
    IReadOnlyList<Change<Region>> Regions,
    IReadOnlyList<Change<Link>> Links,
    IReadOnlyList<Change<string>> Topics,
    IReadOnlyList<Change<ConflictRule>> Conflicts,
    IReadOnlyList<Change<LinkOrigins>> Forwarding,
    IReadOnlyList<TopologyProblem> Problems)
{
    /// <summary>A topology is applied only over an older version.</summary>
    public bool VersionIncreases => NewVersion > OldVersion;

    public bool IsEmpty =>
        Settings.Count + Regions.Count + Links.Count + Topics.Count + Conflicts.Count + Forwarding.Count == 0;

    public static TopologyDiff Compare(Topology old, Topology @new)
    {
        var settings = new List<Change<string>>();
        Setting(settings, "name", old.Name, @new.Name);
        Setting(settings, "naming", TopologyKeywords.Word(old.Naming), TopologyKeywords.Word(@new.Naming));
        Setting(settings, "separator", old.Separator, @new.Separator);
        Setting(settings, "pattern", TopologyKeywords.Word(old.Pattern), TopologyKeywords.Word(@new.Pattern));
        Setting(settings, "primary", old.Primary, @new.Primary);
        Setting(settings, "hub", old.Hub, @new.Hub);
        Setting(settings, "offsets", Describe(old.Offsets), Describe(@new.Offsets));

        var topics = new List<Change<string>>();
        Expressions(topics, "include", old.Topics.Selection.Include, @new.Topics.Selection.Include);
        Expressions(topics, "exclude", old.Topics.Selection.Exclude, @new.Topics.Selection.Exclude);
        Expressions(topics, "exactly-once", old.Topics.ExactlyOnce, @new.Topics.ExactlyOnce);

        var problems = new List<TopologyProblem>();
        if (@new.Version <= old.Version)
        {
            problems.Add(new TopologyProblem("version",
                $"version must increase: the new topology has {@new.Version.ToString(CultureInfo.InvariantCulture)}, the one it replaces {old.Version.ToString(CultureInfo.InvariantCulture)}",
                $"set 'version: {(old.Version + 1).ToString(CultureInfo.InvariantCulture)}' or higher in the new file"));
        }

        return new TopologyDiff(
            old.Version,
            @new.Version,
            settings,
            Keyed(old.Regions, @new.Regions, r => r.Id),
            Keyed(old.Links, @new.Links, l => l.ToString()),
            topics,
            Keyed(old.Topics.Conflict, @new.Topics.Conflict, c => c.Topic),
            Keyed(old.Forwarding.Entries, @new.Forwarding.Entries, e => $"{e.From} -> {e.To}"),
            problems);
    }

    private static IReadOnlyList<Change<T>> Keyed<T>(IEnumerable<T> before, IEnumerable<T> after, Func<T, string> key) where T : class
    {
        var old = before.GroupBy(key).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var current = after.GroupBy(key).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var changes = new List<Change<T>>();
        foreach (var k in old.Keys.Union(current.Keys).Order(StringComparer.Ordinal))
        {
            var was = old.GetValueOrDefault(k);
            var now = current.GetValueOrDefault(k);
            if (was is null) changes.Add(new Change<T>(ChangeKind.Added, k, null, now));
            else if (now is null) changes.Add(new Change<T>(ChangeKind.Removed, k, was, null));
            else if (!was.Equals(now)) changes.Add(new Change<T>(ChangeKind.Changed, k, was, now));
        }
        return changes;
    }

    private static void Setting(List<Change<string>> changes, string key, string? before, string? after)
    {
        if (before == after) return;
        var kind = before is null ? ChangeKind.Added : after is null ? ChangeKind.Removed : ChangeKind.Changed;
        changes.Add(new Change<string>(kind, key, before, after));
    }

    private static void Expressions(List<Change<string>> changes, string list, IReadOnlyList<string> before, IReadOnlyList<string> after)
    {
        foreach (var removed in before.Except(after, StringComparer.Ordinal)) changes.Add(new Change<string>(ChangeKind.Removed, list, removed, null));
        foreach (var added in after.Except(before, StringComparer.Ordinal)) changes.Add(new Change<string>(ChangeKind.Added, list, null, added));
    }

    private static string? Describe(OffsetSettings? offsets)
    {
        if (offsets is null) return null;
        var parts = new List<string>();
        if (offsets.Checkpoints is { } checkpoints) parts.Add($"checkpoints={checkpoints.ToString().ToLowerInvariant()}");
        if (offsets.Sync is { } sync) parts.Add($"sync={sync.ToString().ToLowerInvariant()}");
        if (offsets.IntervalSeconds is { } interval) parts.Add($"intervalSeconds={interval.ToString(CultureInfo.InvariantCulture)}");
        if (offsets.Groups is { } groups) parts.Add($"groups=[{string.Join(", ", groups)}]");
        if (offsets.GroupsExclude is { } excluded) parts.Add($"groupsExclude=[{string.Join(", ", excluded)}]");
        return string.Join(" ", parts);
    }
}
