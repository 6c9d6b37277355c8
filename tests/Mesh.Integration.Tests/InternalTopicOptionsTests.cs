using Mesh.Silo.Options;

namespace Mesh.Integration.Tests;

/// <summary>The internal topics' durability settings and the config check interval, as the silo validates them at start.</summary>
public sealed class InternalTopicOptionsTests
{
    [Theory]
    [InlineData(-1, null, 60_000, null)]
    [InlineData(3, null, 60_000, null)]
    [InlineData(3, 2, 1_000, null)]
    [InlineData(1, 1, 3_600_000, null)]
    [InlineData(-1, 2, 60_000, null)] // the cluster picks the replicas; checked against min.insync.replicas only
    [InlineData(0, null, 60_000, "Mesh:Replication:InternalTopics:ReplicationFactor (env MESH_Mesh__Replication__InternalTopics__ReplicationFactor): is 0")]
    [InlineData(-2, null, 60_000, "Mesh:Replication:InternalTopics:ReplicationFactor (env MESH_Mesh__Replication__InternalTopics__ReplicationFactor): is -2")]
    [InlineData(3, 0, 60_000, "Mesh:Replication:InternalTopics:MinInsyncReplicas (env MESH_Mesh__Replication__InternalTopics__MinInsyncReplicas): is 0")]
    [InlineData(2, 3, 60_000, "Mesh:Replication:InternalTopics:MinInsyncReplicas (env MESH_Mesh__Replication__InternalTopics__MinInsyncReplicas): is 3, more than the replication factor 2")]
    [InlineData(3, null, 999, "Mesh:Replication:TopicConfigCheckIntervalMs (env MESH_Mesh__Replication__TopicConfigCheckIntervalMs): is 999")]
    public void The_settings_are_checked_naming_the_setting_its_variable_and_the_fix(int replicationFactor, int? minInsync, int checkIntervalMs, string? problem)
    {
        var options = new RegionOptions { Region = "us-east" };
        options.Kafka.BootstrapServers = "b1:9092";
        options.Replication.InternalTopics.ReplicationFactor = replicationFactor;
        options.Replication.InternalTopics.MinInsyncReplicas = minInsync;
        options.Replication.TopicConfigCheckIntervalMs = checkIntervalMs;

        var problems = RegionOptionsValidator.Validate(options);

        if (problem is null) Assert.Empty(problems);
        else Assert.StartsWith(problem, Assert.Single(problems));
    }
}
