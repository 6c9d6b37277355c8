namespace Mesh.Core.Tests.Topology;

// Inside the namespace, so that "Topology" names the type rather than the namespace Mesh.Core.Topology.
using Mesh.Core.Topology;

/// <summary>The diff between two topologies, secrets at use and in print, and what show prints.</summary>
public sealed class DiffAndReportTests
{
    private const string Old = """
        name: retail
        version: 3
        pattern: hub-spoke
        hub: hq
        regions:
          hq: { kafka: { bootstrap.servers: "hq:9092", sasl.password: "${HQ_PASSWORD}" } }
          s1: { kafka: { bootstrap.servers: "s1:9092" } }
          s2: { kafka: { bootstrap.servers: "s2:9092" } }
        topics:
          exclude: ["__.*"]
          conflict: { inventory: none }
        """;

    private const string New = """
        name: retail
        version: 4
        pattern: hub-spoke
        hub: hq
        regions:
          hq: { kafka: { bootstrap.servers: "hq:9092", sasl.password: "${HQ_PASSWORD_2}" } }
          s1: { kafka: { bootstrap.servers: "s1:9092" } }
          s2: { kafka: { bootstrap.servers: "s2:9092" } }
          s3: { kafka: { bootstrap.servers: "s3:9092" } }
        links:
          - { from: hq, to: s1, mode: push }
          - { from: s1, to: s2 }
        topics:
          exclude: ["__.*"]
          conflict: { inventory: lww, "prices.*": lww }
        """;

    private static Topology Load(string text) =>
        Topology.Load(text, "t") is { Topology: { } topology } ? topology : throw new InvalidOperationException("fixture does not load");

    [Fact]
    public void Diff_lists_links_regions_topics_conflicts_and_forwarding_changes()
    {
        var diff = TopologyDiff.Compare(Load(Old), Load(New));

        Assert.True(diff.VersionIncreases);
        Assert.Empty(diff.Problems);
        Assert.Empty(diff.Settings);
        Assert.Equal([(ChangeKind.Changed, "hq"), (ChangeKind.Added, "s3")], diff.Regions.Select(c => (c.Kind, c.Key)));
        Assert.Equal(
            [(ChangeKind.Changed, "hq -> s1"), (ChangeKind.Added, "hq -> s3"), (ChangeKind.Added, "s1 -> s2"), (ChangeKind.Added, "s3 -> hq")],
            diff.Links.Select(c => (c.Kind, c.Key)));
        Assert.Equal(LinkMode.Push, diff.Links[0].After!.Mode);
        Assert.Empty(diff.Topics);
        Assert.Equal([(ChangeKind.Changed, "inventory"), (ChangeKind.Added, "prices.*")], diff.Conflicts.Select(c => (c.Kind, c.Key)));

        // s1 now reaches s2 directly, so the hub stops carrying s1's records to s2.
        var hubToS2 = diff.Forwarding.Single(c => c.Key == "hq -> s2");
        Assert.Equal(["hq", "s1"], hubToS2.Before!.Origins);
        Assert.Equal(["hq", "s3"], hubToS2.After!.Origins);
        var s1ToS2 = diff.Forwarding.Single(c => c.Key == "s1 -> s2");
        Assert.Equal(ChangeKind.Added, s1ToS2.Kind);
        Assert.Equal(["s1"], s1ToS2.After!.Origins);
    }

    [Fact]
    public void Changing_the_default_topic_selection_changes_every_link_that_uses_it()
    {
        var changed = Old.Replace("version: 3", "version: 4", StringComparison.Ordinal)
            .Replace("exclude: [\"__.*\"]", "exclude: [\"__.*\", \"tmp-.*\"]", StringComparison.Ordinal);

        var diff = TopologyDiff.Compare(Load(Old), Load(changed));

        Assert.Equal([(ChangeKind.Added, "exclude", (string?)null, (string?)"tmp-.*")], diff.Topics.Select(c => (c.Kind, c.Key, c.Before, c.After)));
        Assert.Equal(4, diff.Links.Count);
        Assert.All(diff.Links, c => Assert.Equal(ChangeKind.Changed, c.Kind));
        Assert.Empty(diff.Forwarding);
    }

    [Fact]
    public void Diff_requires_the_version_to_increase()
    {
        var diff = TopologyDiff.Compare(Load(New), Load(Old));

        Assert.False(diff.VersionIncreases);
        var problem = Assert.Single(diff.Problems);
        Assert.Equal("version", problem.Path);
        Assert.Equal("version must increase: the new topology has 3, the one it replaces 4", problem.Message);
        Assert.Equal("set 'version: 5' or higher in the new file", problem.Fix);
    }

    [Fact]
    public void Same_topology_has_an_empty_diff_but_not_a_new_version()
    {
        var diff = TopologyDiff.Compare(Load(Old), Load(Old));

        Assert.True(diff.IsEmpty);
        Assert.False(diff.VersionIncreases);
    }

    [Fact]
    public void Diff_text_shows_references_never_values()
    {
        var text = TopologyReport.Diff(TopologyDiff.Compare(Load(Old), Load(New)));

        Assert.Contains("version 3 -> 4", text, StringComparison.Ordinal);
        Assert.Contains("~ hq: kafka sasl.password ${HQ_PASSWORD} -> ${HQ_PASSWORD_2}", text, StringComparison.Ordinal);
        Assert.Contains("+ s1 -> s2", text, StringComparison.Ordinal);
        Assert.Contains("~ hq -> s1: mode pull -> push", text, StringComparison.Ordinal);
        // Forwarding: the link is the key, the origins it carries are lists, so the line has one arrow.
        Assert.Contains("  ~ hq -> s2: was [hq, s1], now [hq, s3]\n", text, StringComparison.Ordinal);
        Assert.Contains("  + s1 -> s2: [s1]\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Kafka_settings_resolve_references_at_use()
    {
        var topology = Load(Old.Replace("${HQ_PASSWORD}", "pre-${HQ_PASSWORD}-${SUFFIX}", StringComparison.Ordinal));
        var environment = new Dictionary<string, string> { ["HQ_PASSWORD"] = "s3cr3t", ["SUFFIX"] = "x" };

        var settings = topology.ResolveKafkaSettings("hq", environment.GetValueOrDefault);

        Assert.Equal("pre-s3cr3t-x", settings["sasl.password"]);
        Assert.Equal("hq:9092", settings["bootstrap.servers"]);
    }

    [Fact]
    public void Missing_variable_is_named_in_the_error()
    {
        var topology = Load(Old);

        var error = Assert.Throws<UnresolvedSecretException>(() => topology.ResolveKafkaSettings("hq", _ => null));

        Assert.Equal("HQ_PASSWORD", error.Variable);
        Assert.Equal("sasl.password", error.Setting);
        Assert.Equal("Kafka setting 'sasl.password' of region 'hq' refers to environment variable 'HQ_PASSWORD', which is not set", error.Message);
    }

    [Theory]
    [InlineData("sasl.password", "${PASS}", "${PASS}")]
    [InlineData("sasl.password", "hunter2", "***")]
    [InlineData("sasl.password", "x${PASS}", "***")]
    [InlineData("ssl.key.pem", "-----BEGIN", "***")]
    [InlineData("sasl.oauthbearer.client.secret", "abc", "***")]
    [InlineData("sasl.oauthbearer.token.endpoint.url", "https://idp", "***")]
    [InlineData("bootstrap.servers", "k:9092", "k:9092")]
    [InlineData("sasl.username", "${USER}", "${USER}")]
    public void Displayed_values_hide_literal_secrets(string key, string value, string shown)
    {
        Assert.Equal(shown, new KafkaSettings((key, value)).DisplayValue(key));
    }

    [Fact]
    public void Show_never_prints_a_resolved_or_literal_secret()
    {
        var text = Old.Replace("s1: { kafka: { bootstrap.servers: \"s1:9092\" } }", "s1: { kafka: { bootstrap.servers: \"s1:9092\", ssl.key.password: \"LiteralKeyPass\" } }", StringComparison.Ordinal);
        var topology = Load(text);
        Environment.SetEnvironmentVariable("HQ_PASSWORD", "EnvironmentSecret");
        try
        {
            var shown = TopologyReport.Show(topology) + TopologyReport.ShowJson(topology).ToJsonString();

            Assert.DoesNotContain("EnvironmentSecret", shown, StringComparison.Ordinal);
            Assert.DoesNotContain("LiteralKeyPass", shown, StringComparison.Ordinal);
            Assert.Contains("${HQ_PASSWORD}", shown, StringComparison.Ordinal);
            Assert.Contains("ssl.key.password=***", shown, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("HQ_PASSWORD", null);
        }
    }

    [Fact]
    public void Show_prints_regions_links_routes_forwarding_and_prefix_names()
    {
        var topology = Load(Old.Replace("pattern: hub-spoke", "naming: prefix\npattern: hub-spoke", StringComparison.Ordinal));

        var text = TopologyReport.Show(topology);
        var json = TopologyReport.ShowJson(topology);

        Assert.Contains("Topology 'retail' version 3", text, StringComparison.Ordinal);
        Assert.Contains("  pattern  hub-spoke, hub hq", text, StringComparison.Ordinal);
        Assert.Matches(@"\n  s1 +s2 +s1 -> hq -> s2\n", text);
        Assert.Matches(@"\n  hq -> s1 +hq, s2\n", text);
        Assert.Matches(@"\n  s1 +s2 +hq\.s1\.<topic>\n", text);
        Assert.Equal("hq.s1.<topic>", json["routes"]!.AsArray().Single(r => (string?)r!["origin"] == "s1" && (string?)r["destination"] == "s2")!["remoteTopicName"]!.GetValue<string>());
        Assert.Equal(["hq", "s2"], json["links"]!.AsArray().Single(l => (string?)l!["to"] == "s1")!["origins"]!.AsArray().Select(o => o!.GetValue<string>()));
    }
}
