using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mesh.Core.Topology;

/// <summary>
/// What <c>mesh topology show</c> and <c>diff</c> print, as text and as JSON. Kafka settings appear
/// through <see cref="KafkaSettings.DisplayValue"/>, so a report never carries a secret.
/// </summary>
public static class TopologyReport
{
    public static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    private const string TopicPlaceholder = "<topic>";

    public static string Show(Topology topology)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Topology '{topology.Name}' version {topology.Version}\n");
        text.Append("  pattern  ").Append(PatternLine(topology)).Append('\n');
        text.Append("  naming   ").Append(NamingLine(topology.Naming, topology.Separator)).Append('\n');

        text.Append("\nRegions\n");
        var regionRows = new List<string[]>();
        foreach (var region in topology.Regions)
        {
            var first = true;
            foreach (var (key, value) in region.Kafka.Displayed())
            {
                regionRows.Add([first ? region.Id : "", first ? "kafka" : "", $"{key}={value}"]);
                first = false;
            }
            if (first) regionRows.Add([region.Id, "kafka", "(no settings)"]);
            if (region.Gateway.Count > 0) regionRows.Add(["", "gateway", string.Join(", ", region.Gateway)]);
        }
        Table(text, null, regionRows);

        text.Append("\nLinks\n");
        Table(text, ["FROM", "TO", "MODE", "TOPICS"],
            topology.Links.Select(l => new[] { l.From, l.To, TopologyKeywords.Word(l.Mode), l.Topics.ToString() }));

        text.Append("\nRoutes\n");
        Table(text, ["ORIGIN", "DESTINATION", "PATH"], topology.Routes.Select(r => new[] { r.Origin, r.Destination, r.ToString() }));
        var unreachable = Unreachable(topology).ToArray();
        if (unreachable.Length > 0)
            text.Append("  not reached: ").Append(string.Join(", ", unreachable.Select(u => $"{u.Origin} -> {u.Destination}"))).Append('\n');

        text.Append("\nForwarding (the origins whose records each link carries)\n");
        Table(text, ["LINK", "ORIGINS"],
            topology.Forwarding.Entries.Select(e => new[] { $"{e.From} -> {e.To}", e.Origins.Count == 0 ? "(none)" : string.Join(", ", e.Origins) }));

        if (topology.Naming == NamingPolicy.Prefix)
        {
            text.Append(CultureInfo.InvariantCulture, $"\nRemote topic names (a topic {TopicPlaceholder} produced at the origin, as named at the destination)\n");
            Table(text, ["ORIGIN", "DESTINATION", "NAME"],
                topology.Routes.Select(r => new[] { r.Origin, r.Destination, TopicNaming.NameAlongRoute(topology.Naming, r, TopicPlaceholder, topology.Separator) }));
        }

        if (topology.Topics.Conflict.Count > 0)
        {
            text.Append("\nConflict policies (exact names first, then expressions in file order)\n");
            Table(text, ["TOPIC", "POLICY", "VERSION"], topology.Topics.Conflict.Select(c => new[] { c.Topic, TopologyKeywords.Word(c.Policy), VersionLine(c) }));
        }

        if (topology.Topics.ExactlyOnce.Count > 0)
            text.Append("\nExactly-once (records and checkpoint in one Kafka transaction; consumers set isolation.level=read_committed)\n  ")
                .Append(string.Join(", ", topology.Topics.ExactlyOnce)).Append('\n');

        if (topology.Offsets is { } offsets)
            text.Append("\nOffsets\n  ").Append(OffsetsLine(offsets)).Append('\n');

        if (topology.Warnings.Count > 0)
        {
            text.Append("\nWarnings\n");
            foreach (var warning in topology.Warnings) text.Append("  ").Append(warning.Describe()).Append('\n');
        }
        return text.ToString();
    }

    public static JsonObject ShowJson(Topology topology)
    {
        var json = new JsonObject
        {
            ["name"] = topology.Name,
            ["version"] = topology.Version,
            ["naming"] = TopologyKeywords.Word(topology.Naming),
            ["pattern"] = TopologyKeywords.Word(topology.Pattern),
            ["primary"] = topology.Primary,
            ["hub"] = topology.Hub,
            ["regions"] = Array(topology.Regions.Select(RegionJson)),
            ["links"] = Array(topology.Links.Select(l => LinkJson(l, topology.Forwarding.OriginsCarried(l.From, l.To)))),
            ["routes"] = Array(topology.Routes.Select(r => new JsonObject
            {
                ["origin"] = r.Origin,
                ["destination"] = r.Destination,
                ["path"] = Strings(r.Path),
                ["remoteTopicName"] = TopicNaming.NameAlongRoute(topology.Naming, r, TopicPlaceholder, topology.Separator),
            })),
            ["unreachable"] = Array(Unreachable(topology).Select(u => new JsonObject { ["origin"] = u.Origin, ["destination"] = u.Destination })),
            ["conflict"] = Array(topology.Topics.Conflict.Select(c => new JsonObject
            {
                ["topic"] = c.Topic,
                ["policy"] = TopologyKeywords.Word(c.Policy),
                ["versionHeader"] = c.VersionHeader,
            })),
            ["topics"] = SelectorJson(topology.Topics.Selection),
            ["exactlyOnce"] = Strings(topology.Topics.ExactlyOnce),
            ["offsets"] = topology.Offsets is { } offsets ? OffsetsJson(offsets) : null,
            ["warnings"] = ProblemsJson(topology.Warnings, null),
        };
        return json;
    }

    public static string Diff(TopologyDiff diff)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"version {diff.OldVersion} -> {diff.NewVersion}");
        text.Append(diff.VersionIncreases ? "\n" : "  (does not increase)\n");
        if (diff.IsEmpty) text.Append("no changes\n");
        Section(text, "Settings", diff.Settings, s => s ?? "(none)");
        Section(text, "Regions", diff.Regions, r => RegionLine(r!), RegionChange);
        Section(text, "Links", diff.Links, l => $"{TopologyKeywords.Word(l!.Mode)}, {l.Topics}", LinkChange);
        Section(text, "Topics", diff.Topics, t => t ?? "");
        Section(text, "Conflict policies", diff.Conflicts, c => ConflictLine(c!));
        // The key is a link ("a -> b"): the change reads "was [..], now [..]" so that no second arrow follows it.
        Section(text, "Forwarding", diff.Forwarding, e => Origins(e!), (before, after) => $"was {Origins(before)}, now {Origins(after)}");
        if (diff.Problems.Count > 0) text.Append('\n').Append(Problems(diff.Problems, null));
        return text.ToString();
    }

    public static JsonObject DiffJson(TopologyDiff diff) => new()
    {
        ["oldVersion"] = diff.OldVersion,
        ["newVersion"] = diff.NewVersion,
        ["versionIncreases"] = diff.VersionIncreases,
        ["settings"] = Changes(diff.Settings, s => s is null ? null : JsonValue.Create(s)),
        ["regions"] = Changes(diff.Regions, r => r is null ? null : RegionJson(r)),
        ["links"] = Changes(diff.Links, l => l is null ? null : LinkJson(l, null)),
        ["topics"] = Changes(diff.Topics, t => t is null ? null : JsonValue.Create(t)),
        ["conflict"] = Changes(diff.Conflicts, c => c is null ? null : new JsonObject
        {
            ["policy"] = TopologyKeywords.Word(c.Policy),
            ["versionHeader"] = c.VersionHeader,
        }),
        ["forwarding"] = Changes(diff.Forwarding, e => e is null ? null : Strings(e.Origins)),
        ["problems"] = ProblemsJson(diff.Problems, null),
    };

    /// <summary>One problem per entry, compiler style, each followed by its fix.</summary>
    public static string Problems(IEnumerable<TopologyProblem> problems, string? sourceName)
    {
        var text = new StringBuilder();
        foreach (var problem in problems)
            text.Append(problem.Describe(sourceName)).Append("\n    fix: ").Append(problem.Fix).Append('\n');
        return text.ToString();
    }

    public static JsonArray ProblemsJson(IEnumerable<TopologyProblem> problems, string? sourceName) =>
        Array(problems.Select(p => new JsonObject
        {
            ["source"] = sourceName,
            ["severity"] = p.IsError ? "error" : "warning",
            ["path"] = p.Path,
            ["message"] = p.Message,
            ["fix"] = p.Fix,
            ["line"] = p.Line,
            ["column"] = p.Column,
        }));

    private static IEnumerable<(string Origin, string Destination)> Unreachable(Topology topology) =>
        from origin in topology.Regions
        from destination in topology.Regions
        where origin.Id != destination.Id && topology.FindRoute(origin.Id, destination.Id) is null
        select (origin.Id, destination.Id);

    private static string PatternLine(Topology topology) => topology.Pattern switch
    {
        TopologyPattern.ActivePassive => $"active-passive, primary {topology.Primary}",
        TopologyPattern.HubSpoke => $"hub-spoke, hub {topology.Hub}",
        var pattern => TopologyKeywords.Word(pattern),
    };

    private static string NamingLine(NamingPolicy naming, string separator) => naming == NamingPolicy.Prefix
        ? $"prefix: topic T from region S is named S{separator}T; a topic carrying the target's prefix is not sent back to it"
        : "identity: topics keep their names in every region";

    /// <summary>What orders the writes of an lww topic; empty for other policies.</summary>
    private static string VersionLine(ConflictRule rule) => rule.Policy != ConflictPolicy.Lww
        ? ""
        : rule.VersionHeader is { } header ? $"header {header}" : "timestamp";

    private static string ConflictLine(ConflictRule rule)
    {
        var version = VersionLine(rule);
        return version.Length == 0 ? TopologyKeywords.Word(rule.Policy) : $"{TopologyKeywords.Word(rule.Policy)} by {version}";
    }

    private static string OffsetsLine(OffsetSettings offsets)
    {
        var parts = new List<string>();
        if (offsets.Checkpoints is { } checkpoints) parts.Add($"checkpoints {(checkpoints ? "on" : "off")}");
        if (offsets.Sync is { } sync) parts.Add($"group offset sync {(sync ? "on" : "off")}");
        if (offsets.IntervalSeconds is { } interval) parts.Add($"every {interval.ToString(CultureInfo.InvariantCulture)} s");
        if (offsets.Groups is { } groups) parts.Add($"groups {string.Join(", ", groups)}");
        if (offsets.GroupsExclude is { } excluded) parts.Add($"except {string.Join(", ", excluded)}");
        return parts.Count == 0 ? "(empty)" : string.Join("; ", parts);
    }

    private static string RegionLine(Region region) =>
        string.Join(", ", region.Kafka.Displayed().Select(e => $"{e.Key}={e.Value}"))
        + (region.Gateway.Count > 0 ? "; gateway " + string.Join(", ", region.Gateway) : "");

    private static string RegionChange(Region before, Region after)
    {
        var parts = new List<string>();
        foreach (var key in before.Kafka.Keys.Union(after.Kafka.Keys, StringComparer.Ordinal))
        {
            var had = before.Kafka.TryGetValue(key, out var old);
            var has = after.Kafka.TryGetValue(key, out var now);
            if (had && has && old == now) continue;
            if (!had) parts.Add($"kafka {key} added ({after.Kafka.DisplayValue(key)})");
            else if (!has) parts.Add($"kafka {key} removed");
            else
            {
                var shownBefore = before.Kafka.DisplayValue(key);
                var shownAfter = after.Kafka.DisplayValue(key);
                parts.Add(shownBefore == shownAfter ? $"kafka {key} changed" : $"kafka {key} {shownBefore} -> {shownAfter}");
            }
        }
        if (!before.Gateway.Equals(after.Gateway))
            parts.Add($"gateway {string.Join(", ", before.Gateway)} -> {string.Join(", ", after.Gateway)}");
        return string.Join("; ", parts);
    }

    private static string LinkChange(Link before, Link after)
    {
        var parts = new List<string>();
        if (before.Mode != after.Mode) parts.Add($"mode {TopologyKeywords.Word(before.Mode)} -> {TopologyKeywords.Word(after.Mode)}");
        if (!before.Topics.Equals(after.Topics)) parts.Add($"topics {before.Topics} -> {after.Topics}");
        return string.Join("; ", parts);
    }

    private static void Section<T>(StringBuilder text, string title, IReadOnlyList<Change<T>> changes, Func<T?, string> describe, Func<T, T, string>? change = null)
        where T : class
    {
        if (changes.Count == 0) return;
        text.Append('\n').Append(title).Append('\n');
        foreach (var c in changes)
        {
            var line = c.Kind switch
            {
                ChangeKind.Added => $"  + {c.Key}: {describe(c.After)}",
                ChangeKind.Removed => $"  - {c.Key}: {describe(c.Before)}",
                _ => change is not null
                    ? $"  ~ {c.Key}: {change(c.Before!, c.After!)}"
                    : $"  ~ {c.Key}: {describe(c.Before)} -> {describe(c.After)}",
            };
            text.Append(line.TrimEnd(' ', ':')).Append('\n');
        }
    }

    private static string Origins(LinkOrigins entry) => $"[{string.Join(", ", entry.Origins)}]";

    private static JsonArray Changes<T>(IEnumerable<Change<T>> changes, Func<T?, JsonNode?> toJson) where T : class =>
        Array(changes.Select(c => new JsonObject
        {
            ["change"] = c.Kind.ToString().ToLowerInvariant(),
            ["key"] = c.Key,
            ["before"] = toJson(c.Before),
            ["after"] = toJson(c.After),
        }));

    private static JsonObject RegionJson(Region region)
    {
        var kafka = new JsonObject();
        foreach (var (key, value) in region.Kafka.Displayed()) kafka[key] = value;
        return new JsonObject { ["id"] = region.Id, ["kafka"] = kafka, ["gateway"] = Strings(region.Gateway) };
    }

    private static JsonObject LinkJson(Link link, IReadOnlySet<string>? origins)
    {
        var json = new JsonObject
        {
            ["from"] = link.From,
            ["to"] = link.To,
            ["mode"] = TopologyKeywords.Word(link.Mode),
            ["topics"] = SelectorJson(link.Topics),
        };
        if (origins is not null) json["origins"] = Strings(origins.Order(StringComparer.Ordinal));
        return json;
    }

    private static JsonObject SelectorJson(TopicSelector selector) =>
        new() { ["include"] = Strings(selector.Include), ["exclude"] = Strings(selector.Exclude) };

    private static JsonObject OffsetsJson(OffsetSettings offsets) => new()
    {
        ["checkpoints"] = offsets.Checkpoints,
        ["sync"] = offsets.Sync,
        ["intervalSeconds"] = offsets.IntervalSeconds,
        ["groups"] = offsets.Groups is null ? null : Strings(offsets.Groups),
        ["groupsExclude"] = offsets.GroupsExclude is null ? null : Strings(offsets.GroupsExclude),
    };

    private static JsonArray Strings(IEnumerable<string> items) => Array(items.Select(i => (JsonNode?)JsonValue.Create(i)));

    private static JsonArray Array(IEnumerable<JsonNode?> items) => new(items.ToArray());

    private static void Table(StringBuilder text, string[]? header, IEnumerable<string[]> rows)
    {
        var all = (header is null ? [] : new[] { header }).Concat(rows).ToList();
        if (all.Count == (header is null ? 0 : 1))
        {
            text.Append("  (none)\n");
            return;
        }
        var widths = Enumerable.Range(0, all.Max(r => r.Length)).Select(i => all.Max(r => i < r.Length ? r[i].Length : 0)).ToArray();
        foreach (var row in all)
        {
            var line = new StringBuilder("  ");
            for (var i = 0; i < row.Length; i++)
            {
                line.Append(i == row.Length - 1 ? row[i] : row[i].PadRight(widths[i] + 2));
            }
            text.Append(line.ToString().TrimEnd()).Append('\n');
        }
    }
}
