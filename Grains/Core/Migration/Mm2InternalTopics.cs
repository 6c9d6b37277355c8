using Mesh.Core.Topology;

namespace Mesh.Core.Migration;

/// <summary>
/// Where MirrorMaker 2 (dedicated mode) kept its state for one flow S -> T: its Connect worker's source positions, its
/// offset syncs and its group checkpoints, with the cluster that holds each.
/// </summary>
/// <param name="SyncsInSource">True when the offset syncs are in S (MM2's default), false when in T.</param>
public sealed record Mm2FlowTopics(string Source, string Target, string OffsetsTopic, string SyncsTopic, bool SyncsInSource, string CheckpointsTopic)
{
    public string SyncsCluster => SyncsInSource ? Source : Target;
}

/// <summary>
/// MM2's internal topic names, as its configuration makes them: <c>mm2-offsets.&lt;T&gt;.internal</c> in T unless
/// <c>offset.storage.topic</c> says otherwise; <c>mm2-offset-syncs.&lt;T&gt;.internal</c> in S (or
/// <c>mm2-offset-syncs.&lt;S&gt;.internal</c> in T with <c>offset-syncs.topic.location = target</c>);
/// <c>&lt;S&gt;.checkpoints.internal</c> in T. The last two take <c>replication.policy.separator</c> in place of the
/// dots unless <c>replication.policy.internal.topic.separator.enabled = false</c>, as MM2's DefaultReplicationPolicy does.
/// </summary>
public static class Mm2InternalTopics
{
    public static Mm2FlowTopics For(string propertiesText, string source, string target)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in JavaProperties.Parse(propertiesText)) settings[entry.Key] = entry.Value.Trim();

        string? Setting(params string[] keys) => keys.Select(k => settings.GetValueOrDefault(k)).FirstOrDefault(v => !string.IsNullOrEmpty(v));

        var separator = Setting($"{source}->{target}.replication.policy.separator", "replication.policy.separator") ?? ".";
        var internalSeparatorEnabled = !string.Equals(
            Setting($"{source}->{target}.replication.policy.internal.topic.separator.enabled", "replication.policy.internal.topic.separator.enabled"),
            "false", StringComparison.OrdinalIgnoreCase);
        var internalSeparator = internalSeparatorEnabled ? separator : ".";
        var syncsInSource = !string.Equals(
            Setting($"{source}->{target}.offset-syncs.topic.location", "offset-syncs.topic.location"), "target", StringComparison.OrdinalIgnoreCase);

        var offsets = Setting($"{target}.offset.storage.topic", "offset.storage.topic") ?? $"mm2-offsets.{target}.internal";
        var syncs = $"mm2-offset-syncs{internalSeparator}{(syncsInSource ? target : source)}{internalSeparator}internal";
        var checkpoints = $"{source}{internalSeparator}checkpoints{internalSeparator}internal";
        return new Mm2FlowTopics(source, target, offsets, syncs, syncsInSource, checkpoints);
    }
}
