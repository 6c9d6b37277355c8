namespace Mesh.Core.Tests.Topology;

// Inside the namespace, so that "Topology" names the type rather than the namespace Mesh.Core.Topology.
using Mesh.Core.Topology;

/// <summary>One row per problem the parser and validator report: the file, and the path, message, severity and line expected.</summary>
public sealed class ValidationTests
{
    private const string Regions = """
        regions:
          a: { kafka: { bootstrap.servers: "a:9092" } }
          b: { kafka: { bootstrap.servers: "b:9092" } }
          c: { kafka: { bootstrap.servers: "c:9092" } }
        """;

    private const string Valid = "version: 1\npattern: mesh\n" + Regions + "\n";

    public static TheoryData<string, string, string, string, ProblemSeverity, int?> Problems => new()
    {
        // case, file, path, message (contained), severity, line (null: not checked)
        { "unknown region in a link", "version: 1\npattern: custom\n" + Regions + "\nlinks:\n  - { from: a, to: bb }\n  - { from: b, to: c }\n",
            "links[0].to", "unknown region 'bb'", ProblemSeverity.Error, 8 },
        { "unknown source region", "version: 1\npattern: custom\n" + Regions + "\nlinks:\n  - { from: x, to: a }\n",
            "links[0].from", "unknown region 'x'", ProblemSeverity.Error, 8 },
        { "link without from", "version: 1\npattern: custom\n" + Regions + "\nlinks:\n  - { to: a }\n",
            "links[0].from", "link has no 'from' region", ProblemSeverity.Error, 8 },
        { "link to itself", "version: 1\npattern: custom\n" + Regions + "\nlinks:\n  - { from: a, to: b }\n  - { from: c, to: c }\n",
            "links[1]", "link from 'c' to itself", ProblemSeverity.Error, 9 },
        { "duplicate link", "version: 1\npattern: custom\n" + Regions + "\nlinks:\n  - { from: a, to: b }\n  - { from: b, to: c }\n  - { from: a, to: b, mode: push }\n",
            "links[2]", "duplicate link a -> b, also at links[0]", ProblemSeverity.Error, 10 },
        { "hub-spoke leaves a pair unconnected", "version: 1\npattern: hub-spoke\nhub: a\n" + Regions + "\nlinks:\n  - { from: a, to: b, enabled: false }\n",
            "links", "pattern 'hub-spoke' promises every region the others' data, but records from 'a' cannot reach 'b'", ProblemSeverity.Error, null },
        { "active-active leaves a pair unconnected", "version: 1\npattern: active-active\nregions: [a, b]\nlinks:\n  - { from: b, to: a, enabled: false }\n",
            "links", "records from 'b' cannot reach 'a'", ProblemSeverity.Error, null },
        { "mesh leaves a region unreachable", "version: 1\npattern: mesh\n" + Regions + "\nlinks:\n  - { from: a, to: c, enabled: false }\n  - { from: b, to: c, enabled: false }\n",
            "links", "records from 'a' cannot reach 'c'", ProblemSeverity.Error, null },
        { "region with no link", "version: 1\npattern: custom\n" + Regions + "\nlinks:\n  - { from: a, to: b }\n",
            "regions.c", "region 'c' has no link: it neither sends nor receives", ProblemSeverity.Warning, 6 },
        { "hub missing", "version: 1\npattern: hub-spoke\n" + Regions + "\n",
            "hub", "pattern 'hub-spoke' needs 'hub'", ProblemSeverity.Error, null },
        { "hub not a region", "version: 1\npattern: hub-spoke\nhub: hq\n" + Regions + "\n",
            "hub", "hub 'hq' is not a region", ProblemSeverity.Error, 3 },
        { "primary missing", "version: 1\npattern: active-passive\n" + Regions + "\n",
            "primary", "pattern 'active-passive' needs 'primary'", ProblemSeverity.Error, null },
        { "primary not a region", "version: 1\npattern: active-passive\nprimary: main\n" + Regions + "\n",
            "primary", "primary 'main' is not a region", ProblemSeverity.Error, 3 },
        { "primary without active-passive", "version: 1\npattern: mesh\nprimary: a\n" + Regions + "\n",
            "primary", "'primary' is used only by pattern 'active-passive'", ProblemSeverity.Warning, 3 },
        { "active-active needs two regions", "version: 1\npattern: active-active\n" + Regions + "\n",
            "pattern", "pattern 'active-active' joins exactly two regions, this file has 3 (a, b, c)", ProblemSeverity.Error, 2 },
        { "invalid regex in default topics", Valid + "topics:\n  include: [\"orders.*\", \"pay(ments\"]\n",
            "topics.include[1]", "invalid regular expression 'pay(ments'", ProblemSeverity.Error, 8 },
        { "invalid regex in a link", "version: 1\npattern: custom\n" + Regions + "\nlinks:\n  - from: a\n    to: b\n    topics:\n      exclude: [\"[tmp\"]\n",
            "links[0].topics.exclude[0]", "invalid regular expression '[tmp'", ProblemSeverity.Error, 11 },
        { "invalid regex as conflict key", Valid + "topics:\n  conflict:\n    \"*orders\": lww\n",
            "topics.conflict[\"*orders\"]", "invalid regular expression '*orders'", ProblemSeverity.Error, 9 },
        { "invalid regex in offsets groups", Valid + "offsets:\n  groups: [\"app-(\"]\n",
            "offsets.groups[0]", "invalid regular expression 'app-('", ProblemSeverity.Error, 8 },
        { "unknown conflict policy", Valid + "topics:\n  conflict:\n    orders: newest\n",
            "topics.conflict.orders", "unknown conflict policy 'newest'", ProblemSeverity.Error, 9 },
        { "version missing", "pattern: mesh\n" + Regions + "\n",
            "version", "version is missing", ProblemSeverity.Error, null },
        { "version zero", "version: 0\npattern: mesh\n" + Regions + "\n",
            "version", "version must be a positive integer, found 0", ProblemSeverity.Error, 1 },
        { "version negative", "version: -4\npattern: mesh\n" + Regions + "\n",
            "version", "version must be a positive integer, found -4", ProblemSeverity.Error, 1 },
        { "version not a number", "pattern: mesh\nversion: two\n" + Regions + "\n",
            "version", "version must be a positive integer, found 'two'", ProblemSeverity.Error, 2 },
        { "version not whole", "version: 1.5\npattern: mesh\n" + Regions + "\n",
            "version", "version must be a positive integer, found '1.5'", ProblemSeverity.Error, 1 },
        { "malformed YAML", "version: 1\npattern: mesh\nregions:\n  a: [x\n  b: y\n",
            "", "malformed file", ProblemSeverity.Error, 4 },
        { "malformed JSON", "{\n  \"version\": 1,\n  \"pattern\": \"mesh\",,\n  \"regions\": {}\n}\n",
            "", "malformed file", ProblemSeverity.Error, 3 },
        { "duplicate key", "version: 1\npattern: mesh\nversion: 2\n" + Regions + "\n",
            "", "malformed file: Duplicate key version", ProblemSeverity.Error, 3 },
        { "empty file", "  \n",
            "", "the file is empty", ProblemSeverity.Error, 1 },
        { "two documents", Valid + "---\n" + Valid,
            "", "the file holds 2 YAML documents", ProblemSeverity.Error, 8 },
        { "unknown top-level setting", Valid + "patern: hub-spoke\n",
            "patern", "unknown setting 'patern'", ProblemSeverity.Error, 7 },
        { "unknown link setting", "version: 1\npattern: custom\n" + Regions + "\nlinks:\n  - { from: a, to: b, direction: push }\n",
            "links[0].direction", "unknown setting 'direction'", ProblemSeverity.Error, 8 },
        { "unknown pattern", "version: 1\npattern: star\n" + Regions + "\n",
            "pattern", "unknown pattern 'star'", ProblemSeverity.Error, 2 },
        { "unknown naming", "version: 1\nnaming: mm2\npattern: mesh\n" + Regions + "\n",
            "naming", "unknown naming policy 'mm2'", ProblemSeverity.Error, 2 },
        { "unknown link mode", "version: 1\npattern: custom\n" + Regions + "\nlinks:\n  - { from: a, to: b, mode: pul }\n",
            "links[0].mode", "unknown link mode 'pul'", ProblemSeverity.Error, 8 },
        { "enabled not a boolean", "version: 1\npattern: custom\n" + Regions + "\nlinks:\n  - { from: a, to: b, enabled: maybe }\n",
            "links[0].enabled", "expected true or false, found 'maybe'", ProblemSeverity.Error, 8 },
        { "regions of the wrong kind", "version: 1\npattern: mesh\nregions: 3\n",
            "regions", "expected a map of region id to its settings", ProblemSeverity.Error, 3 },
        { "no regions", "version: 1\npattern: mesh\n",
            "regions", "no regions are defined", ProblemSeverity.Error, null },
        { "region id not allowed", "version: 1\npattern: mesh\nregions:\n  a: {}\n  US+East: {}\n",
            "regions[\"US+East\"]", "contains '+'", ProblemSeverity.Error, 5 },
        { "dotted region id under prefix naming", "version: 1\nnaming: prefix\npattern: mesh\nregions:\n  a: {}\n  eu.west: {}\n",
            "regions[\"eu.west\"]", "region id 'eu.west' contains '.'", ProblemSeverity.Error, 6 },
        { "region without bootstrap servers", "version: 1\npattern: mesh\nregions:\n  a: { kafka: { bootstrap.servers: x:1 } }\n  b: {}\n",
            "regions.b.kafka", "region 'b' has no 'bootstrap.servers'", ProblemSeverity.Warning, 5 },
        { "gateway not host:port", "version: 1\npattern: mesh\nregions:\n  a: { kafka: { bootstrap.servers: x:1 }, gateway: [silo-1] }\n  b: { kafka: { bootstrap.servers: y:1 } }\n",
            "regions.a.gateway[0]", "gateway endpoint 'silo-1' is not host:port", ProblemSeverity.Error, 4 },
        { "malformed secret reference", "version: 1\npattern: mesh\nregions:\n  a:\n    kafka:\n      bootstrap.servers: x:1\n      sasl.password: ${1PASS}\n  b: { kafka: { bootstrap.servers: y:1 } }\n",
            "regions.a.kafka[\"sasl.password\"]", "malformed environment variable reference", ProblemSeverity.Error, 7 },
        { "literal secret", "version: 1\npattern: mesh\nregions:\n  a:\n    kafka:\n      bootstrap.servers: x:1\n      sasl.password: hunter2\n  b: { kafka: { bootstrap.servers: y:1 } }\n",
            "regions.a.kafka[\"sasl.password\"]", "holds a literal secret", ProblemSeverity.Warning, 7 },
        { "kafka setting without a value", "version: 1\npattern: mesh\nregions:\n  a:\n    kafka:\n      bootstrap.servers:\n  b: {}\n",
            "regions.a.kafka[\"bootstrap.servers\"]", "Kafka setting 'bootstrap.servers' has no value", ProblemSeverity.Error, 6 },
        { "disabled link the pattern does not create", "version: 1\npattern: active-passive\nprimary: a\n" + Regions + "\nlinks:\n  - { from: b, to: c, enabled: false }\n",
            "links[0].enabled", "link b -> c is disabled, but pattern 'active-passive' does not create it", ProblemSeverity.Warning, 9 },
        { "link that selects nothing", "version: 1\npattern: mesh\n" + Regions + "\nlinks:\n  - { from: a, to: b, topics: { include: [] } }\n",
            "links[0].topics.include", "link a -> b includes no topic, so it carries nothing", ProblemSeverity.Warning, 8 },
        { "offsets interval not positive", Valid + "offsets:\n  intervalSeconds: 0\n",
            "offsets.intervalSeconds", "intervalSeconds must be positive, found 0", ProblemSeverity.Error, 8 },
    };

    [Theory]
    [MemberData(nameof(Problems))]
    public void Each_problem_is_reported_with_its_path_message_and_position(string name, string file, string path, string message, ProblemSeverity severity, int? line)
    {
        var load = Topology.Load(file, "topology.yaml");

        var problem = load.Problems.FirstOrDefault(p => p.Path == path && p.Message.Contains(message, StringComparison.Ordinal));
        Assert.True(problem is not null,
            $"{name}: no problem at '{path}' saying \"{message}\"; got:\n  " + string.Join("\n  ", load.Problems.Select(p => p.Describe())));
        Assert.Equal(severity, problem.Severity);
        Assert.False(string.IsNullOrWhiteSpace(problem.Fix), $"{name}: the problem has no fix");
        if (line is not null) Assert.True(line == problem.Line, $"{name}: expected line {line}, got {problem.Line} ({problem.Describe()})");
        if (severity == ProblemSeverity.Error) Assert.False(load.IsValid, $"{name}: a file with an error loaded as valid");
    }

    [Fact]
    public void Valid_file_has_no_problem()
    {
        var load = Topology.Load(Valid, "topology.yaml");

        Assert.True(load.IsValid, string.Join("\n", load.Problems.Select(p => p.Describe())));
        Assert.Empty(load.Problems);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        const string file = """
            version: 0
            pattern: hub-spoke
            hub: hqq
            regions:
              hq: { kafka: { bootstrap.servers: "hq:9092" } }
              s1: { kafka: { bootstrap.servers: "s1:9092" } }
            links:
              - { from: s1, to: s2 }
              - { from: hq, to: hq }
            topics:
              include: ["(open"]
              conflict: { orders: first }
            """;

        var load = Topology.Load(file, "t.yaml");

        Assert.False(load.IsValid);
        var paths = load.Errors.Select(p => p.Path).ToArray();
        Assert.Equal(["version", "hub", "links[0].to", "links[1]", "topics.include[0]", "topics.conflict.orders"], paths);
        Assert.Equal("did you mean 'hq'? use one of: hq, s1", load.Errors.Single(p => p.Path == "hub").Fix);
    }

    [Fact]
    public void A_value_the_parser_rejects_is_reported_once()
    {
        var load = Topology.Load("version: many\npattern: mesh\n" + Regions + "\n", "t.yaml");

        Assert.Single(load.Problems, p => p.Path == "version");
    }

    [Fact]
    public void Validator_reports_on_documents_built_in_code_without_positions()
    {
        var document = TopologyBuilder.Document(TopologyPattern.HubSpoke, "a,b") with { Version = null };

        var problems = TopologyValidator.Validate(document);

        Assert.Equal(["version", "hub"], problems.Where(p => p.IsError).Select(p => p.Path));
        Assert.All(problems, p => Assert.Null(p.Line));
        var thrown = Assert.Throws<InvalidTopologyException>(() => Topology.FromDocument(document));
        Assert.Contains("version is missing", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Problem_description_reads_like_a_compiler_message()
    {
        var load = Topology.Load("version: 1\npattern: custom\n" + Regions + "\nlinks:\n  - { from: a, to: bb }\n", "mesh.yaml");

        var problem = load.Errors.Single();

        Assert.Equal("mesh.yaml:8:16: error: links[0].to: unknown region 'bb'", problem.Describe("mesh.yaml"));
        Assert.Equal("did you mean 'b'? use one of: a, b, c", problem.Fix);
    }
}
