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
    public void A_custom_separator_names_remote_topics_as_mm2_does_and_mm2s_internal_topics_take_it()
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
        Assert.DoesNotContain(import.Unmapped, u => u.Key == "replication.policy.separator");
        var topology = Load(import);
        Assert.Equal("_", topology.Separator);
        Assert.Equal("A_orders.eu", topology.RemoteTopicName("A", "orders.eu", "B"));
        Assert.True(topology.IsReplicable("orders.eu", "A", "B"));
        // The cycle rule splits on MM2's separator: B's copy 'B_orders' never goes back to B.
        Assert.False(topology.IsReplicable("B_orders", "A", "B"));
        Assert.True(topology.IsReplicable("B.orders", "A", "B"));
        Assert.False(topology.IsReplicable("mm2-offset-syncs_B_internal", "A", "B"));
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

/// <summary>Prefix naming with a separator other than '.', as MirrorMaker 2's replication.policy.separator makes it.</summary>
public sealed class CustomSeparatorTests
{
    [Theory]
    [InlineData(".", "x,s,d", "s.x.t")]
    [InlineData("_", "x,s,d", "s_x_t")]
    [InlineData("__", "x,s", "x__t")]
    [InlineData("-", "x", "t")]
    public void Names_along_hops_use_the_separator(string separator, string hops, string expected)
    {
        Assert.Equal(expected, TopicNaming.NameAlongHops(NamingPolicy.Prefix, hops.Split(','), "t", separator));
        Assert.Equal("t", TopicNaming.NameAlongHops(NamingPolicy.Identity, hops.Split(','), "t", separator));
    }

    [Theory]
    [InlineData("us_orders", "us", "_", true)]
    [InlineData("eu_us_orders", "us", "_", true)]
    [InlineData("us.orders", "us", "_", false)]
    [InlineData("us_orders", "us", ".", false)]
    [InlineData("orders_us", "us", "_", false)]
    public void The_cycle_rule_splits_on_the_separator(string topic, string target, string separator, bool cycle)
    {
        Assert.Equal(cycle, TopicNaming.IsCycle(topic, target, separator));
    }

    [Fact]
    public void A_header_is_trusted_in_the_topic_named_with_the_separator()
    {
        var provenance = Mesh.Core.Tests.Replication.TestData.Prov("y", Mesh.Core.Tests.Replication.TestData.Inc, "t", 3, 41, 77, ["y", "x", "s"]);
        var record = Mesh.Core.Tests.Replication.TestData.Record(9, Mesh.Core.Tests.Replication.TestData.ProvenanceHeader(provenance));

        Assert.Equal(Mesh.Core.Replication.ProvenanceVerdict.Trusted,
            Mesh.Core.Replication.ProvenanceTrust.Read(record, "s", "x_y_t", 3, null, NamingPolicy.Prefix, separator: "_").Verdict);
        var dotted = Mesh.Core.Replication.ProvenanceTrust.Read(record, "s", "x.y.t", 3, null, NamingPolicy.Prefix, separator: "_");
        Assert.Equal(Mesh.Core.Replication.ProvenanceVerdict.Untrusted, dotted.Verdict);
        Assert.Equal("its header names origin topic 't', which along its hops y,x,s is named 'x_y_t' in 's', but it was read from topic 'x.y.t'", dotted.UntrustedReason);
    }

    [Fact]
    public void The_separator_round_trips_through_yaml_and_is_validated()
    {
        const string regions = "regions:\n  A: { kafka: { bootstrap.servers: a:1 } }\n  B: { kafka: { bootstrap.servers: b:1 } }\n";
        var load = Topology.Load("version: 1\nnaming: prefix\nseparator: _\npattern: mesh\n" + regions, "t.yaml");
        Assert.True(load.IsValid, string.Join("\n", load.Problems.Select(p => p.Describe())));
        Assert.Equal("_", load.Topology!.Separator);
        Assert.Equal(load.Document, Topology.Load(TopologyWriter.ToYaml(load.Document!), "again.yaml").Document);
        Assert.Equal(".", Topology.Load("version: 1\nnaming: prefix\npattern: mesh\n" + regions, "t.yaml").Topology!.Separator);

        var bad = Topology.Load("version: 1\nnaming: prefix\nseparator: '/'\npattern: mesh\n" + regions, "t.yaml");
        Assert.Contains(bad.Problems, p => p.Path == "separator" && p.Message == "separator '/' is not part of a topic name (letters, digits, '.', '_' and '-')");
        var clash = Topology.Load("version: 1\nnaming: prefix\nseparator: _\npattern: mesh\nregions:\n  us_east: { kafka: { bootstrap.servers: a:1 } }\n  B: { kafka: { bootstrap.servers: b:1 } }\n", "t.yaml");
        Assert.Contains(clash.Problems, p => p.Message == "region id 'us_east' contains '_', which prefix naming uses to separate the region from the topic");
        var identity = Topology.Load("version: 1\nnaming: identity\nseparator: _\npattern: mesh\n" + regions, "t.yaml");
        Assert.Contains(identity.Problems, p => p.Path == "separator" && p.Severity == ProblemSeverity.Warning);

        var old = Topology.Load("version: 1\nnaming: prefix\npattern: mesh\n" + regions, "old.yaml").Topology!;
        var diff = TopologyDiff.Compare(old, load.Topology!);
        Assert.Contains(diff.Settings, c => c.Key == "separator" && c.Before == "." && c.After == "_");
    }
}
