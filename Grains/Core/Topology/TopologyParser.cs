using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Mesh.Core.Topology;

/// <param name="Document">Null only when the file is not readable YAML or JSON at all.</param>
/// <param name="Problems">What the file's shape gets wrong: syntax, unknown settings, values of the wrong kind.</param>
public sealed record TopologyParseResult(TopologyDocument? Document, IReadOnlyList<TopologyProblem> Problems)
{
    public bool HasErrors => Problems.Any(p => p.IsError);
}

/// <summary>
/// Reads a topology file, YAML or JSON (JSON is YAML's flow style). It checks the shape: the
/// settings it knows, the kind of each value, the words of enumerated values. What a well-shaped
/// document means is <see cref="TopologyValidator"/>'s concern.
/// </summary>
public static class TopologyParser
{
    private static readonly string[] TopLevelKeys = ["name", "version", "naming", "separator", "pattern", "primary", "hub", "regions", "links", "topics", "offsets", "backup"];
    private static readonly string[] RegionKeys = ["kafka", "gateway"];
    private static readonly string[] LinkKeys = ["from", "to", "mode", "enabled", "topics"];
    private static readonly string[] SelectorKeys = ["include", "exclude"];
    private static readonly string[] TopicsKeys = ["include", "exclude", "conflict", "exactly-once"];
    private static readonly string[] ConflictRuleKeys = ["policy", "version-header"];
    private static readonly string[] BackupKeys =
        ["store", "topics", "groups", "segment-bytes", "segment-seconds", "take-over-seconds", "group-interval-seconds", "encryption-key-env"];
    private static readonly string[] OffsetsKeys = ["checkpoints", "sync", "intervalSeconds", "groups", "groupsExclude"];

    public static TopologyParseResult Parse(string text, string sourceName)
    {
        var stream = new YamlStream();
        var parser = new TrackingParser(new Parser(new StringReader(text)));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            return new(null, [Malformed(e.Message, (int)e.Start.Line, (int)e.Start.Column)]);
        }
        catch (InvalidOperationException)
        {
            // Some malformed input trips the scanner itself; the last event read is the best position there is.
            return new(null, [Malformed("cannot be read past this point; look for an unclosed '{', '[' or quote", parser.LastLine, parser.LastColumn)]);
        }

        if (stream.Documents.Count == 0)
            return new(null, [new TopologyProblem("", "the file is empty", "write a topology: version, regions, and a pattern or links", ProblemSeverity.Error, 1, 1)]);
        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            return new(null, [new TopologyProblem("", $"the file holds {stream.Documents.Count} YAML documents", "keep one topology per file", ProblemSeverity.Error, (int)second.Line, (int)second.Column)]);
        }

        var reader = new DocumentReader(sourceName);
        var document = reader.Read(stream.Documents[0].RootNode);
        return new(document, reader.Problems);
    }

    private static TopologyProblem Malformed(string message, int line, int column) =>
        new("", $"malformed file: {message}", $"correct the syntax at line {line}, column {column}", ProblemSeverity.Error, line, column);

    /// <summary>Remembers where the last event started, for errors that carry no position.</summary>
    private sealed class TrackingParser(IParser inner) : IParser
    {
        public int LastLine { get; private set; } = 1;
        public int LastColumn { get; private set; } = 1;

        public YamlDotNet.Core.Events.ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            var moved = inner.MoveNext();
            if (moved && inner.Current is { } current)
            {
                LastLine = (int)current.Start.Line;
                LastColumn = (int)current.Start.Column;
            }
            return moved;
        }
    }

    private sealed class DocumentReader(string sourceName)
    {
        private readonly Dictionary<string, SourcePosition> _positions = new(StringComparer.Ordinal);

        public List<TopologyProblem> Problems { get; } = [];

        public TopologyDocument? Read(YamlNode root)
        {
            Locate("", root);
            if (root is not YamlMappingNode map)
            {
                Problem("", root, "the top level must be a map of settings", "start the file with 'version:', 'regions:' and 'pattern:' or 'links:'");
                return null;
            }

            var document = new TopologyDocument();
            foreach (var (path, keyNode, value) in Entries(map, "", TopLevelKeys))
            {
                switch (((YamlScalarNode)keyNode).Value)
                {
                    case "name": document = document with { Name = Scalar(value, path) }; break;
                    case "version": document = document with { Version = Version(value, path) }; break;
                    case "naming":
                        if (Word<NamingPolicy>(value, path, "naming policy", TopologyKeywords.NamingWords, TopologyKeywords.TryParse) is { } naming)
                            document = document with { Naming = naming };
                        break;
                    case "separator": document = document with { Separator = Scalar(value, path) }; break;
                    case "pattern":
                        if (Word<TopologyPattern>(value, path, "pattern", TopologyKeywords.PatternWords, TopologyKeywords.TryParse) is { } pattern)
                            document = document with { Pattern = pattern };
                        break;
                    case "primary": document = document with { Primary = Scalar(value, path) }; break;
                    case "hub": document = document with { Hub = Scalar(value, path) }; break;
                    case "regions": document = document with { Regions = Regions(value, path) }; break;
                    case "links": document = document with { Links = Links(value, path) }; break;
                    case "topics": document = document with { Topics = Topics(value, path) }; break;
                    case "offsets": document = document with { Offsets = Offsets(value, path) }; break;
                    case "backup": document = document with { Backup = Backup(value, path) }; break;
                }
            }
            return document with { Source = new SourceMap(_positions, sourceName) };
        }

        private ValueList<Region> Regions(YamlNode node, string path)
        {
            if (IsNull(node)) return [];
            var regions = new List<Region>();
            if (node is YamlSequenceNode list)
            {
                // Shorthand for regions that need no settings: regions: [us-east, eu-west].
                var index = 0;
                foreach (var item in list)
                {
                    var itemPath = TopologyPath.Index(path, index++);
                    Locate(itemPath, item);
                    if (Scalar(item, itemPath) is { } id) regions.Add(new Region(id));
                }
                return regions.ToValueList();
            }
            if (node is not YamlMappingNode map)
            {
                Problem(path, node, "expected a map of region id to its settings", "write 'regions:' followed by one 'region-id:' entry per region");
                return [];
            }
            foreach (var (key, value) in map)
            {
                if (key is not YamlScalarNode { Value: { } id })
                {
                    Problem(path, key, "a region id must be a single value", "use a plain id such as 'us-east'");
                    continue;
                }
                var regionPath = TopologyPath.Key(path, id);
                Locate(regionPath, key);
                var kafka = KafkaSettings.Empty;
                ValueList<string> gateway = [];
                if (!IsNull(value))
                {
                    foreach (var (settingPath, settingKey, settingValue) in Entries(value, regionPath, RegionKeys))
                    {
                        if (((YamlScalarNode)settingKey).Value == "kafka") kafka = Kafka(settingValue, settingPath);
                        else gateway = StringList(settingValue, settingPath) ?? [];
                    }
                }
                regions.Add(new Region(id, kafka, gateway));
            }
            return regions.ToValueList();
        }

        private KafkaSettings Kafka(YamlNode node, string path)
        {
            if (IsNull(node)) return KafkaSettings.Empty;
            if (node is not YamlMappingNode map)
            {
                Problem(path, node, "expected a map of librdkafka settings", "write one 'setting.name: value' per line, e.g. 'bootstrap.servers: kafka-1:9092'");
                return KafkaSettings.Empty;
            }
            var entries = new List<KeyValuePair<string, string>>();
            foreach (var (key, value) in map)
            {
                if (key is not YamlScalarNode { Value: { } name })
                {
                    Problem(path, key, "a Kafka setting name must be a single value", "use a librdkafka setting name such as 'bootstrap.servers'");
                    continue;
                }
                var settingPath = TopologyPath.Key(path, name);
                Locate(settingPath, key);
                if (IsNull(value))
                    Problem(settingPath, value, $"Kafka setting '{name}' has no value", "give it a value, or remove the line");
                else if (Scalar(value, settingPath) is { } text)
                    entries.Add(KeyValuePair.Create(name, text));
            }
            return new KafkaSettings(entries);
        }

        private ValueList<LinkDocument> Links(YamlNode node, string path)
        {
            if (IsNull(node)) return [];
            if (node is not YamlSequenceNode list)
            {
                Problem(path, node, "expected a list of links", "write each link as '- from: a' with 'to: b' beneath it");
                return [];
            }
            var links = new List<LinkDocument>();
            var index = 0;
            foreach (var item in list)
            {
                var linkPath = TopologyPath.Index(path, index++);
                Locate(linkPath, item);
                if (item is not YamlMappingNode)
                {
                    Problem(linkPath, item, "expected a link with 'from' and 'to'", "write the link as a map: '{ from: a, to: b }'");
                    // Keeps later links at their file index; the problem above covers this entry.
                    links.Add(new LinkDocument("", "") { Enabled = false });
                    continue;
                }
                string? from = null, to = null;
                LinkMode? mode = null;
                var enabled = true;
                TopicOverride? topics = null;
                foreach (var (fieldPath, key, value) in Entries(item, linkPath, LinkKeys))
                {
                    switch (((YamlScalarNode)key).Value)
                    {
                        case "from": from = Scalar(value, fieldPath); break;
                        case "to": to = Scalar(value, fieldPath); break;
                        case "mode": mode = Word<LinkMode>(value, fieldPath, "link mode", TopologyKeywords.ModeWords, TopologyKeywords.TryParse); break;
                        case "enabled": enabled = Bool(value, fieldPath) ?? true; break;
                        case "topics": topics = Selector(value, fieldPath); break;
                    }
                }
                links.Add(new LinkDocument(from ?? "", to ?? "") { Mode = mode, Enabled = enabled, Topics = topics });
            }
            return links.ToValueList();
        }

        private TopicOverride? Selector(YamlNode node, string path)
        {
            if (IsNull(node)) return null;
            ValueList<string>? include = null, exclude = null;
            foreach (var (fieldPath, key, value) in Entries(node, path, SelectorKeys))
            {
                if (((YamlScalarNode)key).Value == "include") include = StringList(value, fieldPath);
                else exclude = StringList(value, fieldPath);
            }
            return new TopicOverride(include, exclude);
        }

        private TopicRules Topics(YamlNode node, string path)
        {
            if (IsNull(node)) return TopicRules.Default;
            var selection = TopicSelector.All;
            ValueList<ConflictRule> conflict = [];
            ValueList<string> exactlyOnce = [];
            foreach (var (fieldPath, key, value) in Entries(node, path, TopicsKeys))
            {
                switch (((YamlScalarNode)key).Value)
                {
                    case "include": selection = selection with { Include = StringList(value, fieldPath) ?? selection.Include }; break;
                    case "exclude": selection = selection with { Exclude = StringList(value, fieldPath) ?? [] }; break;
                    case "conflict": conflict = Conflict(value, fieldPath); break;
                    case "exactly-once": exactlyOnce = StringList(value, fieldPath) ?? []; break;
                }
            }
            return new TopicRules(selection, conflict) { ExactlyOnce = exactlyOnce };
        }

        private ValueList<ConflictRule> Conflict(YamlNode node, string path)
        {
            if (IsNull(node)) return [];
            if (node is not YamlMappingNode map)
            {
                Problem(path, node, "expected a map of topic name or expression to conflict policy", "write e.g. 'orders: lww'");
                return [];
            }
            var rules = new List<ConflictRule>();
            foreach (var (key, value) in map)
            {
                if (key is not YamlScalarNode { Value: { } topic })
                {
                    Problem(path, key, "a topic name or expression must be a single value", "write e.g. 'orders: lww' or '\"audit-.*\": none'");
                    continue;
                }
                var rulePath = TopologyPath.Key(path, topic);
                Locate(rulePath, key);
                if (value is YamlMappingNode)
                {
                    if (ConflictRule(topic, key, value, rulePath) is { } rule) rules.Add(rule);
                }
                else if (Word<ConflictPolicy>(value, rulePath, "conflict policy", TopologyKeywords.PolicyWords, TopologyKeywords.TryParse) is { } policy)
                {
                    rules.Add(new ConflictRule(topic, policy));
                }
            }
            return rules.ToValueList();
        }

        /// <summary>The long form of a rule: <c>orders: { policy: lww, version-header: app-version }</c>.</summary>
        private ConflictRule? ConflictRule(string topic, YamlNode key, YamlNode node, string path)
        {
            ConflictPolicy? policy = null;
            string? versionHeader = null;
            var unreadable = false;
            var policyGiven = false;
            foreach (var (fieldPath, field, value) in Entries(node, path, ConflictRuleKeys))
            {
                if (((YamlScalarNode)field).Value == "policy")
                {
                    policyGiven = true;
                    policy = Word<ConflictPolicy>(value, fieldPath, "conflict policy", TopologyKeywords.PolicyWords, TopologyKeywords.TryParse);
                    unreadable |= policy is null;
                }
                else if (IsNull(value))
                {
                    Problem(fieldPath, value, "version-header has no value",
                        "name the record header that carries the application's version, e.g. 'version-header: app-version', or remove the line to order writes by timestamp");
                    unreadable = true;
                }
                else
                {
                    versionHeader = Scalar(value, fieldPath);
                    unreadable |= versionHeader is null;
                }
            }
            if (!policyGiven)
            {
                Problem(path, key, $"the conflict rule for '{topic}' has no policy",
                    $"add 'policy:' with one of: {string.Join(", ", TopologyKeywords.PolicyWords)}");
                return null;
            }
            return unreadable || policy is not { } known ? null : new ConflictRule(topic, known) { VersionHeader = versionHeader };
        }

        private OffsetSettings? Offsets(YamlNode node, string path)
        {
            if (IsNull(node)) return null;
            var offsets = new OffsetSettings();
            foreach (var (fieldPath, key, value) in Entries(node, path, OffsetsKeys))
            {
                switch (((YamlScalarNode)key).Value)
                {
                    case "checkpoints": offsets = offsets with { Checkpoints = Bool(value, fieldPath) }; break;
                    case "sync": offsets = offsets with { Sync = Bool(value, fieldPath) }; break;
                    case "intervalSeconds": offsets = offsets with { IntervalSeconds = Integer(value, fieldPath, "intervalSeconds") }; break;
                    case "groups": offsets = offsets with { Groups = StringList(value, fieldPath) }; break;
                    case "groupsExclude": offsets = offsets with { GroupsExclude = StringList(value, fieldPath) }; break;
                }
            }
            return offsets;
        }

        private BackupSettings? Backup(YamlNode node, string path)
        {
            if (IsNull(node)) return null;
            // A missing store is the validator's to report, with the other problems of the section.
            var backup = new BackupSettings("");
            foreach (var (fieldPath, key, value) in Entries(node, path, BackupKeys))
            {
                switch (((YamlScalarNode)key).Value)
                {
                    case "store": backup = backup with { Store = Scalar(value, fieldPath) ?? "" }; break;
                    case "topics": backup = backup with { Topics = StringList(value, fieldPath) }; break;
                    case "groups": backup = backup with { Groups = StringList(value, fieldPath) }; break;
                    case "segment-bytes": backup = backup with { SegmentBytes = Integer(value, fieldPath, "segment-bytes") }; break;
                    case "segment-seconds": backup = backup with { SegmentSeconds = Integer(value, fieldPath, "segment-seconds") }; break;
                    case "take-over-seconds": backup = backup with { TakeOverSeconds = Integer(value, fieldPath, "take-over-seconds") }; break;
                    case "group-interval-seconds": backup = backup with { GroupIntervalSeconds = Integer(value, fieldPath, "group-interval-seconds") }; break;
                    case "encryption-key-env": backup = backup with { EncryptionKeyEnv = Scalar(value, fieldPath) }; break;
                }
            }
            return backup;
        }

        /// <summary>The entries of a map whose keys are among <paramref name="allowed"/>; anything else is reported.</summary>
        private IEnumerable<(string Path, YamlNode Key, YamlNode Value)> Entries(YamlNode node, string path, string[] allowed)
        {
            if (node is not YamlMappingNode map)
            {
                Problem(path, node, $"expected a map with {string.Join(", ", allowed.Select(a => $"'{a}'"))}", $"write it as '{allowed[0]}: ...' beneath '{Last(path)}:'");
                yield break;
            }
            foreach (var (key, value) in map)
            {
                if (key is not YamlScalarNode { Value: { } name })
                {
                    Problem(path, key, "a setting name must be a single value", $"use one of: {string.Join(", ", allowed)}");
                    continue;
                }
                var childPath = TopologyPath.Key(path, name);
                if (!allowed.Contains(name, StringComparer.Ordinal))
                {
                    var closest = TopologyKeywords.Closest(name, allowed);
                    Problem(childPath, key, $"unknown setting '{name}'",
                        (closest is null ? "" : $"did you mean '{closest}'? ") + $"the settings here are: {string.Join(", ", allowed)}");
                    continue;
                }
                Locate(childPath, key);
                yield return (childPath, key, value);
            }
        }

        private static string Last(string path)
        {
            var parent = TopologyPath.Parent(path);
            return parent.Length == 0 ? path : path[parent.Length..].TrimStart('.');
        }

        private ValueList<string>? StringList(YamlNode node, string path)
        {
            if (IsNull(node)) return null;
            if (node is YamlScalarNode) return Scalar(node, path) is { } single ? [single] : null;
            if (node is not YamlSequenceNode list)
            {
                Problem(path, node, "expected a list of values", "write '[a, b]' or one '- value' per line");
                return null;
            }
            var items = new List<string>();
            var index = 0;
            foreach (var item in list)
            {
                var itemPath = TopologyPath.Index(path, index++);
                Locate(itemPath, item);
                if (IsNull(item)) Problem(itemPath, item, "empty list entry", "remove it, or quote it if an empty string is meant");
                else if (Scalar(item, itemPath) is { } text) items.Add(text);
            }
            return items.ToValueList();
        }

        private string? Scalar(YamlNode node, string path)
        {
            if (IsNull(node)) return null;
            if (node is YamlScalarNode scalar) return scalar.Value ?? "";
            Problem(path, node, $"expected a single value, found a {(node is YamlSequenceNode ? "list" : "map")}", "write one value here");
            return null;
        }

        private long? Version(YamlNode node, string path)
        {
            var text = Scalar(node, path);
            if (text is null) return null;
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var version)) return version;
            Problem(path, node, $"version must be a positive integer, found '{text}'", "write a whole number such as 'version: 1', and increase it with every change");
            return null;
        }

        private long? Integer(YamlNode node, string path, string what)
        {
            var text = Scalar(node, path);
            if (text is null) return null;
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)) return value;
            Problem(path, node, $"{what} must be an integer, found '{text}'", "write a whole number");
            return null;
        }

        private bool? Bool(YamlNode node, string path)
        {
            var text = Scalar(node, path);
            if (text is null) return null;
            if (bool.TryParse(text, out var value)) return value;
            Problem(path, node, $"expected true or false, found '{text}'", "write true or false");
            return null;
        }

        private delegate bool TryParseWord<T>(string word, out T value);

        private T? Word<T>(YamlNode node, string path, string what, IReadOnlyList<string> words, TryParseWord<T> tryParse) where T : struct
        {
            var text = Scalar(node, path);
            if (text is null) return null;
            if (tryParse(text, out var value)) return value;
            var closest = TopologyKeywords.Closest(text, words);
            Problem(path, node, $"unknown {what} '{text}'",
                $"use one of: {string.Join(", ", words)}" + (closest is null ? "" : $" (did you mean '{closest}'?)"));
            return null;
        }

        private static bool IsNull(YamlNode node) =>
            node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

        private void Locate(string path, YamlNode node) =>
            _positions.TryAdd(path, new SourcePosition((int)node.Start.Line, (int)node.Start.Column));

        private void Problem(string path, YamlNode node, string message, string fix) =>
            Problems.Add(new TopologyProblem(path, message, fix, ProblemSeverity.Error, (int)node.Start.Line, (int)node.Start.Column));
    }
}
