namespace Mesh.Kafka.Replication;

/// <summary>
/// The topics the mesh owns in every region, and the topic configs it creates them with. Only what
/// correctness needs is set here; durability settings (replication factor, <c>min.insync.replicas</c>)
/// are the operator's and come from the cluster's defaults.
/// </summary>
public static class InternalTopics
{
    /// <summary>Replication checkpoints, keyed by replicator: one partition, so every silo tails one log.</summary>
    public const string Checkpoints = "__mesh_checkpoints";

    /// <summary>Records the mesh could not replicate, with the reason: one partition, kept until an operator deletes them.</summary>
    public const string Quarantine = "__mesh_quarantine";

    /// <summary>The region's applied topology (one key), so a restarted region comes back on the version it had.</summary>
    public const string Topology = "__mesh_topology";

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
    /// What is wrong with the checkpoint topic's configs as a cluster reports them (an operator may
    /// have created it by hand), or null when it will do. An unset <c>cleanup.policy</c> is Kafka's
    /// default, <c>delete</c>.
    /// </summary>
    public static string? CheckpointConfigProblem(IReadOnlyDictionary<string, string> configs)
    {
        var policy = configs.GetValueOrDefault("cleanup.policy") ?? "delete";
        return policy == "compact"
            ? null
            : $"topic {Checkpoints} has cleanup.policy={policy}; it must be cleanup.policy=compact";
    }

    /// <summary>
    /// What would make the quarantine topic drop records before an operator saw them (an operator may
    /// have created it by hand), or null when it keeps them.
    /// </summary>
    public static string? QuarantineConfigProblem(IReadOnlyDictionary<string, string> configs)
    {
        var policy = configs.GetValueOrDefault("cleanup.policy") ?? "delete";
        var retention = configs.GetValueOrDefault("retention.ms");
        if (policy.Contains("compact", StringComparison.Ordinal))
            return $"topic {Quarantine} has cleanup.policy={policy}; compaction would keep one record per key and drop the rest";
        return retention == "-1" ? null : $"topic {Quarantine} has retention.ms={retention ?? "(the cluster's default)"}; quarantined records expire before anyone replays them unless it is -1";
    }

    /// <summary>The command that gives an existing checkpoint topic the configs it needs.</summary>
    public static string CheckpointConfigFix(string bootstrapServers) =>
        $"kafka-configs.sh --bootstrap-server {bootstrapServers} --alter --entity-type topics --entity-name {Checkpoints} " +
        "--add-config cleanup.policy=compact (with --command-config <client.properties> on a secured cluster)";
}
