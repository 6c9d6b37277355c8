namespace Mesh.Core.Tests.Topology;

// Inside the namespace, so that "Topology" names the type rather than the namespace Mesh.Core.Topology.
using Mesh.Core.Topology;

/// <summary>The topology's <c>backup:</c> section: read, checked, written back, and what it selects.</summary>
public sealed class BackupSectionTests
{
    private const string Head = "version: 1\npattern: active-active\nregions: [a, b]\n";

    private static TopologyDocument Parse(string yaml)
    {
        var result = TopologyParser.Parse(yaml, "test.yaml");
        Assert.False(result.HasErrors, string.Join("; ", result.Problems));
        return result.Document!;
    }

    [Fact]
    public void Every_setting_is_read()
    {
        var document = Parse(Head + """
            backup:
              store: /var/backups/mesh
              topics: [orders, "audit-.*"]
              groups: [billing]
              segment-bytes: 1048576
              segment-seconds: 5
              take-over-seconds: 20
              group-interval-seconds: 3
              encryption-key-env: MESH_BACKUP_KEY
            """);

        var backup = document.Backup!;
        Assert.Equal("/var/backups/mesh", backup.Store);
        Assert.Equal(["orders", "audit-.*"], backup.Topics!);
        Assert.Equal(["billing"], backup.Groups!);
        Assert.Equal(1048576, backup.EffectiveSegmentBytes);
        Assert.Equal(5, backup.EffectiveSegmentSeconds);
        Assert.Equal(20, backup.EffectiveTakeOverSeconds);
        Assert.Equal(3, backup.EffectiveGroupIntervalSeconds);
        Assert.Equal("MESH_BACKUP_KEY", backup.EncryptionKeyEnv);
        Assert.Empty(TopologyValidator.Validate(document).Where(p => p.IsError));
    }

    [Fact]
    public void Left_out_settings_take_the_defaults()
    {
        var backup = Parse(Head + "backup: { store: azure://mesh-backup }\n").Backup!;
        Assert.Null(backup.Topics);
        Assert.Null(backup.Groups);
        Assert.Equal(4 * 1024 * 1024, backup.EffectiveSegmentBytes);
        Assert.Equal(10, backup.EffectiveSegmentSeconds);
        Assert.Equal(30, backup.EffectiveTakeOverSeconds);
        Assert.Equal(10, backup.EffectiveGroupIntervalSeconds);
        Assert.Null(backup.EncryptionKeyEnv);
    }

    [Fact]
    public void A_file_without_the_section_has_no_backup() => Assert.Null(Parse(Head).Backup);

    [Theory]
    [InlineData("backup: { store: /b }\n")]
    [InlineData("backup:\n  store: /b\n  topics: [orders]\n  segment-seconds: 2\n  take-over-seconds: 4\n")]
    [InlineData("backup:\n  store: azure://c\n  topics: [\".*\"]\n  groups: [\"g-.*\", h]\n  segment-bytes: 10\n  group-interval-seconds: 1\n  encryption-key-env: K\n")]
    public void The_writer_writes_back_what_the_parser_reads(string section)
    {
        var document = Parse(Head + section);
        var written = TopologyWriter.ToYaml(document);
        var again = Parse(written);
        Assert.Equal(document.Backup, again.Backup);
        Assert.Equal(written, TopologyWriter.ToYaml(again));
    }

    public static TheoryData<string, string, string> Problems => new()
    {
        // section, path, message (contained)
        { "backup: { topics: [orders] }\n", "backup.store", "the backup has no store" },
        { "backup: { store: 'azure://' }\n", "backup.store", "names no container" },
        { "backup: { store: /b, topics: [] }\n", "backup.topics", "lists no topics" },
        { "backup: { store: /b, topics: [\"orders(\"] }\n", "backup.topics[0]", "invalid regular expression 'orders('" },
        { "backup: { store: /b, groups: [\"[g\"] }\n", "backup.groups[0]", "invalid regular expression '[g'" },
        { "backup: { store: /b, segment-bytes: 0 }\n", "backup.segment-bytes", "segment-bytes must be positive, found 0" },
        { "backup: { store: /b, segment-seconds: -1 }\n", "backup.segment-seconds", "segment-seconds must be positive, found -1" },
        { "backup: { store: /b, take-over-seconds: 0 }\n", "backup.take-over-seconds", "take-over-seconds must be positive" },
        { "backup: { store: /b, group-interval-seconds: 0 }\n", "backup.group-interval-seconds", "group-interval-seconds must be positive" },
        { "backup: { store: /b, encryption-key-env: 'abc=' }\n", "backup.encryption-key-env", "'abc=' is not an environment variable name" },
    };

    [Theory]
    [MemberData(nameof(Problems))]
    public void Bad_settings_are_reported_with_their_path(string section, string path, string message)
    {
        var problems = TopologyValidator.Validate(Parse(Head + section));
        Assert.Contains(problems, p => p.IsError && p.Path == path && p.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void A_take_over_sooner_than_a_segment_closes_is_warned_about()
    {
        var problems = TopologyValidator.Validate(Parse(Head + "backup: { store: /b, segment-seconds: 12, take-over-seconds: 3 }\n"));
        var warning = Assert.Single(problems, p => p.Path == "backup.take-over-seconds");
        Assert.False(warning.IsError);
        Assert.Contains("is not above segment-seconds (12)", warning.Message);
        Assert.DoesNotContain(TopologyValidator.Validate(Parse(Head + "backup: { store: /b }\n")), p => p.Path.StartsWith("backup", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("backup: { store: /b, segment-size: 3 }\n", "backup.segment-size", "unknown setting 'segment-size'")]
    [InlineData("backup: { store: /b, segment-seconds: soon }\n", "backup.segment-seconds", "segment-seconds must be an integer, found 'soon'")]
    [InlineData("backup: [a]\n", "backup", "expected a map")]
    public void Misshapen_settings_are_parse_errors(string section, string path, string message)
    {
        var result = TopologyParser.Parse(Head + section, "test.yaml");
        Assert.Contains(result.Problems, p => p.IsError && p.Path == path && p.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_setting_suggests_the_closest()
    {
        var result = TopologyParser.Parse(Head + "backup: { store: /b, take-over-second: 3 }\n", "test.yaml");
        Assert.Contains(result.Problems, p => p.Fix.Contains("did you mean 'take-over-seconds'?", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_a_list_every_replicated_topic_is_covered_but_never_the_mesh_own()
    {
        var backup = new BackupSettings("/b");
        var replicated = new TopicSelector([".*"], ["skip-.*"]);
        Assert.True(backup.Covers("orders", replicated));
        Assert.False(backup.Covers("skip-me", replicated));
        Assert.False(backup.Covers("__mesh_checkpoints", replicated));
    }

    [Fact]
    public void A_list_selects_by_name_or_whole_name_expression()
    {
        var backup = new BackupSettings("/b") { Topics = ["orders", "audit-.*"] };
        var replicated = TopicSelector.All;
        Assert.True(backup.Covers("orders", replicated));
        Assert.True(backup.Covers("audit-eu", replicated));
        Assert.False(backup.Covers("orders-v2", replicated));
        Assert.False(backup.Covers("my-audit-eu", replicated));
    }

    [Fact]
    public void Groups_are_kept_only_when_named()
    {
        Assert.False(new BackupSettings("/b").KeepsGroup("billing"));
        var backup = new BackupSettings("/b") { Groups = ["billing", "report-.*"] };
        Assert.True(backup.KeepsGroup("billing"));
        Assert.True(backup.KeepsGroup("report-daily"));
        Assert.False(backup.KeepsGroup("other"));
    }
}
