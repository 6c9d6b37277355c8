namespace Mesh.Kafka.Replication;

/// <summary>
/// The topics the mesh owns in every region, the configs it creates them with, and what it requires
/// of them when they already exist (an operator may have created them by hand). Pure: the silo reads
/// the configs and the replication factor from the cluster and acts on what this decides.
/// </summary>
public static class InternalTopics
{
    /// <summary>Replication checkpoints, keyed by replicator: one partition, so every silo tails one log.</summary>
    public const string Checkpoints = "__mesh_checkpoints";

    /// <summary>Records the mesh could not replicate, with the reason: one partition, kept until an operator deletes them.</summary>
    public const string Quarantine = "__mesh_quarantine";

    /// <summary>The region's applied topology (one key), so a restarted region comes back on the version it had.</summary>
    public const string Topology = "__mesh_topology";

    /// <summary>Operator changes (who, what, when, versions before and after): one partition, kept until an operator deletes them.</summary>
    public const string Audit = "__mesh_audit";

    public const int CheckpointPartitions = 1;
    public const int TopologyPartitions = 1;
    public const int QuarantinePartitions = 1;

    /// <summary>
    /// Compacted: only each replicator's latest checkpoint matters, and time- or size-based deletion
    /// would throw away the checkpoint of a partition that has been quiet for longer than the retention.
    /// </summary>
    public static IReadOnlyDictionary<string, string> CheckpointConfigs { get; } = new Dictionary<string, string>
    {
        ["cleanup.policy"] = "compact",
    };

    /// <summary>Compacted, like the checkpoints: the latest version must outlive any retention.</summary>
    public static IReadOnlyDictionary<string, string> TopologyConfigs { get; } = new Dictionary<string, string>
    {
        ["cleanup.policy"] = "compact",
    };

    /// <summary>Never expires: a quarantined record is evidence an operator must see before it goes.</summary>
    public static IReadOnlyDictionary<string, string> QuarantineConfigs { get; } = new Dictionary<string, string>
    {
        ["cleanup.policy"] = "delete",
        ["retention.ms"] = "-1",
    };

    /// <summary>
    /// The topics in the order the silo prepares them. Replication does not start on a checkpoint
    /// or topology topic that could lose what it holds (<see cref="InternalTopic.Required"/>); a quarantine
    /// that could is only warned about, since replication itself loses nothing by it.
    /// </summary>
    public static IReadOnlyList<InternalTopic> All { get; } =
    [
        new(Checkpoints, CheckpointPartitions, CheckpointConfigs, Compacted: true, Required: true),
        new(Quarantine, QuarantinePartitions, QuarantineConfigs, Compacted: false, Required: false),
        new(Topology, TopologyPartitions, TopologyConfigs, Compacted: true, Required: true),
        new(Audit, 1, QuarantineConfigs, Compacted: false, Required: false),
    ];

    /// <summary>The configs to create <paramref name="topic"/> with: its own, and <c>min.insync.replicas</c> when one is required.</summary>
    public static IReadOnlyDictionary<string, string> CreationConfigs(InternalTopic topic, InternalTopicDurability durability)
    {
        var configs = new Dictionary<string, string>(topic.Configs, StringComparer.Ordinal);
        if (durability.RequiredMinInsyncReplicas is int minInsync) configs["min.insync.replicas"] = minInsync.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return configs;
    }

    /// <summary>
    /// What is wrong with an existing internal topic, as the cluster reports its configs (unset ones are
    /// Kafka's defaults: <c>cleanup.policy=delete</c>, <c>min.insync.replicas=1</c>) and its replication
    /// factor (null: not known, not checked). Empty when it will do.
    /// </summary>
    public static IReadOnlyList<InternalTopicProblem> Problems(InternalTopic topic, IReadOnlyDictionary<string, string> configs,
        int? replicationFactor, InternalTopicDurability durability)
    {
        var problems = new List<InternalTopicProblem>();
        var policy = configs.GetValueOrDefault("cleanup.policy") ?? "delete";
        if (topic.Compacted && policy != "compact")
            problems.Add(new(topic.Name, "cleanup.policy", policy, "compact",
                "only its latest record per key matters, and deletion by time or size would throw away the record of a key that has been quiet for longer than the retention"));
        if (!topic.Compacted && QuarantineConfigProblem(configs) is not null)
        {
            if (policy.Contains("compact", StringComparison.Ordinal))
                problems.Add(new(topic.Name, "cleanup.policy", policy, "delete", "compaction would keep one record per key and drop the rest"));
            else
                problems.Add(new(topic.Name, "retention.ms", configs.GetValueOrDefault("retention.ms") ?? "(the cluster's default)", "-1",
                    topic.Name == Audit ? "operators' changes would expire from the audit log" : "quarantined records would expire before anyone replays them"));
        }

        if (durability.RequiredMinInsyncReplicas is int wanted)
        {
            var found = configs.GetValueOrDefault("min.insync.replicas") ?? "1";
            if (!int.TryParse(found, System.Globalization.CultureInfo.InvariantCulture, out var minInsync) || minInsync < wanted)
                problems.Add(new(topic.Name, "min.insync.replicas", found, wanted.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "a write acknowledged by fewer replicas is lost with the broker that held it (Mesh:Replication:InternalTopics:MinInsyncReplicas)"));
        }
        if (durability.ReplicationFactor > 0 && replicationFactor is int replicas && replicas < durability.ReplicationFactor)
            problems.Add(new(topic.Name, "replication factor", replicas.ToString(System.Globalization.CultureInfo.InvariantCulture),
                durability.ReplicationFactor.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "fewer copies than Mesh:Replication:InternalTopics:ReplicationFactor asks for") { IsConfig = false });
        return problems;
    }

    /// <summary>
    /// The commands that fix <paramref name="problems"/> of one topic on the cluster at
    /// <paramref name="bootstrapServers"/>: one <c>kafka-configs.sh</c> for every config, and for a
    /// replication factor the reassignment that raises it.
    /// </summary>
    public static string Fix(IReadOnlyList<InternalTopicProblem> problems, string bootstrapServers)
    {
        var fixes = new List<string>();
        var configs = problems.Where(p => p.IsConfig).ToList();
        if (configs.Count > 0)
            fixes.Add($"kafka-configs.sh --bootstrap-server {bootstrapServers} --alter --entity-type topics --entity-name {configs[0].Topic} " +
                      $"--add-config {string.Join(",", configs.Select(p => $"{p.Setting}={p.Wanted}"))}");
        foreach (var replicas in problems.Where(p => !p.IsConfig))
            fixes.Add($"kafka-reassign-partitions.sh --bootstrap-server {bootstrapServers} --execute --reassignment-json-file <file> " +
                      $"(the file names {replicas.Wanted} brokers for each partition of {replicas.Topic})");
        return string.Join("; and ", fixes) + (fixes.Count == 0 ? "" : " (with --command-config <client.properties> on a secured cluster)");
    }

    /// <summary>
    /// What would make the quarantine topic drop records before an operator saw them, or null when it
    /// keeps them.
    /// </summary>
    public static string? QuarantineConfigProblem(IReadOnlyDictionary<string, string> configs)
    {
        var policy = configs.GetValueOrDefault("cleanup.policy") ?? "delete";
        var retention = configs.GetValueOrDefault("retention.ms");
        if (policy.Contains("compact", StringComparison.Ordinal))
            return $"topic {Quarantine} has cleanup.policy={policy}; compaction would keep one record per key and drop the rest";
        return retention == "-1" ? null : $"topic {Quarantine} has retention.ms={retention ?? "(the cluster's default)"}; quarantined records expire before anyone replays them unless it is -1";
    }
}

/// <summary>One of the mesh's own topics: its name, partitions, configs, whether it must be compacted and whether replication waits for it to be right.</summary>
public sealed record InternalTopic(string Name, int Partitions, IReadOnlyDictionary<string, string> Configs, bool Compacted, bool Required);

/// <summary>
/// How durable the mesh's own topics must be (<c>Mesh:Replication:InternalTopics</c>).
/// </summary>
/// <param name="ReplicationFactor">Replicas per partition; -1: the cluster's <c>default.replication.factor</c>, and not checked.</param>
/// <param name="MinInsyncReplicas"><c>min.insync.replicas</c>; null: 2 when <paramref name="ReplicationFactor"/> is 3 or more, else the cluster's default, not checked.</param>
public sealed record InternalTopicDurability(int ReplicationFactor = -1, int? MinInsyncReplicas = null)
{
    public static InternalTopicDurability ClusterDefaults { get; } = new();

    public int? RequiredMinInsyncReplicas => MinInsyncReplicas ?? (ReplicationFactor >= 3 ? 2 : null);
}

/// <summary>One thing wrong with an internal topic: what it has and what it needs, and why.</summary>
public sealed record InternalTopicProblem(string Topic, string Setting, string Found, string Wanted, string Why)
{
    /// <summary>A topic config (fixed with kafka-configs.sh); false: the replication factor.</summary>
    public bool IsConfig { get; init; } = true;

    public override string ToString() => IsConfig
        ? $"topic {Topic} has {Setting}={Found}; it must be {Setting}={Wanted}: {Why}"
        : $"topic {Topic} has {Setting} {Found}; it must be at least {Wanted}: {Why}";
}
