using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Mesh.Core.Topology;

/// <summary>Writes a document as YAML that <see cref="TopologyParser"/> reads back to an equal document.</summary>
public static class TopologyWriter
{
    public static string ToYaml(TopologyDocument document, IEnumerable<string>? headerComments = null)
    {
        var root = new YamlMappingNode();
        if (document.Name is not null) root.Add("name", Text(document.Name));
        if (document.Version is { } version) root.Add("version", Number(version));
        root.Add("naming", TopologyKeywords.Word(document.Naming));
        if (document.Separator is not null) root.Add("separator", Text(document.Separator));
        root.Add("pattern", TopologyKeywords.Word(document.Pattern));
        if (document.Primary is not null) root.Add("primary", Text(document.Primary));
        if (document.Hub is not null) root.Add("hub", Text(document.Hub));
        root.Add("regions", Regions(document.Regions));
        if (document.Links.Count > 0) root.Add("links", new YamlSequenceNode(document.Links.Select(Link)));
        root.Add("topics", Topics(document.Topics));
        if (document.Offsets is { } offsets) root.Add("offsets", Offsets(offsets));
        if (document.Backup is { } backup) root.Add("backup", Backup(backup));

        var writer = new StringWriter { NewLine = "\n" };
        foreach (var comment in headerComments ?? [])
            writer.WriteLine(string.IsNullOrEmpty(comment) ? "#" : "# " + comment);
        var body = new StringWriter { NewLine = "\n" };
        new YamlStream(new YamlDocument(root)).Save(body, assignAnchors: false);
        var yaml = body.ToString().Replace("\r\n", "\n");
        // The emitter closes the document with "...", which a single-document file does not need.
        if (yaml.EndsWith("...\n", StringComparison.Ordinal)) yaml = yaml[..^4];
        writer.Write(yaml);
        return writer.ToString();
    }

    private static YamlMappingNode Regions(IEnumerable<Region> regions)
    {
        var map = new YamlMappingNode();
        foreach (var region in regions)
        {
            var node = new YamlMappingNode();
            if (region.Kafka.Count > 0)
            {
                var kafka = new YamlMappingNode();
                foreach (var (key, value) in region.Kafka) kafka.Add(Text(key), Text(value));
                node.Add("kafka", kafka);
            }
            if (region.Gateway.Count > 0) node.Add("gateway", List(region.Gateway));
            map.Add(Text(region.Id), node);
        }
        return map;
    }

    private static YamlMappingNode Link(LinkDocument link)
    {
        var node = new YamlMappingNode { { "from", Text(link.From) }, { "to", Text(link.To) } };
        if (link.Mode is { } mode) node.Add("mode", TopologyKeywords.Word(mode));
        if (!link.Enabled) node.Add("enabled", "false");
        if (link.Topics is { } topics)
        {
            var selector = new YamlMappingNode();
            if (topics.Include is not null) selector.Add("include", List(topics.Include));
            if (topics.Exclude is not null) selector.Add("exclude", List(topics.Exclude));
            node.Add("topics", selector);
        }
        return node;
    }

    private static YamlMappingNode Topics(TopicRules topics)
    {
        var node = new YamlMappingNode
        {
            { "include", List(topics.Selection.Include) },
            { "exclude", List(topics.Selection.Exclude) },
        };
        if (topics.Conflict.Count > 0)
        {
            var conflict = new YamlMappingNode();
            foreach (var rule in topics.Conflict) conflict.Add(Text(rule.Topic), ConflictRule(rule));
            node.Add("conflict", conflict);
        }
        if (topics.ExactlyOnce.Count > 0) node.Add("exactly-once", List(topics.ExactlyOnce));
        return node;
    }

    /// <summary>The short form <c>orders: lww</c> unless the rule names a version header.</summary>
    private static YamlNode ConflictRule(ConflictRule rule)
    {
        if (rule.VersionHeader is null) return new YamlScalarNode(TopologyKeywords.Word(rule.Policy));
        return new YamlMappingNode { { "policy", TopologyKeywords.Word(rule.Policy) }, { "version-header", Text(rule.VersionHeader) } };
    }

    private static YamlMappingNode Offsets(OffsetSettings offsets)
    {
        var node = new YamlMappingNode();
        if (offsets.Checkpoints is { } checkpoints) node.Add("checkpoints", checkpoints ? "true" : "false");
        if (offsets.Sync is { } sync) node.Add("sync", sync ? "true" : "false");
        if (offsets.IntervalSeconds is { } interval) node.Add("intervalSeconds", Number(interval));
        if (offsets.Groups is { } groups) node.Add("groups", List(groups));
        if (offsets.GroupsExclude is { } excluded) node.Add("groupsExclude", List(excluded));
        return node;
    }

    private static YamlMappingNode Backup(BackupSettings backup)
    {
        var node = new YamlMappingNode { { "store", Text(backup.Store) } };
        if (backup.Topics is { } topics) node.Add("topics", List(topics));
        if (backup.Groups is { } groups) node.Add("groups", List(groups));
        if (backup.SegmentBytes is { } bytes) node.Add("segment-bytes", Number(bytes));
        if (backup.SegmentSeconds is { } seconds) node.Add("segment-seconds", Number(seconds));
        if (backup.TakeOverSeconds is { } takeOver) node.Add("take-over-seconds", Number(takeOver));
        if (backup.GroupIntervalSeconds is { } interval) node.Add("group-interval-seconds", Number(interval));
        if (backup.EncryptionKeyEnv is { } key) node.Add("encryption-key-env", Text(key));
        return node;
    }

    private static YamlSequenceNode List(IEnumerable<string> items) =>
        new(items.Select(Text)) { Style = YamlDotNet.Core.Events.SequenceStyle.Flow };

    private static YamlScalarNode Number(long value) => new(value.ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// Plain where the emitter allows it; quoted where the parser would otherwise read the text as
    /// null (an empty string, <c>null</c>, <c>~</c>).
    /// </summary>
    private static YamlScalarNode Text(string value)
    {
        var readsAsNull = value is "" or "~" or "null" or "Null" or "NULL";
        return readsAsNull ? new YamlScalarNode(value) { Style = ScalarStyle.SingleQuoted } : new YamlScalarNode(value);
    }
}
