namespace Mesh.Core.Tests.Topology;

// Inside the namespace, so that "Topology" names the type rather than the namespace Mesh.Core.Topology.
using Mesh.Core.Topology;

/// <summary>The exactly-once topic option: reading it, its problems, writing it back, reports and diffs.</summary>
public sealed class ExactlyOnceTests
{
    private const string Head = "version: 1\npattern: mesh\nregions:\n  a: { kafka: { bootstrap.servers: \"a:9092\" } }\n  b: { kafka: { bootstrap.servers: \"b:9092\" } }\n";

    private static Topology Load(string text)
    {
        var load = Topology.Load(text, "t");
        Assert.True(load.IsValid, string.Join("\n", load.Problems.Select(p => p.Describe())));
        return load.Topology!;
    }

    public static TheoryData<string, string, string[], string[]> Matching => new()
    {
        // case, the exactly-once value, topics in exactly-once mode, topics not
        { "names and an expression", "[orders, \"payments\\\\..*\"]", ["orders", "payments.eu", "payments.us"], ["orders-dlq", "payments", "audit"] },
        { "one name, not a list", "orders", ["orders"], ["order", "orders2"] },
        { "every topic", "[\".*\"]", ["orders", "x"], [] },
        { "an empty list", "[]", [], ["orders"] },
        { "left empty", "", [], ["orders"] },
    };

    [Theory]
    [MemberData(nameof(Matching))]
    public void Entries_match_whole_names(string name, string value, string[] exactlyOnce, string[] not)
    {
        var topology = Load(Head + $"topics:\n  exactly-once: {value}\n");

        foreach (var topic in exactlyOnce) Assert.True(topology.Topics.IsExactlyOnce(topic), $"{name}: '{topic}' should be exactly-once");
        foreach (var topic in not) Assert.False(topology.Topics.IsExactlyOnce(topic), $"{name}: '{topic}' should not be exactly-once");
    }

    public static TheoryData<string, string, string, string, int, int> Problems => new()
    {
        // case, the topics section's entries, path, message (contained), line, column
        { "invalid expression", "  exactly-once: [orders, \"pay(\"]\n", "topics.exactly-once[1]", "invalid regular expression 'pay('", 7, 26 },
        { "a map instead of a list", "  exactly-once: { orders: true }\n", "topics.exactly-once", "expected a list of values", 7, 17 },
        { "an empty entry", "  exactly-once: [orders, ~]\n", "topics.exactly-once[1]", "empty list entry", 7, 26 },
        { "misspelt key", "  exactly_once: [orders]\n", "topics.exactly_once", "unknown setting 'exactly_once'", 7, 3 },
        { "the same name lww", "  conflict: { orders: lww }\n  exactly-once: [orders]\n", "topics.exactly-once[0]",
            "'orders' is exactly-once and 'orders' is last-writer-wins", 8, 18 },
        { "a name an lww expression matches", "  conflict: { \"inv-.*\": lww }\n  exactly-once: [audit, inv-eu]\n", "topics.exactly-once[1]",
            "'inv-eu' is exactly-once and 'inv-.*' is last-writer-wins", 8, 25 },
        { "an expression that matches an lww name", "  conflict: { profiles: { policy: lww, version-header: v } }\n  exactly-once: [\"pro.*\"]\n", "topics.exactly-once[0]",
            "the repairs that last-writer-wins writes come from another grain", 8, 18 },
    };

    [Theory]
    [MemberData(nameof(Problems))]
    public void Each_problem_is_reported_with_its_path_position_and_a_fix(string name, string entries, string path, string message, int line, int column)
    {
        var load = Topology.Load(Head + "topics:\n" + entries, "topology.yaml");

        var problem = load.Problems.FirstOrDefault(p => p.Path == path && p.Message.Contains(message, StringComparison.Ordinal));
        Assert.True(problem is not null,
            $"{name}: no problem at '{path}' saying \"{message}\"; got:\n  " + string.Join("\n  ", load.Problems.Select(p => p.Describe())));
        Assert.Equal(ProblemSeverity.Error, problem.Severity);
        Assert.False(string.IsNullOrWhiteSpace(problem.Fix), $"{name}: the problem has no fix");
        Assert.True((line, column) == (problem.Line, problem.Column), $"{name}: expected {line}:{column}, got {problem.Line}:{problem.Column} ({problem.Describe()})");
        Assert.False(load.IsValid, $"{name}: loaded as valid");
    }

    [Fact]
    public void A_none_conflict_rule_and_a_separate_lww_topic_are_fine()
    {
        var topology = Load(Head + "topics:\n  conflict: { orders: none, inventory: lww }\n  exactly-once: [orders, payments]\n");

        Assert.Empty(topology.Warnings);
        Assert.True(topology.Topics.IsExactlyOnce("orders"));
        Assert.False(topology.Topics.IsExactlyOnce("inventory"));
    }

    [Fact]
    public void A_push_link_is_warned_about_and_not_refused()
    {
        var load = Topology.Load(Head + "links:\n  - { from: a, to: b, mode: push }\ntopics:\n  exactly-once: [orders]\n", "t");

        Assert.True(load.IsValid, string.Join("\n", load.Problems.Select(p => p.Describe())));
        var warning = Assert.Single(load.Warnings, w => w.Path == "topics.exactly-once");
        Assert.Contains("link a -> b is in push mode", warning.Message, StringComparison.Ordinal);
        Assert.Contains("one Kafka transaction cannot span two clusters", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_name_listed_twice_is_a_warning()
    {
        var load = Topology.Load(Head + "topics:\n  exactly-once: [orders, orders]\n", "t");

        Assert.True(load.IsValid);
        Assert.Equal("topics.exactly-once[1]", Assert.Single(load.Warnings).Path);
    }

    [Fact]
    public void Written_yaml_reads_back_equal_and_no_entry_writes_nothing()
    {
        var document = TopologyBuilder.Document(TopologyPattern.Mesh, "a,b") with
        {
            Topics = TopicRules.Default with { ExactlyOnce = ["orders", "payments\\..*"] },
        };

        var yaml = TopologyWriter.ToYaml(document);
        var reread = TopologyParser.Parse(yaml, "written");

        Assert.Empty(reread.Problems);
        Assert.Equal(document, reread.Document);
        Assert.Contains("exactly-once: [orders, payments\\..*]", yaml, StringComparison.Ordinal);
        Assert.DoesNotContain("exactly-once", TopologyWriter.ToYaml(TopologyBuilder.Document(TopologyPattern.Mesh, "a,b")), StringComparison.Ordinal);
        Assert.NotEqual(TopologyBuilder.Document(TopologyPattern.Mesh, "a,b"), document);
    }

    [Fact]
    public void Show_and_diff_name_the_exactly_once_topics()
    {
        var old = Load(Head + "topics:\n  exactly-once: [orders]\n");
        var @new = Load(Head.Replace("version: 1", "version: 2", StringComparison.Ordinal) + "topics:\n  exactly-once: [\"payments\\\\..*\"]\n");

        Assert.Contains("\nExactly-once (records and checkpoint in one Kafka transaction; consumers set isolation.level=read_committed)\n  orders\n",
            TopologyReport.Show(old), StringComparison.Ordinal);
        Assert.DoesNotContain("Exactly-once", TopologyReport.Show(Load(Head)), StringComparison.Ordinal);
        Assert.Equal(["payments\\..*"], TopologyReport.ShowJson(@new)["exactlyOnce"]!.AsArray().Select(n => n!.GetValue<string>()));

        var diff = TopologyDiff.Compare(old, @new);
        Assert.Equal(
            [(ChangeKind.Removed, "exactly-once", "orders"), (ChangeKind.Added, "exactly-once", "payments\\..*")],
            diff.Topics.Select(c => (c.Kind, c.Key, c.Before ?? c.After)));
        Assert.False(diff.IsEmpty);
    }
}
