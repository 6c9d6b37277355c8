using Mesh.Kafka.Replication;

namespace Mesh.Core.Tests.Kafka;

public sealed class InternalTopicsTests
{
    [Fact]
    public void The_checkpoint_topic_is_created_compacted_and_the_quarantine_kept_until_deleted()
    {
        Assert.Equal("__mesh_checkpoints", KafkaCheckpointStore.Topic);
        Assert.Equal("compact", InternalTopics.CheckpointConfigs["cleanup.policy"]);
        Assert.Null(InternalTopics.CheckpointConfigProblem(InternalTopics.CheckpointConfigs));
        Assert.Equal("delete", InternalTopics.QuarantineConfigs["cleanup.policy"]);
        Assert.Equal("-1", InternalTopics.QuarantineConfigs["retention.ms"]);
    }

    [Theory]
    [InlineData("delete")]
    [InlineData("compact,delete")]
    [InlineData(null)] // unset: Kafka's default, delete
    public void A_checkpoint_topic_that_is_not_compacted_is_a_problem_naming_what_it_is_and_must_be(string? policy)
    {
        var configs = new Dictionary<string, string>();
        if (policy is not null) configs["cleanup.policy"] = policy;
        var problem = InternalTopics.CheckpointConfigProblem(configs);
        Assert.NotNull(problem);
        Assert.Contains("__mesh_checkpoints", problem);
        Assert.Contains($"cleanup.policy={policy ?? "delete"}", problem);
        Assert.Contains("must be cleanup.policy=compact", problem);
    }

    [Fact]
    public void The_fix_is_a_kafka_configs_command_for_that_cluster() =>
        Assert.StartsWith(
            "kafka-configs.sh --bootstrap-server b1:9092 --alter --entity-type topics --entity-name __mesh_checkpoints --add-config cleanup.policy=compact",
            InternalTopics.CheckpointConfigFix("b1:9092"));

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
