using Mesh.Core.Topology;

namespace Mesh.Core.Offsets;

/// <summary>
/// Continuous offset sync as the topology's <c>offsets:</c> section asks for it: the groups it covers
/// (<c>groups</c>, whole-name regular expressions, minus <c>groupsExclude</c>), whether it runs
/// (a topology that names groups syncs them unless <c>sync: false</c>) and how often.
/// </summary>
public sealed record OffsetSyncSettings(bool Enabled, TimeSpan Interval, IReadOnlyList<string> Groups, IReadOnlyList<string> GroupsExclude)
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(5);

    public static OffsetSyncSettings Disabled { get; } = new(false, DefaultInterval, [], []);

    public static OffsetSyncSettings From(OffsetSettings? offsets)
    {
        if (offsets is null) return Disabled;
        var groups = offsets.Groups ?? ValueList<string>.Empty;
        var interval = offsets.IntervalSeconds is long seconds and > 0 ? TimeSpan.FromSeconds(seconds) : DefaultInterval;
        return new OffsetSyncSettings(groups.Count > 0 && offsets.Sync != false, interval, groups, offsets.GroupsExclude ?? ValueList<string>.Empty);
    }

    public bool Covers(string group) =>
        Groups.Any(g => TopicPattern.IsMatch(g, group)) && !GroupsExclude.Any(g => TopicPattern.IsMatch(g, group));

    /// <summary>
    /// Groups named outright (an expression that matches only itself, dots aside): they can be synced
    /// where the cluster cannot list its groups (the embedded mock implements no ListGroups).
    /// </summary>
    public IEnumerable<string> NamedGroups() => Groups.Where(g => IsPlainName(g) && Covers(g)).Distinct(StringComparer.Ordinal);

    /// <summary>Some group is given by a pattern: finding its groups takes listing the cluster's.</summary>
    public bool HasPatterns => Groups.Any(g => !IsPlainName(g));

    private static bool IsPlainName(string group) => group.Length > 0 && group.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}

/// <summary>Where a consumer group's offsets are to be taken from, for one region, or why nowhere.</summary>
/// <param name="Source">The one region where the group is active; null when the region should leave the group alone.</param>
public sealed record SyncSource(string? Source, string Reason)
{
    /// <summary>
    /// A region takes a group's offsets from the one other region where it is active; when it is active
    /// here, in several regions, in none, or a region could not say, it does nothing.
    /// </summary>
    /// <param name="active">Per region: whether the group has members there; null when the region did not answer.</param>
    public static SyncSource Decide(string region, IReadOnlyDictionary<string, bool?> active)
    {
        if (active.GetValueOrDefault(region) is not false)
            return new(null, active.GetValueOrDefault(region) is true ? $"it is active in {region}" : $"{region} cannot say whether it is active there");
        var unknown = active.Where(a => a.Value is null).Select(a => a.Key).Order(StringComparer.Ordinal).ToList();
        var where = active.Where(a => a.Value is true).Select(a => a.Key).Order(StringComparer.Ordinal).ToList();
        return where.Count switch
        {
            1 => new(where[0], $"it is active in {where[0]} only"),
            0 when unknown.Count > 0 => new(null, $"it is active in no region that answered ({string.Join(", ", unknown)} did not)"),
            0 => new(null, "it is active in no region"),
            _ => new(null, $"it is active in several regions ({string.Join(", ", where)})"),
        };
    }
}
