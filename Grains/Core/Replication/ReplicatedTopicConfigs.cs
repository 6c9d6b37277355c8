namespace Mesh.Core.Replication;

/// <summary>
/// Which topic configs a link gives the target topics it creates, and how it tells that a source
/// and its target no longer agree on them. Only configs that shape what a topic keeps and accepts
/// are copied; anything about one cluster (its durability, throttles, tiered storage, a vendor's
/// extensions) stays that cluster's.
/// </summary>
public static class ReplicatedTopicConfigs
{
    /// <summary>
    /// The configs a target takes from its source: what is kept (cleanup policy, retention,
    /// compaction lags and the tombstone's life), the size of what is accepted and stored, and how
    /// records are stamped and compressed.
    /// </summary>
    public static IReadOnlySet<string> Copied { get; } = new SortedSet<string>(StringComparer.Ordinal)
    {
        "cleanup.policy",
        "retention.ms",
        "retention.bytes",
        "delete.retention.ms",
        "min.compaction.lag.ms",
        "max.compaction.lag.ms",
        "min.cleanable.dirty.ratio",
        "max.message.bytes",
        "segment.bytes",
        "segment.ms",
        "message.timestamp.type",
        "compression.type",
    };

    /// <summary>
    /// The configs to create a target with: those of <see cref="Copied"/> that the source sets on the
    /// topic itself (not the cluster's defaults, which the destination has its own of).
    /// </summary>
    public static IReadOnlyDictionary<string, string> ForTarget(IReadOnlyDictionary<string, string> sourceTopicConfigs) =>
        sourceTopicConfigs.Where(c => Copied.Contains(c.Key))
            .ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);

    /// <summary>
    /// The copied configs on which a source topic and its target differ, in key order. A config
    /// neither side sets on the topic is the two clusters' defaults and not compared; one set on one
    /// side only is compared with what the other side reports (its default, or nothing known).
    /// </summary>
    /// <param name="source">The source topic's configs: those set on the topic, and what the cluster reports for the rest.</param>
    /// <param name="target">The target topic's, the same way.</param>
    public static IReadOnlyList<ConfigDifference> Drift(TopicConfigView source, TopicConfigView target)
    {
        var differences = new List<ConfigDifference>();
        foreach (var key in Copied)
        {
            if (!source.TopicLevel.ContainsKey(key) && !target.TopicLevel.ContainsKey(key)) continue;
            var sourceValue = source.ValueOf(key);
            var targetValue = target.ValueOf(key);
            if (!string.Equals(sourceValue, targetValue, StringComparison.Ordinal))
                differences.Add(new ConfigDifference(key, sourceValue, targetValue));
        }
        return differences;
    }
}

/// <summary>
/// A topic's configs as a cluster reports them: <paramref name="TopicLevel"/> those set on the topic
/// itself (Kafka's DYNAMIC_TOPIC_CONFIG), <paramref name="Reported"/> every value it reports,
/// defaults included (empty when the cluster reports only the topic's own).
/// </summary>
public sealed record TopicConfigView(IReadOnlyDictionary<string, string> TopicLevel, IReadOnlyDictionary<string, string> Reported)
{
    public static TopicConfigView OfTopicLevel(IReadOnlyDictionary<string, string> topicLevel) => new(topicLevel, topicLevel);

    /// <summary>The value in force for <paramref name="key"/>, or null when the cluster does not say.</summary>
    public string? ValueOf(string key) => TopicLevel.TryGetValue(key, out var own) ? own : Reported.GetValueOrDefault(key);
}

/// <summary>One config on which a source topic and its target differ; null: not set and not reported.</summary>
public sealed record ConfigDifference(string Key, string? SourceValue, string? TargetValue);
