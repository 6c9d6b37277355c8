namespace Mesh.Core.Tests.Migration;

// Inside the namespace, so that "Topology" names the type rather than the namespace Mesh.Core.Topology.
using Mesh.Core.Migration;
using Mesh.Core.Topology;

/// <summary>
/// MirrorMaker 2 configurations import to the remote topic names MM2 makes (DefaultReplicationPolicy: '&lt;alias&gt;.&lt;topic&gt;',
/// the alias as written; IdentityReplicationPolicy: the topic's own name), and MM2's internal topics are found where
/// MM2 keeps them.
/// </summary>
public sealed class Mm2NamingTests
{
    /// <summary>The settings of Apache Kafka's sample config/connect-mirror-maker.properties.</summary>
    private const string ApacheSample = """
        # Sample MirrorMaker 2 configuration (the settings of Apache Kafka's config/connect-mirror-maker.properties)
        clusters = A, B
        A.bootstrap.servers = A_host1:9092, A_host2:9092, A_host3:9092
        B.bootstrap.servers = B_host1:9092, B_host2:9092, B_host3:9092
        A->B.enabled = true
        A->B.topics = .*
        B->A.enabled = true
        B->A.topics = .*
        replication.factor=1
        checkpoints.topic.replication.factor=1
        heartbeats.topic.replication.factor=1
        offset-syncs.topic.replication.factor=1
        offset.storage.replication.factor=1
        status.storage.replication.factor=1
        config.storage.replication.factor=1
        # replication.policy.separator = _
        # sync.topic.acls.enabled = false
        # emit.heartbeats.interval.seconds = 5
        """;

    private static Topology Load(Mm2Import import)
    {
        Assert.Empty(import.Errors);
        var load = Topology.Load(TopologyWriter.ToYaml(import.Document, ["imported"]), "imported.yaml");
        Assert.True(load.IsValid, string.Join("\n", load.Problems.Select(p => p.Describe())));
        return load.Topology!;
    }

    [Fact]
    public void Apache_kafkas_sample_keeps_the_aliases_and_names_remote_topics_as_mm2_does()
    {
        var import = Mm2Importer.Import(ApacheSample, "connect-mirror-maker");
        var topology = Load(import);

        Assert.Equal(["A", "B"], topology.Regions.Select(r => r.Id));
        Assert.Equal(NamingPolicy.Prefix, topology.Naming);
        Assert.Equal(TopologyPattern.ActiveActive, topology.Pattern);
        Assert.Equal(".", import.Separator);
        Assert.Null(import.UnmappablePolicy);
        Assert.Equal("A.orders", topology.RemoteTopicName("A", "orders", "B"));
        Assert.Equal("B.orders", topology.RemoteTopicName("B", "orders", "A"));
        Assert.True(topology.IsReplicable("orders", "A", "B"));
        // MM2's cycle rule: B's copy of A's topic never goes back to A.
        Assert.False(topology.IsReplicable("A.orders", "B", "A"));
        // MM2's own topics are not replicated.
        Assert.False(topology.IsReplicable("mm2-offset-syncs.B.internal", "A", "B"));
        Assert.False(topology.IsReplicable("A.checkpoints.internal", "B", "A"));
        Assert.Equal("orders -> A.orders", string.Join(", ", TopologyReport.ShowJson(topology)["routes"]!.AsArray()
            .Where(r => (string)r!["origin"]! == "A").Select(r => $"orders -> {((string)r!["remoteTopicName"]!).Replace("<topic>", "orders")}")));

        Assert.Equal(new Mm2FlowTopics("A", "B", "mm2-offsets.B.internal", "mm2-offset-syncs.B.internal", true, "A.checkpoints.internal"),
            Mm2InternalTopics.For(ApacheSample, "A", "B"));
        Assert.Equal(new Mm2FlowTopics("B", "A", "mm2-offsets.A.internal", "mm2-offset-syncs.A.internal", true, "B.checkpoints.internal"),
            Mm2InternalTopics.For(ApacheSample, "B", "A"));
    }

    [Fact]
    public void Identity_policy_one_way_names_remote_topics_as_they_are()
    {
        var import = Mm2Importer.Import("""
            clusters = primary, backup
            primary.bootstrap.servers = p:9092
            backup.bootstrap.servers = b:9092
            primary->backup.enabled = true
            replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy
            """);
        var topology = Load(import);

        Assert.Equal(NamingPolicy.Identity, topology.Naming);
        Assert.Equal((TopologyPattern.ActivePassive, "primary"), (topology.Pattern, topology.Primary));
        Assert.Equal("orders", topology.RemoteTopicName("primary", "orders", "backup"));
        Assert.Null(topology.FindLink("backup", "primary"));
        Assert.Equal(new Mm2FlowTopics("primary", "backup", "mm2-offsets.backup.internal", "mm2-offset-syncs.backup.internal", true, "primary.checkpoints.internal"),
            Mm2InternalTopics.For("replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy", "primary", "backup"));
    }

    [Fact]
    public void A_one_way_flow_with_default_naming_prefixes_with_the_source_alias()
    {
        var topology = Load(Mm2Importer.Import("""
            clusters = us-west, US-East
            us-west.bootstrap.servers = w:9092
            US-East.bootstrap.servers = e:9092
            us-west->US-East.enabled = true
            us-west->US-East.topics = orders, payments\..*
            """));

        Assert.Equal("us-west.orders", topology.RemoteTopicName("us-west", "orders", "US-East"));
        Assert.True(topology.IsReplicable("payments.eu", "us-west", "US-East"));
        Assert.False(topology.IsReplicable("audit", "us-west", "US-East"));
        Assert.Null(topology.FindLink("US-East", "us-west"));
    }

    [Fact]
    public void A_custom_separator_is_reported_and_mm2s_internal_topics_take_it()
    {
        const string properties = """
            clusters = A, B
            A.bootstrap.servers = a:9092
            B.bootstrap.servers = b:9092
            A->B.enabled = true
            replication.policy.separator = _
            """;
        var import = Mm2Importer.Import(properties);

        Assert.Equal("_", import.Separator);
        var separator = Assert.Single(import.Unmapped, u => u.Key == "replication.policy.separator");
        Assert.Contains("not '<source>_<topic>'", separator.Reason, StringComparison.Ordinal);
        // Where MM2 kept its state with that separator: internal topics use it too, unless told not to.
        Assert.Equal(new Mm2FlowTopics("A", "B", "mm2-offsets.B.internal", "mm2-offset-syncs_B_internal", true, "A_checkpoints_internal"),
            Mm2InternalTopics.For(properties, "A", "B"));
        Assert.Equal(new Mm2FlowTopics("A", "B", "mm2-offsets.B.internal", "mm2-offset-syncs.B.internal", true, "A.checkpoints.internal"),
            Mm2InternalTopics.For(properties + "\nreplication.policy.internal.topic.separator.enabled = false", "A", "B"));
    }

    [Fact]
    public void Offset_syncs_kept_in_the_target_and_a_custom_offsets_topic_are_found_there()
    {
        Assert.Equal(new Mm2FlowTopics("A", "B", "connect-offsets", "mm2-offset-syncs.A.internal", false, "A.checkpoints.internal"),
            Mm2InternalTopics.For("A->B.offset-syncs.topic.location = target\nB.offset.storage.topic = connect-offsets", "A", "B"));
        Assert.Equal("B", Mm2InternalTopics.For("offset-syncs.topic.location = target", "A", "B").SyncsCluster);
    }

    [Theory]
    [InlineData("clusters = dc 1, B", "cluster alias 'dc 1' cannot be a region id as it is (region id 'dc 1' contains ' '")]
    [InlineData("clusters = eu.west, B", "cluster alias 'eu.west' cannot be a region id as it is (region id 'eu.west' contains '.', which prefix naming uses")]
    [InlineData("clusters = A*, B", "cluster alias 'A*' cannot be a region id as it is (region id 'A*' contains '*'")]
    public void An_alias_that_cannot_be_a_region_id_is_an_error_never_a_rename(string clusters, string error)
    {
        var import = Mm2Importer.Import(clusters + "\nB.bootstrap.servers = b:9092");
        Assert.True(import.HasErrors);
        Assert.StartsWith("line 1: " + error, Assert.Single(import.Errors), StringComparison.Ordinal);
        Assert.Equal(["B"], import.Document.Regions.Select(r => r.Id));
    }

    [Fact]
    public void A_dotted_alias_is_a_region_id_under_identity_naming()
    {
        var import = Mm2Importer.Import("""
            clusters = eu.west, us.east
            replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy
            eu.west->us.east.enabled = true
            """);
        Assert.Empty(import.Errors);
        Assert.Equal(["eu.west", "us.east"], import.Document.Regions.Select(r => r.Id));
    }

    [Fact]
    public void A_custom_replication_policy_cannot_be_mapped_and_says_what_it_would_take()
    {
        var import = Mm2Importer.Import("""
            clusters = A, B
            A->B.enabled = true
            replication.policy.class = com.example.NoPrefixPolicy
            """);
        Assert.Equal("com.example.NoPrefixPolicy", import.UnmappablePolicy);
        var policy = Assert.Single(import.Unmapped, u => u.Key == "replication.policy.class");
        Assert.StartsWith("replication policy com.example.NoPrefixPolicy cannot be mapped", policy.Reason, StringComparison.Ordinal);
        Assert.Contains("rename the remote topics where they differ", policy.Reason, StringComparison.Ordinal);
    }
}
