namespace Mesh.Core.Tests.Topology;

// Inside the namespace, so that "Topology" names the type rather than the namespace Mesh.Core.Topology.
using Mesh.Core.Topology;

/// <summary>Realistic MirrorMaker 2 configurations converted and checked field by field.</summary>
public sealed class Mm2ImportTests
{
    /// <summary>A disaster-recovery pair: one flow, identity naming, consumer offsets synced for failover.</summary>
    private const string ActivePassiveDr = """
        # MirrorMaker 2, dedicated mode: DR copy of the payments cluster
        clusters = primary, backup

        primary.bootstrap.servers = pkafka-1.dc1:9093,pkafka-2.dc1:9093
        primary.security.protocol = SASL_SSL
        primary.sasl.mechanism = SCRAM-SHA-512
        primary.sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule required \
            username="mm2-replicator" \
            password="Pa55w0rd!";
        primary.ssl.truststore.location = /etc/kafka/secrets/truststore.jks
        primary.ssl.truststore.password = changeit

        backup.bootstrap.servers = bkafka-1.dc2:9093
        backup.security.protocol = SSL
        backup.ssl.ca.location = /etc/kafka/secrets/ca.pem

        primary->backup.enabled = true
        primary->backup.topics = payments\\..*, ledger, customers
        backup->primary.enabled = false

        replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy
        emit.checkpoints.enabled = true
        emit.checkpoints.interval.seconds = 20
        sync.group.offsets.enabled = true
        sync.group.offsets.interval.seconds = 30
        groups = payments-.*, ledger-writer
        groups.exclude = console-consumer-.*

        replication.factor = 3
        tasks.max = 12
        checkpoints.topic.replication.factor = 3
        heartbeats.topic.replication.factor = 3
        offset-syncs.topic.replication.factor = 3
        """;

    /// <summary>Two active sites replicating to each other with MM2's default prefix naming.</summary>
    private const string BidirectionalPair = """
        clusters: us-west, us-east
        us-west.bootstrap.servers: usw-kafka:9092
        us-east.bootstrap.servers: use-kafka:9092
        security.protocol: SASL_SSL
        sasl.mechanism: PLAIN
        us-west.sasl.jaas.config: org.apache.kafka.common.security.plain.PlainLoginModule required username="mm2" password="${env:USW_KAFKA_PASSWORD}";
        us-east.sasl.jaas.config: org.apache.kafka.common.security.plain.PlainLoginModule required username="mm2" password="${env:USE_KAFKA_PASSWORD}";
        us-east.producer.compression.type: zstd

        us-west->us-east.enabled: true
        us-east->us-west.enabled: true
        topics: orders.*, inventory, sessions
        topics.exclude: .*-tmp, .*[\-\.]internal, __.*

        us-west->us-east.sync.group.offsets.enabled: true
        us-east->us-west.sync.group.offsets.enabled: true
        us-east->us-west.emit.heartbeats.enabled: false
        sync.topic.acls.enabled: false
        refresh.topics.interval.seconds: 30
        """;

    /// <summary>Edge sites feeding a central analytics cluster; nothing flows back.</summary>
    private const string HubFanIn = """
        clusters = Edge-Paris, edge-berlin, edge-madrid, central

        Edge-Paris.bootstrap.servers = paris-kafka:9092
        edge-berlin.bootstrap.servers = berlin-kafka:9092
        edge-madrid.bootstrap.servers = madrid-kafka:9092
        central.bootstrap.servers = central-kafka-1:9092,central-kafka-2:9092
        central.ssl.key.password = ${file:/opt/mm2/secrets.properties:key.password}

        Edge-Paris->central.enabled = true
        edge-berlin->central.enabled = true
        edge-madrid->central.enabled = true
        edge-madrid->central.topics = telemetry\\..*, alerts
        edge-berlin->central.topics.blacklist = telemetry\\.debug

        topics = telemetry\\..*
        replication.policy.separator = _
        emit.checkpoints.enabled = false
        """;

    [Fact]
    public void Active_passive_dr_file()
    {
        var import = Mm2Importer.Import(ActivePassiveDr, "payments-dr");
        var document = import.Document;

        Assert.Equal("payments-dr", document.Name);
        Assert.Equal(1, document.Version);
        Assert.Equal(NamingPolicy.Identity, document.Naming);
        Assert.Equal(TopologyPattern.ActivePassive, document.Pattern);
        Assert.Equal("primary", document.Primary);
        Assert.Null(document.Hub);

        Assert.Equal(["primary", "backup"], document.Regions.Select(r => r.Id));
        Assert.Equal(new KafkaSettings(
            ("bootstrap.servers", "pkafka-1.dc1:9093,pkafka-2.dc1:9093"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "mm2-replicator"),
            ("sasl.password", "${PRIMARY_SASL_PASSWORD}")), document.Regions[0].Kafka);
        Assert.Equal(new KafkaSettings(
            ("bootstrap.servers", "bkafka-1.dc2:9093"),
            ("security.protocol", "SSL"),
            ("ssl.ca.location", "/etc/kafka/secrets/ca.pem")), document.Regions[1].Kafka);
        Assert.All(document.Regions, r => Assert.Empty(r.Gateway));

        // The only flow's topic list becomes the default selection, so the pattern needs no explicit link.
        Assert.Empty(document.Links);
        Assert.Equal(new TopicSelector([@"payments\..*", "ledger", "customers"], Mm2Importer.Mm2DefaultTopicsExclude), document.Topics.Selection);
        Assert.Empty(document.Topics.Conflict);

        Assert.Equal(new OffsetSettings
        {
            Checkpoints = true,
            Sync = true,
            IntervalSeconds = 30,
            Groups = ["payments-.*", "ledger-writer"],
            GroupsExclude = ["console-consumer-.*"],
        }, document.Offsets);

        Assert.Equal(
        [
            "primary.ssl.truststore.location",
            "primary.ssl.truststore.password",
            "emit.checkpoints.interval.seconds",
            "replication.factor",
            "tasks.max",
            "checkpoints.topic.replication.factor",
            "heartbeats.topic.replication.factor",
            "offset-syncs.topic.replication.factor",
        ], import.Unmapped.Select(u => u.Key));
        Assert.Equal("***", import.Unmapped.Single(u => u.Key == "primary.ssl.truststore.password").Value);
        Assert.Contains("ssl.ca.location", import.Unmapped[0].Reason, StringComparison.Ordinal);
        Assert.Contains("one replicator per partition", import.Unmapped.Single(u => u.Key == "tasks.max").Reason, StringComparison.Ordinal);
        Assert.Equal(30, import.Unmapped.Single(u => u.Key == "tasks.max").Line);

        Assert.Contains(import.Notes, n => n.Contains("${PRIMARY_SASL_PASSWORD}", StringComparison.Ordinal));
        Assert.Contains(import.Notes, n => n.Contains("kept in 'offsets'", StringComparison.Ordinal));
        Assert.DoesNotContain("Pa55w0rd!", string.Join("\n", import.Notes.Concat(import.Unmapped.Select(u => u.ToString()))), StringComparison.Ordinal);

        var topology = Topology.FromDocument(document);
        Assert.Equal("primary>backup", TopologyBuilder.LinkText(topology.Links));
        Assert.True(topology.IsReplicable("payments.eu", "primary", "backup"));
        Assert.False(topology.IsReplicable("audit", "primary", "backup"));
    }

    [Fact]
    public void Bidirectional_pair_file()
    {
        var import = Mm2Importer.Import(BidirectionalPair, "retail");
        var document = import.Document;

        Assert.Equal(NamingPolicy.Prefix, document.Naming);
        Assert.Equal(TopologyPattern.ActiveActive, document.Pattern);
        Assert.Null(document.Primary);
        Assert.Null(document.Hub);
        Assert.Equal(["us-west", "us-east"], document.Regions.Select(r => r.Id));
        Assert.Equal(new KafkaSettings(
            ("bootstrap.servers", "usw-kafka:9092"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "mm2"),
            ("sasl.password", "${USW_KAFKA_PASSWORD}")), document.Regions[0].Kafka);
        Assert.Equal("${USE_KAFKA_PASSWORD}", document.Regions[1].Kafka["sasl.password"]);
        Assert.Empty(document.Links);
        // As Java reads properties, "\-" and "\." lose their backslash: MM2 itself sees ".*[-.]internal".
        Assert.Equal(new TopicSelector(["orders.*", "inventory", "sessions"], [".*-tmp", ".*[-.]internal", "__.*"]), document.Topics.Selection);
        Assert.Equal(new OffsetSettings { Sync = true }, document.Offsets);

        Assert.Equal(["us-east.producer.compression.type", "refresh.topics.interval.seconds"], import.Unmapped.Select(u => u.Key));
        Assert.Contains("one set of Kafka settings per region", import.Unmapped[0].Reason, StringComparison.Ordinal);
        Assert.Contains(import.Notes, n => n.Contains("naming is 'prefix'", StringComparison.Ordinal));

        var topology = Topology.FromDocument(document);
        Assert.Equal("us-east>us-west us-west>us-east", TopologyBuilder.LinkText(topology.Links));
        Assert.Equal("us-west.orders", topology.RemoteTopicName("us-west", "orders", "us-east"));
        Assert.False(topology.IsReplicable("us-west.orders", "us-east", "us-west"));
    }

    [Fact]
    public void Hub_fan_in_file()
    {
        var import = Mm2Importer.Import(HubFanIn, "telemetry");
        var document = import.Document;

        Assert.Equal(NamingPolicy.Prefix, document.Naming);
        Assert.Equal(TopologyPattern.Custom, document.Pattern);
        // Aliases are region ids as written, case included: MM2 has been naming remote topics 'Edge-Paris.<topic>'.
        Assert.Equal(["Edge-Paris", "edge-berlin", "edge-madrid", "central"], document.Regions.Select(r => r.Id));
        Assert.Equal(new KafkaSettings(("bootstrap.servers", "central-kafka-1:9092,central-kafka-2:9092")), document.Regions[3].Kafka);
        // With MM2's separator '_' its internal topics end in '_internal': excluded too, as MM2 never replicates them.
        Assert.Equal(new TopicSelector([@"telemetry\..*"], [.. Mm2Importer.Mm2DefaultTopicsExclude, ".*_internal"]), document.Topics.Selection);
        Assert.Equal(new OffsetSettings { Checkpoints = false }, document.Offsets);

        Assert.Equal(
        [
            new LinkDocument("Edge-Paris", "central"),
            new LinkDocument("edge-berlin", "central") { Topics = new TopicOverride(null, [@"telemetry\.debug"]) },
            new LinkDocument("edge-madrid", "central") { Topics = new TopicOverride([@"telemetry\..*", "alerts"], null) },
        ], document.Links);

        Assert.Equal(["central.ssl.key.password"], import.Unmapped.Select(u => u.Key));
        Assert.Equal("***", import.Unmapped[0].Value);
        Assert.Contains("'file' config provider", import.Unmapped[0].Reason, StringComparison.Ordinal);
        // MM2's separator is the topology's: remote topics keep MM2's names.
        Assert.Equal("_", document.Separator);
        Assert.Contains(import.Notes, n => n.Contains("'<source>_<topic>'", StringComparison.Ordinal));
        Assert.DoesNotContain(import.Notes, n => n.Contains("becomes region", StringComparison.Ordinal));
        Assert.Empty(import.Errors);

        var topology = Topology.FromDocument(document);
        Assert.Equal(["Edge-Paris", "central", "edge-berlin", "edge-madrid"], topology.Regions.Select(r => r.Id));
        Assert.Equal("Edge-Paris>central edge-berlin>central edge-madrid>central", TopologyBuilder.LinkText(topology.Links));
        Assert.True(topology.IsReplicable("alerts", "edge-madrid", "central"));
        Assert.False(topology.IsReplicable("alerts", "Edge-Paris", "central"));
        Assert.False(topology.IsReplicable("telemetry.debug", "edge-berlin", "central"));
        Assert.True(topology.IsReplicable("telemetry.debug", "Edge-Paris", "central"));
        Assert.Null(topology.FindRoute("central", "Edge-Paris"));
        Assert.Equal("Edge-Paris_telemetry.eu", topology.RemoteTopicName("Edge-Paris", "telemetry.eu", "central"));
    }

    public static TheoryData<string, string, TopologyPattern, string?, string?> Recognition => new()
    {
        // clusters, enabled flows, pattern, primary, hub
        { "a,b", "a->b", TopologyPattern.ActivePassive, "a", null },
        { "a,b,c", "b->a b->c", TopologyPattern.ActivePassive, "b", null },
        { "a,b", "a->b b->a", TopologyPattern.ActiveActive, null, null },
        { "hq,s1,s2", "hq->s1 s1->hq hq->s2 s2->hq", TopologyPattern.HubSpoke, null, "hq" },
        { "a,b,c", "a->b a->c b->a b->c c->a c->b", TopologyPattern.Mesh, null, null },
        { "a,b,c", "a->b b->c c->a", TopologyPattern.Custom, null, null },
        { "a,b,c", "a->b", TopologyPattern.Custom, null, null },
        { "a,b", "", TopologyPattern.Custom, null, null },
    };

    [Theory]
    [MemberData(nameof(Recognition))]
    public void Flows_are_recognised_as_a_pattern(string clusters, string flows, TopologyPattern pattern, string? primary, string? hub)
    {
        var lines = new List<string> { $"clusters = {clusters.Replace(",", ", ")}" };
        lines.AddRange(TopologyBuilder.Ids(clusters).Select(c => $"{c}.bootstrap.servers = {c}:9092"));
        lines.AddRange(flows.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(f => $"{f}.enabled = true"));

        var document = Mm2Importer.Import(string.Join("\n", lines)).Document;

        Assert.Equal(pattern, document.Pattern);
        Assert.Equal(primary, document.Primary);
        Assert.Equal(hub, document.Hub);
        var expected = flows.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(f => f.Replace("->", ">")).Order(StringComparer.Ordinal);
        Assert.Equal(string.Join(" ", expected), TopologyBuilder.LinkText(PatternExpansion.Links(document)));
    }

    [Theory]
    [InlineData(nameof(ActivePassiveDr))]
    [InlineData(nameof(BidirectionalPair))]
    [InlineData(nameof(HubFanIn))]
    public void Imported_topology_round_trips_through_yaml_and_validates(string file)
    {
        var text = (string)typeof(Mm2ImportTests).GetField(file, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!;
        var document = Mm2Importer.Import(text, file).Document;

        var yaml = TopologyWriter.ToYaml(document, ["imported"]);
        var load = Topology.Load(yaml, "imported.yaml");

        Assert.True(load.IsValid, yaml + "\n" + string.Join("\n", load.Problems.Select(p => p.Describe())));
        Assert.Equal(document, load.Document);
        Assert.StartsWith("# imported\n", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void Disabled_unknown_and_self_flows_are_reported_and_conflicting_flow_offsets_keep_the_first()
    {
        const string file = """
            clusters = a, b, c
            a->b.enabled = true
            a->c.enabled = true
            b->a.enabled = false
            b->a.topics = x
            a->b.sync.group.offsets.interval.seconds = 10
            a->c.sync.group.offsets.interval.seconds = 60
            x->a.enabled = true
            c->c.enabled = true
            """;

        var import = Mm2Importer.Import(file);

        Assert.Equal(TopologyPattern.ActivePassive, import.Document.Pattern);
        Assert.Equal(10, import.Document.Offsets!.IntervalSeconds);
        Assert.Equal(["b->a.topics", "a->c.sync.group.offsets.interval.seconds", "x->a.enabled", "c->c.enabled"], import.Unmapped.Select(u => u.Key));
        Assert.Contains("not enabled", import.Unmapped[0].Reason, StringComparison.Ordinal);
        Assert.Contains("flows disagree", import.Unmapped[1].Reason, StringComparison.Ordinal);
        Assert.Contains("not in 'clusters'", import.Unmapped[2].Reason, StringComparison.Ordinal);
        Assert.Contains("to itself", import.Unmapped[3].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void File_without_clusters_gives_an_empty_topology_that_fails_validation()
    {
        var import = Mm2Importer.Import("a->b.enabled = true\n");

        Assert.Empty(import.Document.Regions);
        Assert.Contains(import.Notes, n => n.Contains("no 'clusters' setting", StringComparison.Ordinal));
        Assert.Contains(TopologyValidator.Validate(import.Document), p => p.Path == "regions" && p.IsError);
    }

    [Fact]
    public void Java_properties_syntax()
    {
        const string file = "# comment\n! other comment\n  key.one = value one  \nkey\\ two:v2\nkey3 v3\nlong = a, \\\n    b, \\\n    c\nescaped = tab\\there\\u0041\nempty =\n";

        var entries = JavaProperties.Parse(file);

        Assert.Equal(
        [
            new PropertyEntry("key.one", "value one", 3),
            new PropertyEntry("key two", "v2", 4),
            new PropertyEntry("key3", "v3", 5),
            new PropertyEntry("long", "a, b, c", 6),
            new PropertyEntry("escaped", "tab\thereA", 9),
            new PropertyEntry("empty", "", 10),
        ], entries);
    }
}
