namespace Mesh.Core.Tests.Topology;

// Inside the namespace, so that "Topology" names the type rather than the namespace Mesh.Core.Topology.
using Mesh.Core.Topology;

/// <summary>Reading YAML and JSON into a document, and writing a document back.</summary>
public sealed class ParserTests
{
    private const string FullYaml = """
        name: retail
        version: 7
        naming: prefix
        pattern: hub-spoke
        hub: hq
        regions:
          hq:
            kafka:
              bootstrap.servers: hq-kafka-1:9092,hq-kafka-2:9092
              sasl.password: ${HQ_KAFKA_PASSWORD}
              linger.ms: 5
            gateway: [hq-silo-0:30000, hq-silo-1:30000]
          store-1:
            kafka: { bootstrap.servers: "s1-kafka:9092" }
          store-2:
        links:
          - from: hq
            to: store-2
            mode: push
            topics: { include: ["prices.*"] }
          - { from: store-1, to: store-2 }
          - { from: store-2, to: hq, enabled: false }
        topics:
          include: [".*"]
          exclude: ["__.*", ".*-internal"]
          conflict:
            inventory: lww
            "audit-.*": none
        offsets:
          checkpoints: true
          sync: true
          intervalSeconds: 60
          groups: [".*"]
          groupsExclude: ["console-consumer-.*"]
        """;

    private const string FullJson = """
        {
          "name": "retail",
          "version": 7,
          "naming": "prefix",
          "pattern": "hub-spoke",
          "hub": "hq",
          "regions": {
            "hq": {
              "kafka": {
                "bootstrap.servers": "hq-kafka-1:9092,hq-kafka-2:9092",
                "sasl.password": "${HQ_KAFKA_PASSWORD}",
                "linger.ms": 5
              },
              "gateway": ["hq-silo-0:30000", "hq-silo-1:30000"]
            },
            "store-1": {"kafka": {"bootstrap.servers": "s1-kafka:9092"}},
            "store-2": null
          },
          "links": [
            {"from": "hq", "to": "store-2", "mode": "push", "topics": {"include": ["prices.*"]}},
            {"from": "store-1", "to": "store-2"},
            {"from": "store-2", "to": "hq", "enabled": false}
          ],
          "topics": {
            "include": [".*"],
            "exclude": ["__.*", ".*-internal"],
            "conflict": {"inventory": "lww", "audit-.*": "none"}
          },
          "offsets": {"checkpoints": true, "sync": true, "intervalSeconds": 60, "groups": [".*"], "groupsExclude": ["console-consumer-.*"]}
        }
        """;

    private static readonly TopologyDocument Expected = new()
    {
        Name = "retail",
        Version = 7,
        Naming = NamingPolicy.Prefix,
        Pattern = TopologyPattern.HubSpoke,
        Hub = "hq",
        Regions =
        [
            new Region("hq",
                new KafkaSettings(("bootstrap.servers", "hq-kafka-1:9092,hq-kafka-2:9092"), ("sasl.password", "${HQ_KAFKA_PASSWORD}"), ("linger.ms", "5")),
                ["hq-silo-0:30000", "hq-silo-1:30000"]),
            new Region("store-1", new KafkaSettings(("bootstrap.servers", "s1-kafka:9092")), []),
            new Region("store-2"),
        ],
        Links =
        [
            new LinkDocument("hq", "store-2") { Mode = LinkMode.Push, Topics = new TopicOverride(["prices.*"], null) },
            new LinkDocument("store-1", "store-2"),
            new LinkDocument("store-2", "hq") { Enabled = false },
        ],
        Topics = new TopicRules(new TopicSelector([".*"], ["__.*", ".*-internal"]),
            [new ConflictRule("inventory", ConflictPolicy.Lww), new ConflictRule("audit-.*", ConflictPolicy.None)]),
        Offsets = new OffsetSettings
        {
            Checkpoints = true,
            Sync = true,
            IntervalSeconds = 60,
            Groups = [".*"],
            GroupsExclude = ["console-consumer-.*"],
        },
    };

    [Theory]
    [InlineData(FullYaml)]
    [InlineData(FullJson)]
    public void Yaml_and_json_read_to_the_same_document(string text)
    {
        var result = TopologyParser.Parse(text, "t");

        Assert.Empty(result.Problems);
        Assert.Equal(Expected, result.Document);
    }

    [Fact]
    public void Documents_differing_in_one_field_are_not_equal()
    {
        Assert.NotEqual(Expected, Expected with { Links = [.. Expected.Links.Take(2)] });
        Assert.NotEqual(Expected, Expected with { Topics = Expected.Topics with { Conflict = [] } });
        Assert.NotEqual(Expected, Expected with { Regions = [.. Expected.Regions.Take(2), new Region("store-2", KafkaSettings.Empty, ["x:1"])] });
    }

    [Fact]
    public void Positions_are_recorded_for_every_path()
    {
        var document = TopologyParser.Parse(FullYaml, "t").Document!;

        Assert.Equal(new SourcePosition(2, 1), document.Source.Find("version"));
        Assert.Equal(new SourcePosition(10, 7), document.Source.Find("regions.hq.kafka[\"sasl.password\"]"));
        Assert.Equal(new SourcePosition(12, 32), document.Source.Find("regions.hq.gateway[1]"));
        Assert.Equal(new SourcePosition(21, 5), document.Source.Find("links[1]"));
        // A path never read falls back to the closest enclosing one.
        Assert.Equal(new SourcePosition(21, 5), document.Source.Find("links[1].mode"));
        Assert.Equal(new SourcePosition(28, 5), document.Source.Find("topics.conflict[\"audit-.*\"]"));
    }

    [Theory]
    [InlineData(FullYaml)]
    [InlineData(FullJson)]
    public void Written_yaml_reads_back_to_an_equal_document(string text)
    {
        var document = TopologyParser.Parse(text, "t").Document!;

        var yaml = TopologyWriter.ToYaml(document);
        var reread = TopologyParser.Parse(yaml, "written");

        Assert.Empty(reread.Problems);
        Assert.Equal(document, reread.Document);
    }

    [Fact]
    public void Writer_quotes_what_would_otherwise_read_differently()
    {
        var document = TopologyBuilder.Document(TopologyPattern.Mesh, "a,b") with
        {
            Name = "null",
            Topics = new TopicRules(new TopicSelector(["*weird", "[x]", "a, b", "~", "#hash", "null"], [""]), [new ConflictRule("{x}", ConflictPolicy.Lww)]),
            Regions = [new Region("a", new KafkaSettings(("bootstrap.servers", "a:1"), ("client.id", "- dash"), ("x", "'quoted'")), []), new Region("b")],
        };

        var reread = TopologyParser.Parse(TopologyWriter.ToYaml(document), "written");

        Assert.Empty(reread.Problems);
        Assert.Equal(document, reread.Document);
    }

    [Fact]
    public void Region_list_shorthand_and_defaults()
    {
        var document = TopologyParser.Parse("version: 1\npattern: mesh\nregions: [a, b]\n", "t").Document!;

        Assert.Equal([new Region("a"), new Region("b")], document.Regions);
        Assert.Equal(NamingPolicy.Identity, document.Naming);
        Assert.Equal(TopicRules.Default, document.Topics);
        Assert.Null(document.Offsets);
        Assert.Empty(document.Links);
    }

    [Fact]
    public void Link_topics_override_field_by_field()
    {
        var text = "version: 1\npattern: mesh\nregions: [a, b]\ntopics: { exclude: [\"__.*\"] }\nlinks:\n  - { from: a, to: b, topics: { include: orders } }\n";

        var topology = Topology.Load(text, "t").Topology!;

        Assert.Equal(new TopicSelector(["orders"], ["__.*"]), topology.FindLink("a", "b")!.Topics);
        Assert.Equal(new TopicSelector([".*"], ["__.*"]), topology.FindLink("b", "a")!.Topics);
    }

    [Fact]
    public void Anchors_and_aliases_are_read_as_copies()
    {
        const string text = """
            version: 1
            pattern: mesh
            regions:
              a: { kafka: &shared { security.protocol: SSL, bootstrap.servers: "k:9092" } }
              b: { kafka: *shared }
            """;

        var document = TopologyParser.Parse(text, "t").Document!;

        Assert.Equal(document.Regions[0].Kafka, document.Regions[1].Kafka);
    }
}
