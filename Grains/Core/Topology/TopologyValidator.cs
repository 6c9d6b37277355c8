using System.Globalization;
using Mesh.Core.Replication;

namespace Mesh.Core.Topology;

/// <summary>
/// Everything wrong with a document, all at once, each problem with its path, a fix, and the line
/// and column it was read from when the document came from a file.
/// </summary>
public static class TopologyValidator
{
    public static IReadOnlyList<TopologyProblem> Validate(TopologyDocument document)
    {
        var check = new Checks(document);
        check.Version();
        check.Separator();
        check.Regions();
        check.Pattern();
        check.ExplicitLinks();
        check.Topics();
        check.Offsets();
        check.Backup();
        check.Connectivity();
        return check.Problems.Select(document.Source.Locate).ToArray();
    }

    private sealed class Checks(TopologyDocument document)
    {
        private readonly HashSet<string> _regionIds = document.Regions.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);

        public List<TopologyProblem> Problems { get; } = [];

        private string RegionList => _regionIds.Count == 0 ? "(none defined)" : string.Join(", ", _regionIds.Order(StringComparer.Ordinal));

        public void Version()
        {
            if (document.Version is null)
                Error("version", "version is missing", "add 'version: 1' at the top level, and increase it with every change");
            else if (document.Version <= 0)
                Error("version", $"version must be a positive integer, found {document.Version.Value.ToString(CultureInfo.InvariantCulture)}",
                    "use 1 or higher, and greater than the version applied now");
        }

        public void Separator()
        {
            if (document.Separator is not { } separator) return;
            if (document.Naming != NamingPolicy.Prefix)
                Warning("separator", "separator has no effect under identity naming", "remove it, or use 'naming: prefix'");
            if (separator.Length == 0 || !TopicNames.IsValid(separator, out _))
                Error("separator", $"separator '{separator}' is not part of a topic name (letters, digits, '.', '_' and '-')",
                    "use MM2's replication.policy.separator, e.g. '.' or '_'");
        }

        public void Regions()
        {
            if (document.Regions.Count == 0)
            {
                Error("regions", "no regions are defined", "list each region under 'regions:' with its kafka settings");
                return;
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var region in document.Regions)
            {
                var path = TopologyPath.Key("regions", region.Id);
                if (!seen.Add(region.Id))
                    Error(path, $"region '{region.Id}' is defined twice", "merge the two entries into one");
                if (!RegionIds.IsValid(region.Id, out var reason))
                    Error(path, reason, "rename the region, and every reference to it");
                else if (document.Naming == NamingPolicy.Prefix && region.Id.Contains(document.Separator ?? TopicNaming.DefaultSeparator, StringComparison.Ordinal))
                    Error(path, $"region id '{region.Id}' contains '{document.Separator ?? TopicNaming.DefaultSeparator}', which prefix naming uses to separate the region from the topic",
                        $"rename the region without '{document.Separator ?? TopicNaming.DefaultSeparator}', or use 'naming: identity'");

                var kafkaPath = TopologyPath.Key(path, "kafka");
                if (!region.Kafka.ContainsKey("bootstrap.servers"))
                    Warning(kafkaPath, $"region '{region.Id}' has no 'bootstrap.servers'",
                        "add 'bootstrap.servers: host:9092' under its kafka settings, or the runtime cannot reach its cluster");
                foreach (var (key, value) in region.Kafka)
                {
                    var settingPath = TopologyPath.Key(kafkaPath, key);
                    if (!SecretReference.TryParse(value, out _, out var error))
                        Error(settingPath, $"malformed environment variable reference: {error}", "write the reference as ${VARIABLE_NAME}");
                    else if (KafkaSettings.HoldsSecret(key) && !SecretReference.HasReference(value) && value.Length > 0)
                        Warning(settingPath, $"Kafka setting '{key}' of region '{region.Id}' holds a literal secret",
                            $"replace it with a reference such as ${{{SecretReference.SuggestVariable(region.Id, key)}}} and set that variable where Mesh runs");
                }
                foreach (var finding in KafkaSecurity.Check(region.Id, region.Kafka))
                {
                    var findingPath = finding.Key is null ? kafkaPath : TopologyPath.Key(kafkaPath, finding.Key);
                    if (finding.IsError) Error(findingPath, finding.Message, finding.Fix);
                    else Warning(findingPath, finding.Message, finding.Fix);
                }

                for (var i = 0; i < region.Gateway.Count; i++)
                {
                    if (!IsEndpoint(region.Gateway[i]))
                        Error(TopologyPath.Index(TopologyPath.Key(path, "gateway"), i), $"gateway endpoint '{region.Gateway[i]}' is not host:port",
                            "write the silo's gateway as e.g. 'silo-1.us-east.internal:30000'");
                }
            }
        }

        public void Pattern()
        {
            var patternWord = TopologyKeywords.Word(document.Pattern);
            switch (document.Pattern)
            {
                case TopologyPattern.ActivePassive:
                    RequiredRegion("primary", document.Primary, "the region that takes writes");
                    break;
                case TopologyPattern.HubSpoke:
                    RequiredRegion("hub", document.Hub, "the region every spoke replicates through");
                    break;
                case TopologyPattern.ActiveActive when document.Regions.Count != 2:
                    Error("pattern", $"pattern 'active-active' joins exactly two regions, this file has {document.Regions.Count} ({RegionList})",
                        "use 'mesh' to join every pair of several regions, or 'custom' with explicit links");
                    break;
            }

            if (document.Primary is not null && document.Pattern != TopologyPattern.ActivePassive)
                Warning("primary", $"'primary' is used only by pattern 'active-passive', and the pattern is '{patternWord}'",
                    "remove 'primary', or set 'pattern: active-passive'");
            if (document.Hub is not null && document.Pattern != TopologyPattern.HubSpoke)
                Warning("hub", $"'hub' is used only by pattern 'hub-spoke', and the pattern is '{patternWord}'",
                    "remove 'hub', or set 'pattern: hub-spoke'");
        }

        private void RequiredRegion(string key, string? value, string role)
        {
            var patternWord = TopologyKeywords.Word(document.Pattern);
            if (string.IsNullOrEmpty(value))
                Error(key, $"pattern '{patternWord}' needs '{key}'", $"set '{key}:' to {role}, one of: {RegionList}");
            else if (!_regionIds.Contains(value))
                Error(key, $"{key} '{value}' is not a region", UseRegion(value));
        }

        public void ExplicitLinks()
        {
            var expanded = PatternExpansion.Pairs(document.Pattern, _regionIds, document.Primary, document.Hub).ToHashSet();
            var firstIndex = new Dictionary<(string, string), int>();
            for (var i = 0; i < document.Links.Count; i++)
            {
                var link = document.Links[i];
                var path = TopologyPath.Index("links", i);
                var fromKnown = LinkEnd(path, "from", link.From);
                var toKnown = LinkEnd(path, "to", link.To);
                if (link.From.Length > 0 && link.From == link.To)
                {
                    Error(path, $"link from '{link.From}' to itself", "remove it: a region's own topics need no replication");
                    continue;
                }
                if (firstIndex.TryGetValue((link.From, link.To), out var first))
                    Error(path, $"duplicate link {link.From} -> {link.To}, also at links[{first}]", "keep one entry per link, with the settings of both");
                else
                    firstIndex[(link.From, link.To)] = i;

                if (link.Topics is { } topics)
                {
                    var topicsPath = TopologyPath.Key(path, "topics");
                    Expressions(TopologyPath.Key(topicsPath, "include"), topics.Include);
                    Expressions(TopologyPath.Key(topicsPath, "exclude"), topics.Exclude);
                    if (link.Enabled && topics.Include is { Count: 0 })
                        Warning(TopologyPath.Key(topicsPath, "include"), $"link {link.From} -> {link.To} includes no topic, so it carries nothing",
                            "include at least one expression, or set 'enabled: false' to remove the link");
                }

                if (!link.Enabled && fromKnown && toKnown && !expanded.Contains((link.From, link.To)))
                    Warning(TopologyPath.Key(path, "enabled"), $"link {link.From} -> {link.To} is disabled, but pattern '{TopologyKeywords.Word(document.Pattern)}' does not create it",
                        "remove the entry");
            }
        }

        private bool LinkEnd(string linkPath, string end, string region)
        {
            var path = TopologyPath.Key(linkPath, end);
            if (region.Length == 0)
            {
                Error(path, $"link has no '{end}' region", $"add '{end}: <region id>', one of: {RegionList}");
                return false;
            }
            if (_regionIds.Contains(region)) return true;
            Error(path, $"unknown region '{region}'", UseRegion(region));
            return false;
        }

        public void Topics()
        {
            Expressions("topics.include", document.Topics.Selection.Include);
            Expressions("topics.exclude", document.Topics.Selection.Exclude);
            if (document.Topics.Selection.IsEmpty)
                Warning("topics.include", "no topic is included, so links without their own selection carry nothing",
                    "include at least one expression, e.g. '.*'");
            foreach (var rule in document.Topics.Conflict)
            {
                if (!TopicPattern.IsValid(rule.Topic, out var error))
                    Error(TopologyPath.Key("topics.conflict", rule.Topic), $"invalid regular expression '{rule.Topic}': {error}", RegexFix);
                VersionHeader(rule);
            }
            ExactlyOnce();
        }

        /// <summary>
        /// Exactly-once entries: valid expressions, never on a last-writer-wins topic (the conflict grain's repairs
        /// are written apart from the link's batches, later and by another grain, so they cannot share the batch's
        /// transaction), and a warning that push links run them without transactions (their records go to another
        /// region's Kafka than their checkpoint, and one transaction spans one cluster).
        /// </summary>
        private void ExactlyOnce()
        {
            var entries = document.Topics.ExactlyOnce;
            if (entries.Count == 0) return;
            Expressions(ExactlyOncePath, entries);
            for (var i = 0; i < entries.Count; i++)
            {
                var entry = entries[i];
                if (!TopicPattern.IsValid(entry, out _)) continue;
                if (entries.Take(i).Contains(entry, StringComparer.Ordinal))
                    Warning(TopologyPath.Index(ExactlyOncePath, i), $"'{entry}' is listed twice under exactly-once", "remove the second entry");
                foreach (var rule in document.Topics.Conflict.Where(r => r.Policy == ConflictPolicy.Lww && TopicPattern.IsValid(r.Topic, out _)))
                {
                    if (!Overlap(entry, rule.Topic)) continue;
                    Error(TopologyPath.Index(ExactlyOncePath, i),
                        $"'{entry}' is exactly-once and '{rule.Topic}' is last-writer-wins: a topic cannot be both, because the repairs that last-writer-wins " +
                        "writes come from another grain, after the batch, and cannot be in the batch's transaction",
                        $"remove '{entry}' from exactly-once, or the lww rule for '{rule.Topic}'");
                }
            }
            var push = PatternExpansion.Links(document).FirstOrDefault(l => l.Mode == LinkMode.Push && l.Carries);
            if (push is not null)
                Warning(ExactlyOncePath,
                    $"link {push.From} -> {push.To} is in push mode: it writes into {push.To}'s Kafka and keeps its checkpoints in {push.From}'s, and one " +
                    "Kafka transaction cannot span two clusters, so push links replicate exactly-once topics without transactions",
                    "make the link pull (the destination's silos then write records and checkpoint in one transaction), or keep it: its records still arrive once (the read-back after a crash), only not in transactions");
        }

        // Two entries overlap when one is a plain name the other matches; two different expressions are taken to
        // be apart (the runtime gives a topic that matches both last-writer-wins, without transactions).
        private static bool Overlap(string exactlyOnce, string lww) =>
            exactlyOnce == lww || TopicPattern.IsMatch(lww, exactlyOnce) || TopicPattern.IsMatch(exactlyOnce, lww);

        private const string ExactlyOncePath = "topics.exactly-once";

        private void VersionHeader(ConflictRule rule)
        {
            if (rule.VersionHeader is not { } header) return;
            var path = TopologyPath.Key(TopologyPath.Key("topics.conflict", rule.Topic), "version-header");
            if (rule.Policy != ConflictPolicy.Lww)
                Error(path, $"version-header orders the writes of policy 'lww', and the rule for '{rule.Topic}' has policy '{TopologyKeywords.Word(rule.Policy)}'",
                    "set 'policy: lww', or remove 'version-header'");
            else if (header.Length == 0)
                Error(path, "version-header is empty",
                    "name the record header that carries the application's version, e.g. 'version-header: app-version', or remove it to order writes by timestamp");
            else if (header.StartsWith(ReservedHeaderPrefix, StringComparison.OrdinalIgnoreCase))
                Error(path, $"version-header '{header}' starts with '{ReservedHeaderPrefix}', which the mesh reserves for its own headers",
                    "name the application's own header, e.g. 'app-version'");
        }

        // The mesh's own headers (provenance, repair) begin so; no application header may be read as a version there.
        private const string ReservedHeaderPrefix = "mesh.";

        public void Offsets()
        {
            if (document.Offsets is not { } offsets) return;
            if (offsets.IntervalSeconds is <= 0)
                Error("offsets.intervalSeconds", $"intervalSeconds must be positive, found {offsets.IntervalSeconds}", "use the number of seconds between offset syncs, e.g. 60");
            Expressions("offsets.groups", offsets.Groups);
            Expressions("offsets.groupsExclude", offsets.GroupsExclude);
        }

        public void Backup()
        {
            if (document.Backup is not { } backup) return;
            if (string.IsNullOrWhiteSpace(backup.Store))
                Error("backup.store", "the backup has no store",
                    "name where segments go: a directory ('store: /var/backups/mesh') or an Azure container ('store: azure://mesh-backup')");
            else if (backup.Store.StartsWith("azure://", StringComparison.OrdinalIgnoreCase) && backup.Store.Length == "azure://".Length)
                Error("backup.store", "the Azure store names no container", "write 'store: azure://CONTAINER', e.g. 'azure://mesh-backup'");
            if (backup.Topics is { Count: 0 })
                Error("backup.topics", "the backup lists no topics", "name the topics to back up (names or expressions), or remove 'topics' to back up every replicated topic");
            Expressions("backup.topics", backup.Topics);
            Expressions("backup.groups", backup.Groups);
            Positive("backup.segment-bytes", backup.SegmentBytes, "raw record bytes per segment, e.g. 4194304 (4 MiB)");
            Positive("backup.segment-seconds", backup.SegmentSeconds, "the age in seconds at which a segment closes, e.g. 10");
            Positive("backup.take-over-seconds", backup.TakeOverSeconds, "seconds before a region backs up another origin's records itself, e.g. 30");
            Positive("backup.group-interval-seconds", backup.GroupIntervalSeconds, "seconds between consumer-group snapshots, e.g. 10");
            if (backup.EffectiveTakeOverSeconds <= backup.EffectiveSegmentSeconds)
                Warning("backup.take-over-seconds",
                    $"take-over-seconds ({backup.EffectiveTakeOverSeconds}) is not above segment-seconds ({backup.EffectiveSegmentSeconds}): regions will back up each other's records while their own region is only waiting to close a segment",
                    "set take-over-seconds to a few times segment-seconds (defaults: 30 and 10); the backup stays exact either way, it only does the work twice");
            if (backup.EncryptionKeyEnv is { } variable && (variable.Length == 0 || variable.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '_'))))
                Error("backup.encryption-key-env", $"'{variable}' is not an environment variable name",
                    "name the variable that holds the base64 AES-256 key (letters, digits and '_'), e.g. 'MESH_BACKUP_KEY'; never the key itself");
        }

        private void Positive(string path, long? value, string fix)
        {
            if (value is <= 0)
                Error(path, $"{path[(path.LastIndexOf('.') + 1)..]} must be positive, found {value.Value.ToString(CultureInfo.InvariantCulture)}", "use " + fix);
        }

        /// <summary>
        /// Regions without any link, and for the patterns that promise every region the others'
        /// data, each pair the effective links leave unconnected.
        /// </summary>
        public void Connectivity()
        {
            var links = PatternExpansion.Links(document);
            foreach (var region in document.Regions)
            {
                if (!links.Any(l => l.From == region.Id || l.To == region.Id))
                    Warning(TopologyPath.Key("regions", region.Id), $"region '{region.Id}' has no link: it neither sends nor receives",
                        "add a link to or from it, or remove the region");
            }

            var promisesAll = document.Pattern switch
            {
                TopologyPattern.ActiveActive => document.Regions.Count == 2,
                TopologyPattern.HubSpoke => document.Hub is not null && _regionIds.Contains(document.Hub),
                TopologyPattern.Mesh => true,
                _ => false,
            };
            if (!promisesAll) return;

            var routes = RouteTable.Build(_regionIds, links);
            var ids = _regionIds.Order(StringComparer.Ordinal).ToArray();
            foreach (var origin in ids)
            {
                foreach (var destination in ids)
                {
                    if (origin == destination || routes.Find(origin, destination) is not null) continue;
                    Error("links", $"pattern '{TopologyKeywords.Word(document.Pattern)}' promises every region the others' data, but records from '{origin}' cannot reach '{destination}'",
                        $"enable a link on a path from {origin} to {destination}, e.g. '{{ from: {origin}, to: {destination} }}'");
                }
            }
        }

        private void Expressions(string path, IReadOnlyList<string>? patterns)
        {
            if (patterns is null) return;
            for (var i = 0; i < patterns.Count; i++)
            {
                if (!TopicPattern.IsValid(patterns[i], out var error))
                    Error(TopologyPath.Index(path, i), $"invalid regular expression '{patterns[i]}': {error}", RegexFix);
            }
        }

        private const string RegexFix = "correct the expression; escape special characters such as '.', '(' or '[' with '\\'";

        private string UseRegion(string value)
        {
            var closest = TopologyKeywords.Closest(value, _regionIds);
            return (closest is null ? "" : $"did you mean '{closest}'? ") + $"use one of: {RegionList}";
        }

        private static bool IsEndpoint(string endpoint)
        {
            var colon = endpoint.LastIndexOf(':');
            return colon > 0
                && int.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
                && port is > 0 and <= 65535
                && !endpoint[..colon].Any(char.IsWhiteSpace);
        }

        private void Error(string path, string message, string fix) => Problems.Add(new TopologyProblem(path, message, fix));

        private void Warning(string path, string message, string fix) => Problems.Add(new TopologyProblem(path, message, fix, ProblemSeverity.Warning));
    }
}
