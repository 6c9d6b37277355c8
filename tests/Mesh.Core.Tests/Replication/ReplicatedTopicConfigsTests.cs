using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Replication;

public sealed class ReplicatedTopicConfigsTests
{
    private static Dictionary<string, string> Configs(params string[] pairs) =>
        pairs.Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);

    [Theory]
    [InlineData("cleanup.policy=compact", true)]
    [InlineData("retention.ms=123456", true)]
    [InlineData("retention.bytes=1073741824", true)]
    [InlineData("min.compaction.lag.ms=60000", true)]
    [InlineData("max.compaction.lag.ms=86400000", true)]
    [InlineData("delete.retention.ms=86400000", true)]
    [InlineData("min.cleanable.dirty.ratio=0.1", true)]
    [InlineData("max.message.bytes=2097152", true)]
    [InlineData("segment.bytes=536870912", true)]
    [InlineData("segment.ms=3600000", true)]
    [InlineData("message.timestamp.type=LogAppendTime", true)]
    [InlineData("compression.type=zstd", true)]
    // One cluster's own: its durability, throttles, placement, tiered storage, a vendor's extensions.
    [InlineData("min.insync.replicas=2", false)]
    [InlineData("unclean.leader.election.enable=true", false)]
    [InlineData("leader.replication.throttled.replicas=*", false)]
    [InlineData("follower.replication.throttled.replicas=*", false)]
    [InlineData("remote.storage.enable=true", false)]
    [InlineData("local.retention.ms=3600000", false)]
    [InlineData("preallocate=true", false)]
    [InlineData("confluent.placement.constraints={}", false)]
    [InlineData("message.downconversion.enable=false", false)]
    public void A_target_takes_the_configs_that_shape_what_a_topic_keeps_and_accepts_and_no_cluster_specific_one(string config, bool copied)
    {
        var target = ReplicatedTopicConfigs.ForTarget(Configs(config));
        var (key, value) = (config.Split('=', 2)[0], config.Split('=', 2)[1]);
        Assert.Equal(copied, target.ContainsKey(key));
        if (copied) Assert.Equal(value, target[key]);
    }

    [Fact]
    public void A_target_gets_every_copied_config_the_source_sets_and_nothing_else()
    {
        var source = Configs("cleanup.policy=compact", "retention.ms=123456", "min.insync.replicas=2", "segment.bytes=1048576");
        Assert.Equal(Configs("cleanup.policy=compact", "retention.ms=123456", "segment.bytes=1048576"), ReplicatedTopicConfigs.ForTarget(source));
        Assert.Empty(ReplicatedTopicConfigs.ForTarget(Configs()));
    }

    public static TheoryData<string, string, string, string, string> DriftCases => new()
    {
        // source topic-level | source reported | target topic-level | target reported -> differences (key:source->target)
        { "retention.ms=123456", "", "retention.ms=123456", "", "" },
        { "retention.ms=999", "", "retention.ms=123456", "", "retention.ms:999->123456" },
        // Set on one side only, the other reports its default: compared with what is in force there.
        { "retention.ms=123456", "retention.ms=123456", "", "retention.ms=604800000", "retention.ms:123456->604800000" },
        { "", "retention.ms=604800000", "retention.ms=604800000", "retention.ms=604800000", "" },
        // Set on one side only, the other reports nothing (the embedded Kafka knows only what a topic was created with).
        { "cleanup.policy=compact", "", "", "", "cleanup.policy:compact->" },
        { "", "", "max.message.bytes=2000000", "", "max.message.bytes:->2000000" },
        // Neither side sets it: the two clusters' defaults, not the mesh's to compare.
        { "", "retention.ms=604800000", "", "retention.ms=86400000", "" },
        // Not copied, so never drift.
        { "min.insync.replicas=2", "", "min.insync.replicas=1", "", "" },
        { "cleanup.policy=compact|retention.ms=1|segment.bytes=1", "", "cleanup.policy=delete|retention.ms=1|segment.bytes=2", "",
            "cleanup.policy:compact->delete|segment.bytes:1->2" },
    };

    [Theory]
    [MemberData(nameof(DriftCases))]
    public void Drift_is_every_copied_config_either_side_sets_whose_values_differ(string sourceTopic, string sourceReported, string targetTopic, string targetReported, string expected)
    {
        static Dictionary<string, string> Parse(string text) => text.Length == 0 ? [] : Configs(text.Split('|'));
        var drift = ReplicatedTopicConfigs.Drift(new TopicConfigView(Parse(sourceTopic), Parse(sourceReported)), new TopicConfigView(Parse(targetTopic), Parse(targetReported)));
        Assert.Equal(expected, string.Join("|", drift.Select(d => $"{d.Key}:{d.SourceValue}->{d.TargetValue}")));
    }
}
