namespace Mesh.Core.Tests.Topology;

// Inside the namespace, so that "Topology" names the type rather than the namespace Mesh.Core.Topology.
using Mesh.Core.Topology;

/// <summary>Conflict rules with a version header: reading both forms, the problems, writing back, reports and diffs.</summary>
public sealed class ConflictRuleTests
{
    private const string Head = "version: 1\npattern: mesh\nregions:\n  a: { kafka: { bootstrap.servers: \"a:9092\" } }\n  b: { kafka: { bootstrap.servers: \"b:9092\" } }\n";

    private static Topology Load(string text)
    {
        var load = Topology.Load(text, "t");
        Assert.True(load.IsValid, string.Join("\n", load.Problems.Select(p => p.Describe())));
        return load.Topology!;
    }

    [Fact]
    public void Short_and_long_forms_read_to_rules_with_and_without_a_version_header()
    {
        var topology = Load(Head + """
            topics:
              conflict:
                orders: lww
                profiles: { policy: lww, version-header: app-version }
                "carts-.*":
                  policy: LWW
                audit: { policy: none }
            """);

        Assert.Equal(
            [
                new ConflictRule("orders", ConflictPolicy.Lww),
                new ConflictRule("profiles", ConflictPolicy.Lww) { VersionHeader = "app-version" },
                new ConflictRule("carts-.*", ConflictPolicy.Lww),
                new ConflictRule("audit", ConflictPolicy.None),
            ],
            topology.Topics.Conflict);
        Assert.Empty(topology.Warnings);
    }

    [Fact]
    public void The_json_form_reads_the_same()
    {
        var json = """
            {"version": 1, "pattern": "mesh", "regions": {"a": {"kafka": {"bootstrap.servers": "a:9092"}}, "b": {"kafka": {"bootstrap.servers": "b:9092"}}},
             "topics": {"conflict": {"profiles": {"policy": "lww", "version-header": "app-version"}}}}
            """;

        Assert.Equal("app-version", Load(json).ConflictRuleFor("profiles")!.VersionHeader);
    }

    public static TheoryData<string, string, string, string, int, int> Problems => new()
    {
        // case, the conflict map's entries, path, message (contained), line, column
        { "unknown key", "    profiles: { policy: lww, versionheader: v }\n",
            "topics.conflict.profiles.versionheader", "unknown setting 'versionheader'", 8, 30 },
        { "version header under policy none", "    profiles: { policy: none, version-header: v }\n",
            "topics.conflict.profiles.version-header", "version-header orders the writes of policy 'lww', and the rule for 'profiles' has policy 'none'", 8, 31 },
        { "no policy", "    profiles: { version-header: v }\n",
            "topics.conflict.profiles", "the conflict rule for 'profiles' has no policy", 8, 5 },
        { "empty header name", "    profiles: { policy: lww, version-header: \"\" }\n",
            "topics.conflict.profiles.version-header", "version-header is empty", 8, 30 },
        { "header name left out", "    profiles:\n      policy: lww\n      version-header:\n",
            "topics.conflict.profiles.version-header", "version-header has no value", 10, 22 },
        { "mesh header", "    profiles: { policy: lww, version-header: mesh.provenance }\n",
            "topics.conflict.profiles.version-header", "version-header 'mesh.provenance' starts with 'mesh.'", 8, 30 },
        { "mesh header in capitals", "    profiles: { policy: lww, version-header: Mesh.Version }\n",
            "topics.conflict.profiles.version-header", "version-header 'Mesh.Version' starts with 'mesh.'", 8, 30 },
        { "unknown policy in the long form", "    profiles: { policy: newest, version-header: v }\n",
            "topics.conflict.profiles.policy", "unknown conflict policy 'newest'", 8, 25 },
        { "header name of the wrong kind", "    profiles: { policy: lww, version-header: [a, b] }\n",
            "topics.conflict.profiles.version-header", "expected a single value, found a list", 8, 46 },
        { "a list instead of a rule", "    profiles: [lww]\n",
            "topics.conflict.profiles", "expected a single value, found a list", 8, 15 },
    };

    [Theory]
    [MemberData(nameof(Problems))]
    public void Each_problem_is_reported_with_its_path_position_and_a_fix(string name, string entries, string path, string message, int line, int column)
    {
        var load = Topology.Load(Head + "topics:\n  conflict:\n" + entries, "topology.yaml");

        var problem = load.Problems.FirstOrDefault(p => p.Path == path && p.Message.Contains(message, StringComparison.Ordinal));
        Assert.True(problem is not null,
            $"{name}: no problem at '{path}' saying \"{message}\"; got:\n  " + string.Join("\n  ", load.Problems.Select(p => p.Describe())));
        Assert.Equal(ProblemSeverity.Error, problem.Severity);
        Assert.False(string.IsNullOrWhiteSpace(problem.Fix), $"{name}: the problem has no fix");
        Assert.True((line, column) == (problem.Line, problem.Column), $"{name}: expected {line}:{column}, got {problem.Line}:{problem.Column} ({problem.Describe()})");
        Assert.False(load.IsValid, $"{name}: loaded as valid");
    }

    [Fact]
    public void A_misspelt_key_gets_a_suggestion()
    {
        var load = Topology.Load(Head + "topics:\n  conflict:\n    profiles: { policy: lww, version-headr: v }\n", "t");

        Assert.Contains("did you mean 'version-header'?", load.Errors.Single().Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void A_document_built_in_code_is_validated_too()
    {
        var document = TopologyBuilder.Document(TopologyPattern.Mesh, "a,b") with
        {
            Topics = new TopicRules(TopicSelector.All,
            [
                new ConflictRule("x", ConflictPolicy.None) { VersionHeader = "v" },
                new ConflictRule("y", ConflictPolicy.Lww) { VersionHeader = "" },
                new ConflictRule("z", ConflictPolicy.Lww) { VersionHeader = "mesh.repair" },
            ]),
        };

        var problems = TopologyValidator.Validate(document);

        Assert.Equal(
            ["topics.conflict.x.version-header", "topics.conflict.y.version-header", "topics.conflict.z.version-header"],
            problems.Where(p => p.IsError).Select(p => p.Path));
    }

    [Fact]
    public void Written_yaml_keeps_the_short_form_without_a_header_and_reads_back_equal()
    {
        var document = TopologyBuilder.Document(TopologyPattern.Mesh, "a,b") with
        {
            Topics = new TopicRules(TopicSelector.All,
            [
                new ConflictRule("orders", ConflictPolicy.Lww),
                new ConflictRule("profiles", ConflictPolicy.Lww) { VersionHeader = "app-version" },
                new ConflictRule("odd", ConflictPolicy.Lww) { VersionHeader = "null" },
            ]),
        };

        var yaml = TopologyWriter.ToYaml(document);
        var reread = TopologyParser.Parse(yaml, "written");

        Assert.Empty(reread.Problems);
        Assert.Equal(document, reread.Document);
        Assert.Contains("orders: lww\n", yaml, StringComparison.Ordinal);
        Assert.Contains("version-header: app-version", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void Rule_for_a_topic_prefers_exact_names_then_the_first_matching_expression()
    {
        var topology = Load(Head + """
            topics:
              conflict:
                "profiles.*": { policy: lww, version-header: v1 }
                profiles-eu: { policy: lww, version-header: v2 }
                "p.*": lww
            """);

        Assert.Equal("v2", topology.ConflictRuleFor("profiles-eu")!.VersionHeader);
        Assert.Equal("v1", topology.ConflictRuleFor("profiles-us")!.VersionHeader);
        Assert.Null(topology.ConflictRuleFor("prices")!.VersionHeader);
        Assert.Null(topology.ConflictRuleFor("orders"));
        Assert.Equal(ConflictPolicy.None, topology.ConflictPolicyFor("orders"));
        Assert.Equal(ConflictPolicy.Lww, topology.ConflictPolicyFor("profiles-us"));
    }

    [Fact]
    public void Show_and_diff_name_what_orders_the_writes()
    {
        var old = Load(Head + "topics:\n  conflict:\n    orders: lww\n    profiles: lww\n    audit: none\n");
        var @new = Load(Head.Replace("version: 1", "version: 2", StringComparison.Ordinal)
                        + "topics:\n  conflict:\n    orders: lww\n    profiles: { policy: lww, version-header: app-version }\n    audit: none\n");

        var shown = TopologyReport.Show(@new);
        Assert.Matches(@"\n  profiles +lww +header app-version\n", shown);
        Assert.Matches(@"\n  orders +lww +timestamp\n", shown);
        Assert.Matches(@"\n  audit +none\n", shown);
        var json = TopologyReport.ShowJson(@new)["conflict"]!.AsArray();
        Assert.Equal("app-version", json.Single(c => (string?)c!["topic"] == "profiles")!["versionHeader"]!.GetValue<string>());
        Assert.Null(json.Single(c => (string?)c!["topic"] == "orders")!["versionHeader"]);

        var diff = TopologyDiff.Compare(old, @new);
        Assert.Equal([(ChangeKind.Changed, "profiles")], diff.Conflicts.Select(c => (c.Kind, c.Key)));
        Assert.Contains("  ~ profiles: lww by timestamp -> lww by header app-version\n", TopologyReport.Diff(diff), StringComparison.Ordinal);
        var change = TopologyReport.DiffJson(diff)["conflict"]!.AsArray().Single()!;
        Assert.Null(change["before"]!["versionHeader"]);
        Assert.Equal("app-version", change["after"]!["versionHeader"]!.GetValue<string>());
        Assert.Equal("lww", change["after"]!["policy"]!.GetValue<string>());
    }
}
