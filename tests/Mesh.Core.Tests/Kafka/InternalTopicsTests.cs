using Mesh.Kafka.Replication;

namespace Mesh.Core.Tests.Kafka;

public sealed class InternalTopicsTests
{
    private static InternalTopic Topic(string name) => InternalTopics.All.Single(t => t.Name == name);

    private static Dictionary<string, string> Configs(string text) =>
        text.Length == 0 ? [] : text.Split(',').Select(p => p.Split('=')).ToDictionary(p => p[0], p => p[1]);

    [Fact]
    public void The_checkpoint_and_topology_topics_are_created_compacted_and_the_quarantine_kept_until_deleted()
    {
        Assert.Equal("__mesh_checkpoints", KafkaCheckpointStore.Topic);
        Assert.Equal(["__mesh_checkpoints", "__mesh_quarantine", "__mesh_topology", "__mesh_audit"], InternalTopics.All.Select(t => t.Name));
        Assert.Equal("compact", InternalTopics.CheckpointConfigs["cleanup.policy"]);
        Assert.Equal("compact", InternalTopics.TopologyConfigs["cleanup.policy"]);
        Assert.Equal("delete", InternalTopics.QuarantineConfigs["cleanup.policy"]);
        Assert.Equal("-1", InternalTopics.QuarantineConfigs["retention.ms"]);
        Assert.True(Topic("__mesh_checkpoints").Required && Topic("__mesh_topology").Required && !Topic("__mesh_quarantine").Required);
        // What the silo creates passes its own check.
        var durable = new InternalTopicDurability(3);
        foreach (var topic in InternalTopics.All)
            Assert.Empty(InternalTopics.Problems(topic, InternalTopics.CreationConfigs(topic, durable), 3, durable));
    }

    public static TheoryData<int, int?, string?> CreationDurability => new()
    {
        // replication factor, configured min.insync.replicas -> min.insync.replicas the topics are created with
        { -1, null, null },   // the cluster's defaults for both
        { 1, null, null },
        { 2, null, null },
        { 3, null, "2" },     // the default once there are three replicas
        { 5, null, "2" },
        { 3, 3, "3" },
        { -1, 2, "2" },       // the cluster picks the replicas, the operator the acknowledgements
    };

    [Theory]
    [MemberData(nameof(CreationDurability))]
    public void Internal_topics_are_created_with_the_configured_min_insync_replicas(int replicationFactor, int? minInsync, string? created)
    {
        var durability = new InternalTopicDurability(replicationFactor, minInsync);
        foreach (var topic in InternalTopics.All)
        {
            var configs = InternalTopics.CreationConfigs(topic, durability);
            Assert.Equal(created, configs.GetValueOrDefault("min.insync.replicas"));
            foreach (var (key, value) in topic.Configs) Assert.Equal(value, configs[key]);
        }
    }

    public static TheoryData<string, string, int?, int, int?, string> ExistingTopics => new()
    {
        // topic, configs it has, its replication factor, configured replication factor, configured min.insync.replicas -> problems ("" none)
        { "__mesh_checkpoints", "cleanup.policy=compact", 1, -1, null, "" },
        { "__mesh_checkpoints", "cleanup.policy=delete", 1, -1, null, "cleanup.policy=delete->compact" },
        { "__mesh_checkpoints", "cleanup.policy=compact,delete", 1, -1, null, "cleanup.policy=compact,delete->compact" },
        { "__mesh_checkpoints", "", null, -1, null, "cleanup.policy=delete->compact" }, // unset: Kafka's default
        { "__mesh_topology", "cleanup.policy=delete", 3, -1, null, "cleanup.policy=delete->compact" },
        { "__mesh_topology", "cleanup.policy=compact,min.insync.replicas=2", 3, 3, null, "" },
        { "__mesh_topology", "cleanup.policy=compact,min.insync.replicas=1", 3, 3, null, "min.insync.replicas=1->2" },
        { "__mesh_topology", "cleanup.policy=compact", 3, 3, null, "min.insync.replicas=1->2" }, // unset: Kafka's default, 1
        { "__mesh_topology", "cleanup.policy=compact,min.insync.replicas=3", 3, 3, null, "" },     // more than asked is fine
        { "__mesh_checkpoints", "cleanup.policy=compact,min.insync.replicas=2", 2, 3, null, "replication factor=2->3" },
        { "__mesh_checkpoints", "cleanup.policy=compact,min.insync.replicas=2", null, 3, null, "" }, // replicas unknown: not checked
        { "__mesh_checkpoints", "cleanup.policy=compact", 1, 1, null, "" },
        { "__mesh_checkpoints", "cleanup.policy=compact", 1, -1, 2, "min.insync.replicas=1->2" },
        { "__mesh_checkpoints", "cleanup.policy=delete,min.insync.replicas=1", 1, 3, null, "cleanup.policy=delete->compact|min.insync.replicas=1->2|replication factor=1->3" },
        { "__mesh_quarantine", "cleanup.policy=delete,retention.ms=-1", 1, -1, null, "" },
        { "__mesh_quarantine", "retention.ms=-1", 1, -1, null, "" },
        { "__mesh_quarantine", "cleanup.policy=delete,retention.ms=604800000", 1, -1, null, "retention.ms=604800000->-1" },
        { "__mesh_quarantine", "cleanup.policy=delete", 1, -1, null, "retention.ms=(the cluster's default)->-1" },
        { "__mesh_quarantine", "cleanup.policy=compact,retention.ms=-1", 1, -1, null, "cleanup.policy=compact->delete" },
        { "__mesh_quarantine", "cleanup.policy=delete,retention.ms=-1", 2, 3, null, "min.insync.replicas=1->2|replication factor=2->3" },
    };

    [Theory]
    [MemberData(nameof(ExistingTopics))]
    public void An_existing_internal_topic_is_checked_for_compaction_retention_and_durability(
        string name, string configs, int? replicas, int replicationFactor, int? minInsync, string expected)
    {
        var parsed = Configs(configs.Replace("compact,delete", "compact+delete")).ToDictionary(c => c.Key, c => c.Value.Replace('+', ','));
        var problems = InternalTopics.Problems(Topic(name), parsed, replicas, new InternalTopicDurability(replicationFactor, minInsync));
        Assert.Equal(expected, string.Join("|", problems.Select(p => $"{p.Setting}={p.Found}->{p.Wanted}")));
        Assert.All(problems, p => Assert.Equal(name, p.Topic));
    }

    [Fact]
    public void The_fix_is_one_kafka_configs_command_for_every_config_and_a_reassignment_for_the_replicas()
    {
        var problems = InternalTopics.Problems(Topic("__mesh_checkpoints"), Configs("cleanup.policy=delete"), 1, new InternalTopicDurability(3));
        var fix = InternalTopics.Fix(problems, "b1:9092");
        Assert.StartsWith("kafka-configs.sh --bootstrap-server b1:9092 --alter --entity-type topics --entity-name __mesh_checkpoints " +
                          "--add-config cleanup.policy=compact,min.insync.replicas=2; and kafka-reassign-partitions.sh --bootstrap-server b1:9092", fix);
        Assert.Contains("3 brokers for each partition of __mesh_checkpoints", fix);
        Assert.EndsWith("(with --command-config <client.properties> on a secured cluster)", fix);

        var described = problems[0].ToString();
        Assert.StartsWith("topic __mesh_checkpoints has cleanup.policy=delete; it must be cleanup.policy=compact", described);
        Assert.StartsWith("topic __mesh_checkpoints has replication factor 1; it must be at least 3", problems[2].ToString());
    }

    [Theory]
    [InlineData("delete", "-1", null)]
    [InlineData(null, "-1", null)]
    [InlineData("delete", "604800000", "retention.ms=604800000")]
    [InlineData("delete", null, "retention.ms=(the cluster's default)")]
    [InlineData("compact", "-1", "compaction would keep one record per key")]
    [InlineData("compact,delete", "-1", "compaction would keep one record per key")]
    public void The_quarantine_topic_must_keep_every_record_until_an_operator_deletes_it(string? policy, string? retention, string? problem)
    {
        var configs = new Dictionary<string, string>();
        if (policy is not null) configs["cleanup.policy"] = policy;
        if (retention is not null) configs["retention.ms"] = retention;

        var found = InternalTopics.QuarantineConfigProblem(configs);

        if (problem is null) Assert.Null(found);
        else Assert.Contains(problem, found);
        Assert.Null(InternalTopics.QuarantineConfigProblem(InternalTopics.QuarantineConfigs));
    }
}
