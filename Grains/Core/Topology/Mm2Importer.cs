using System.Globalization;
using System.Text.RegularExpressions;
using Mesh.Core.Replication;

namespace Mesh.Core.Topology;

/// <summary>A MirrorMaker 2 setting the import could not carry into the topology, and why.</summary>
/// <param name="Value">As written, or <c>***</c> when the setting holds a secret.</param>
public sealed record Mm2Setting(string Key, string Value, string Reason, int Line)
{
    public override string ToString() => $"line {Line}: {Key}={Value}: {Reason}";
}

/// <param name="Document">The topology, version 1; validate it before use.</param>
/// <param name="Unmapped">Every setting that has no counterpart, with the reason.</param>
/// <param name="Notes">What the import decided on the operator's behalf (secrets moved to variables, kept defaults).</param>
/// <param name="Errors">What stops the topology from being MM2's: a cluster alias that cannot be a region id as it is. Never rewritten in silence.</param>
public sealed record Mm2Import(TopologyDocument Document, ValueList<Mm2Setting> Unmapped, ValueList<string> Notes, ValueList<string> Errors)
{
    public bool HasErrors => Errors.Count > 0;

    /// <summary>MM2's <c>replication.policy.separator</c> (<c>.</c> unless set): under prefix naming, Mesh names remote topics with <c>.</c> only.</summary>
    public string Separator { get; init; } = ".";

    /// <summary>The replication policy class when it is neither MM2's default nor its identity policy: Mesh cannot know the names it made.</summary>
    public string? UnmappablePolicy { get; init; }
}

/// <summary>
/// Converts a MirrorMaker 2 configuration (the <c>connect-mirror-maker.properties</c> of a
/// dedicated MM2 cluster) into a topology: clusters become regions, enabled flows become links
/// (recognised as a pattern where they form one), topic filters become selectors, the replication
/// policy becomes the naming, and group-offset settings are kept in the <c>offsets</c> section.
/// </summary>
public static class Mm2Importer
{
    public const string DefaultReplicationPolicy = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy";
    public const string IdentityReplicationPolicy = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy";

    /// <summary>MM2's own default for <c>topics.exclude</c>: Kafka Streams internals, replicas and Kafka's internal topics.</summary>
    public static ValueList<string> Mm2DefaultTopicsExclude { get; } = [@".*[\-\.]internal", @".*\.replica", "__.*"];

    private static readonly string[] OffsetKeys =
        ["emit.checkpoints.enabled", "sync.group.offsets.enabled", "sync.group.offsets.interval.seconds", "groups", "groups.exclude", "groups.blacklist"];

    private static readonly Regex JaasCredentials = new(
        @"^\s*org\.apache\.kafka\.common\.security\.(plain\.PlainLoginModule|scram\.ScramLoginModule)\s+required\s+(?<options>.*?);?\s*$",
        RegexOptions.CultureInvariant | RegexOptions.Singleline);

    private static readonly Regex JaasOption = new(@"(?<name>\w+)\s*=\s*""(?<value>(?:[^""\\]|\\.)*)""", RegexOptions.CultureInvariant);

    public static Mm2Import Import(string propertiesText, string name = "mm2")
    {
        var import = new Conversion(JavaProperties.Parse(propertiesText));
        return import.Run(name);
    }

    private sealed class Conversion
    {
        private readonly Dictionary<string, PropertyEntry> _settings = new(StringComparer.Ordinal);
        private readonly List<Mm2Setting> _unmapped = [];
        private readonly List<string> _notes = [];
        private readonly List<string> _errors = [];
        private string? _unmappablePolicy;
        private string? _separator;
        private readonly List<string> _aliases = [];
        private readonly Dictionary<string, string> _regionOf = new(StringComparer.Ordinal);

        public Conversion(IReadOnlyList<PropertyEntry> entries)
        {
            foreach (var entry in entries)
            {
                if (_settings.TryGetValue(entry.Key, out var earlier))
                    Unmapped(earlier, $"given again at line {entry.Line}, which wins (as in MM2)");
                _settings[entry.Key] = entry;
            }
        }

        public Mm2Import Run(string name)
        {
            var naming = Naming();
            Clusters(naming);
            var global = new List<PropertyEntry>();
            var perCluster = _aliases.ToDictionary(a => a, _ => new List<(string Setting, PropertyEntry Entry)>(), StringComparer.Ordinal);
            var perFlow = new Dictionary<(string From, string To), List<(string Setting, PropertyEntry Entry)>>();

            foreach (var entry in _settings.Values.OrderBy(e => e.Line))
            {
                if (entry.Key == "clusters") continue;
                if (entry.Key.Contains("->", StringComparison.Ordinal))
                {
                    if (SplitFlow(entry) is { } flow)
                    {
                        if (!perFlow.TryGetValue((flow.From, flow.To), out var list)) perFlow[(flow.From, flow.To)] = list = [];
                        list.Add((flow.Setting, entry));
                    }
                    continue;
                }
                var alias = _aliases.Where(a => entry.Key.StartsWith(a + ".", StringComparison.Ordinal)).MaxBy(a => a.Length);
                if (alias is not null) perCluster[alias].Add((entry.Key[(alias.Length + 1)..], entry));
                else global.Add(entry);
            }

            var clientDefaults = global.Where(e => IsClientSetting(e.Key)).ToArray();
            var regions = _aliases.Select(a => Region(a, clientDefaults, perCluster[a])).ToValueList();
            var flows = Flows(perFlow);
            var selection = GlobalSelection(flows.Values);
            flows = flows.ToDictionary(f => f.Key, f => Simplify(f.Value, selection));
            var offsets = Offsets();
            foreach (var entry in global)
            {
                if (entry.Key is "topics" or "topics.exclude" or "topics.blacklist" or "replication.policy.class" or "replication.policy.separator"
                    || OffsetKeys.Contains(entry.Key) || IsClientSetting(entry.Key))
                    continue;
                Unmapped(entry, ReasonFor(entry.Key, entry.Value));
            }

            var (pattern, primary, hub) = Recognise(flows.Keys.ToArray());
            var expanded = PatternExpansion.Pairs(pattern, regions.Select(r => r.Id), primary, hub).ToHashSet();
            var links = flows
                .Where(f => !expanded.Contains(f.Key) || f.Value is not null)
                .OrderBy(f => f.Key.From, StringComparer.Ordinal)
                .ThenBy(f => f.Key.To, StringComparer.Ordinal)
                .Select(f => new LinkDocument(f.Key.From, f.Key.To) { Topics = f.Value })
                .ToValueList();
            if (flows.Count == 0)
                _notes.Add("no flow is enabled ('A->B.enabled = true'), so the topology has no links");

            var document = new TopologyDocument
            {
                Name = name,
                Version = 1,
                Naming = naming,
                Separator = _separator,
                Pattern = pattern,
                Primary = primary,
                Hub = hub,
                Regions = regions,
                Links = links,
                Topics = new TopicRules(selection, []),
                Offsets = offsets,
            };
            return new Mm2Import(document, _unmapped.OrderBy(u => u.Line).ToValueList(), _notes.ToValueList(), _errors.ToValueList())
            {
                Separator = _settings.TryGetValue("replication.policy.separator", out var separator) ? separator.Value : ".",
                UnmappablePolicy = _unmappablePolicy,
            };
        }

        private void Clusters(NamingPolicy naming)
        {
            if (!_settings.TryGetValue("clusters", out var clusters))
            {
                _notes.Add("no 'clusters' setting: MM2 needs the list of cluster aliases, so the topology has no regions");
                return;
            }
            foreach (var alias in SplitList(clusters.Value).Distinct(StringComparer.Ordinal))
            {
                // The alias is the region id as written, case included: under prefix naming it is the prefix of every
                // remote topic, and MM2 has been writing '<alias>.<topic>'. Another id would start a second copy.
                var separator = _separator ?? TopicNaming.DefaultSeparator;
                if (!RegionIds.IsValid(alias, out var reason) || (naming == NamingPolicy.Prefix && alias.Contains(separator, StringComparison.Ordinal)))
                {
                    if (reason.Length == 0) reason = $"region id '{alias}' contains '{separator}', which prefix naming uses to separate the source region from the topic";
                    _errors.Add($"line {clusters.Line}: cluster alias '{alias}' cannot be a region id as it is ({reason}). Mesh would name its remote topics " +
                                $"differently from MM2's '{alias}.<topic>' and start a second copy of each; rename the alias in the MM2 configuration " +
                                "(and its remote topics in the clusters) to letters, digits, '-' and '_', or write the topology by hand with identity naming");
                    continue;
                }
                _aliases.Add(alias);
                _regionOf[alias] = alias;
            }
        }

        private (string From, string To, string Setting)? SplitFlow(PropertyEntry entry)
        {
            var arrow = entry.Key.IndexOf("->", StringComparison.Ordinal);
            var source = entry.Key[..arrow];
            var rest = entry.Key[(arrow + 2)..];
            var target = _aliases.Where(a => rest.StartsWith(a + ".", StringComparison.Ordinal)).MaxBy(a => a.Length);
            if (!_regionOf.ContainsKey(source) || target is null)
            {
                Unmapped(entry, $"the flow names a cluster that is not in 'clusters' ({string.Join(", ", _aliases)})");
                return null;
            }
            if (source == target)
            {
                Unmapped(entry, "a flow from a cluster to itself; MM2 ignores it and the topology has no such link");
                return null;
            }
            return (source, target, rest[(target.Length + 1)..]);
        }

        private NamingPolicy Naming()
        {
            var naming = NamingPolicy.Prefix;
            if (_settings.TryGetValue("replication.policy.class", out var policy))
            {
                var className = policy.Value.Trim();
                if (className is IdentityReplicationPolicy || className.EndsWith(".IdentityReplicationPolicy", StringComparison.Ordinal) || className == "IdentityReplicationPolicy")
                    naming = NamingPolicy.Identity;
                else if (className is not DefaultReplicationPolicy && !className.EndsWith(".DefaultReplicationPolicy", StringComparison.Ordinal) && className != "DefaultReplicationPolicy")
                {
                    _unmappablePolicy = className;
                    Unmapped(policy, $"replication policy {className} cannot be mapped: Mesh names remote topics as they are (IdentityReplicationPolicy) or "
                        + "'<source>.<topic>' (DefaultReplicationPolicy). Prefix naming is written; compare 'mesh topology show' with the names this policy makes, "
                        + "and before a takeover rename the remote topics where they differ, or Mesh starts a second copy of each");
                }
            }
            else
            {
                _notes.Add("no replication.policy.class: MM2's default (DefaultReplicationPolicy) names remote topics '<source>.<topic>', so naming is 'prefix'");
            }

            if (_settings.TryGetValue("replication.policy.separator", out var separator) && separator.Value != "." && naming == NamingPolicy.Prefix)
            {
                _separator = separator.Value;
                _notes.Add($"replication.policy.separator = {separator.Value} (line {separator.Line}): the topology's prefix naming separates with it too, so remote topics keep MM2's names '<source>{separator.Value}<topic>'");
            }
            return naming;
        }

        /// <summary>
        /// The default selection: the global settings; or, where a global one is missing and every
        /// enabled flow gives the same list, that list (DR configurations often set only
        /// <c>primary->backup.topics</c>); or MM2's defaults.
        /// </summary>
        private TopicSelector GlobalSelection(IReadOnlyCollection<TopicOverride?> flows)
        {
            static ValueList<string>? Shared(IEnumerable<ValueList<string>?> lists)
            {
                var distinct = lists.Distinct().ToArray();
                return distinct.Length == 1 ? distinct[0] : null;
            }

            var include = _settings.TryGetValue("topics", out var topics)
                ? SplitList(topics.Value)
                : flows.Count > 0 ? Shared(flows.Select(f => f?.Include)) : null;
            var exclude = Exclusion(_settings.GetValueOrDefault("topics.exclude"), _settings.GetValueOrDefault("topics.blacklist"))
                ?? (flows.Count > 0 ? Shared(flows.Select(f => f?.Exclude)) : null);
            include ??= TopicSelector.All.Include;
            if (exclude is null)
            {
                _notes.Add("no topics.exclude: MM2's default exclusion (" + string.Join(", ", Mm2DefaultTopicsExclude) + ") is written out, so the same topics replicate");
                exclude = Mm2DefaultTopicsExclude;
            }
            // MM2 never replicates its own topics ('<anything><separator>internal', whatever topics.exclude says); with a
            // custom separator they escape the default '.*[\-\.]internal'.
            if (_separator is { } separator && $".*{Regex.Escape(separator)}internal" is var internals && !exclude.Contains(internals))
            {
                _notes.Add($"MM2's internal topics end in '{separator}internal' with replication.policy.separator = {separator}: '{internals}' is excluded, as MM2 never replicates them");
                exclude = exclude.Append(internals).ToValueList();
            }
            return new TopicSelector(include, exclude);
        }

        /// <summary><c>topics.exclude</c>, or its old name <c>topics.blacklist</c> when it is the only one given.</summary>
        private ValueList<string>? Exclusion(PropertyEntry? exclude, PropertyEntry? blacklist)
        {
            if (exclude is not null && blacklist is not null)
                Unmapped(blacklist, "superseded by topics.exclude, as in MM2");
            return (exclude ?? blacklist) is { } entry ? SplitList(entry.Value) : null;
        }

        private Region Region(string alias, IReadOnlyList<PropertyEntry> defaults, List<(string Setting, PropertyEntry Entry)> settings)
        {
            var id = _regionOf[alias];
            var kafka = new List<KeyValuePair<string, string>>();

            void Put(string key, string value)
            {
                kafka.RemoveAll(e => e.Key == key);
                kafka.Add(KeyValuePair.Create(key, value));
            }

            foreach (var entry in defaults)
            {
                if (ClientSetting(id, entry.Key, entry, out var value)) Put(entry.Key, value);
            }

            foreach (var (setting, entry) in settings)
            {
                if (setting is "consumer" or "producer" or "admin" || setting.StartsWith("consumer.", StringComparison.Ordinal)
                    || setting.StartsWith("producer.", StringComparison.Ordinal) || setting.StartsWith("admin.", StringComparison.Ordinal))
                {
                    Unmapped(entry, "the topology has one set of Kafka settings per region, shared by its consumers, producers and admin client");
                    continue;
                }
                if (setting == "sasl.jaas.config")
                {
                    foreach (var (key, value) in Jaas(id, entry)) Put(key, value);
                    continue;
                }
                if (!IsClientSetting(setting) && ReasonForClusterSetting(setting, entry.Value) is { } reason)
                {
                    Unmapped(entry, reason);
                    continue;
                }
                if (ClientSetting(id, setting, entry, out var translated)) Put(setting, translated);
            }

            var ordered = kafka.OrderBy(e => e.Key == "bootstrap.servers" ? 0 : 1).ToArray();
            if (!ordered.Any(e => e.Key == "bootstrap.servers"))
                _notes.Add($"cluster '{alias}' has no {alias}.bootstrap.servers");
            return new Region(id, new KafkaSettings(ordered), []);
        }

        /// <summary>A client setting as librdkafka takes it; false when it has to be left out (and was reported).</summary>
        private bool ClientSetting(string region, string key, PropertyEntry entry, out string value)
        {
            value = entry.Value;
            if (key.EndsWith(".class", StringComparison.Ordinal) || key.StartsWith("ssl.truststore.", StringComparison.Ordinal) || key == "ssl.keystore.type")
            {
                Unmapped(entry, key.StartsWith("ssl.truststore.", StringComparison.Ordinal)
                    ? "librdkafka reads trusted certificates from a PEM file: convert the truststore and set ssl.ca.location"
                    : key == "ssl.keystore.type"
                        ? "librdkafka reads a PKCS#12 keystore (ssl.keystore.location) or PEM files; convert a JKS keystore"
                        : "a Java class; librdkafka has no equivalent");
                return false;
            }
            if (Regex.Match(value, @"\$\{(?<provider>[A-Za-z0-9_]+):(?<rest>[^}]*)\}") is { Success: true } provided)
            {
                var provider = provided.Groups["provider"].Value;
                if (provider == "env" && SecretReference.IsVariableName(provided.Groups["rest"].Value))
                {
                    value = Regex.Replace(value, @"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}", "${$1}");
                    return true;
                }
                Unmapped(entry, $"a value from MM2's '{provider}' config provider; put it in an environment variable and write ${{VARIABLE}}");
                return false;
            }
            if (KafkaSettings.HoldsSecret(key) && !SecretReference.HasReference(value) && value.Length > 0)
            {
                var variable = SecretReference.SuggestVariable(region, key);
                _notes.Add($"the literal value of {entry.Key} (line {entry.Line}) is not copied: the topology refers to ${{{variable}}}, set it where Mesh runs");
                value = SecretReference.Reference(variable);
            }
            return true;
        }

        /// <summary>PLAIN and SCRAM JAAS logins become librdkafka's sasl.username and sasl.password.</summary>
        private IEnumerable<(string Key, string Value)> Jaas(string region, PropertyEntry entry)
        {
            var login = JaasCredentials.Match(entry.Value);
            if (!login.Success)
            {
                Unmapped(entry, "only PLAIN and SCRAM JAAS logins translate to librdkafka (sasl.username, sasl.password); configure this mechanism's librdkafka settings by hand");
                return [];
            }
            var options = JaasOption.Matches(login.Groups["options"].Value)
                .ToDictionary(m => m.Groups["name"].Value, m => Regex.Unescape(m.Groups["value"].Value), StringComparer.Ordinal);
            var result = new List<(string, string)>();
            if (options.TryGetValue("username", out var user)) result.Add(("sasl.username", user));
            if (options.TryGetValue("password", out var password))
            {
                if (password.StartsWith("${env:", StringComparison.Ordinal) && password.EndsWith('}'))
                {
                    result.Add(("sasl.password", SecretReference.Reference(password[6..^1])));
                }
                else
                {
                    var variable = SecretReference.SuggestVariable(region, "sasl.password");
                    _notes.Add($"the password in {entry.Key} (line {entry.Line}) is not copied: the topology refers to ${{{variable}}}, set it where Mesh runs");
                    result.Add(("sasl.password", SecretReference.Reference(variable)));
                }
            }
            return result;
        }

        /// <summary>Enabled flows, each with the topic lists it sets itself.</summary>
        private Dictionary<(string From, string To), TopicOverride?> Flows(
            Dictionary<(string From, string To), List<(string Setting, PropertyEntry Entry)>> perFlow)
        {
            var flows = new Dictionary<(string From, string To), TopicOverride?>();
            foreach (var ((source, target), settings) in perFlow)
            {
                var from = _regionOf[source];
                var to = _regionOf[target];
                var enabledEntry = settings.LastOrDefault(s => s.Setting == "enabled").Entry;
                var enabled = enabledEntry is not null && bool.TryParse(enabledEntry.Value.Trim(), out var on) && on;
                if (!enabled)
                {
                    foreach (var (setting, entry) in settings.Where(s => s.Setting != "enabled"))
                        Unmapped(entry, $"flow {source}->{target} is not enabled ('{source}->{target}.enabled = true'), so it has no link");
                    continue;
                }

                ValueList<string>? include = null;
                PropertyEntry? exclude = null, blacklist = null;
                foreach (var (setting, entry) in settings)
                {
                    switch (setting)
                    {
                        case "enabled": break;
                        case "topics": include = SplitList(entry.Value); break;
                        case "topics.exclude": exclude = entry; break;
                        case "topics.blacklist": blacklist = entry; break;
                        default:
                            if (!OffsetKeys.Contains(setting)) Unmapped(entry, ReasonFor(setting, entry.Value));
                            break;
                    }
                }
                var excluded = Exclusion(exclude, blacklist);
                flows[(from, to)] = include is null && excluded is null ? null : new TopicOverride(include, excluded);
            }

            // Offsets() reads the group-offset settings of these flows.
            _enabledFlows = perFlow.Where(f => flows.ContainsKey((_regionOf[f.Key.From], _regionOf[f.Key.To]))).Select(f => f.Value).ToArray();
            return flows;
        }

        private IReadOnlyList<List<(string Setting, PropertyEntry Entry)>> _enabledFlows = [];

        /// <summary>A flow's own lists, less what the default selection already says.</summary>
        private static TopicOverride? Simplify(TopicOverride? own, TopicSelector defaults)
        {
            if (own is null) return null;
            var include = own.Include is { } i && !i.Equals(defaults.Include) ? i : null;
            var exclude = own.Exclude is { } e && !e.Equals(defaults.Exclude) ? e : null;
            return include is null && exclude is null ? null : new TopicOverride(include, exclude);
        }

        /// <summary>
        /// The <c>offsets</c> section: one value per setting, taken from the flows when they set it
        /// (and agree) or from the global setting. Null when the file configures none of them.
        /// </summary>
        private OffsetSettings? Offsets()
        {
            var present = false;
            string? Effective(string key)
            {
                var global = _settings.GetValueOrDefault(key);
                var values = new List<(PropertyEntry Entry, string Value)>();
                foreach (var settings in _enabledFlows)
                {
                    var own = settings.LastOrDefault(s => s.Setting == key).Entry;
                    if (own is not null) values.Add((own, own.Value));
                    else if (global is not null) values.Add((global, global.Value));
                }
                if (_enabledFlows.Count == 0 && global is not null) values.Add((global, global.Value));
                if (values.Count == 0) return null;
                present = true;
                var chosen = values[0].Value;
                foreach (var (entry, value) in values.Skip(1).Where(v => v.Value != chosen).DistinctBy(v => v.Entry))
                    Unmapped(entry, $"flows disagree on {key}; the topology keeps one offsets section and uses '{chosen}'");
                return chosen;
            }

            bool? Flag(string key)
            {
                var text = Effective(key);
                return text is null ? null : bool.TryParse(text.Trim(), out var value) ? value : null;
            }

            var checkpoints = Flag("emit.checkpoints.enabled");
            var sync = Flag("sync.group.offsets.enabled");
            var intervalText = Effective("sync.group.offsets.interval.seconds");
            long? interval = long.TryParse(intervalText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) ? seconds : null;
            var groups = Effective("groups") is { } g ? SplitList(g) : null;
            var groupsExcludeText = Effective("groups.exclude") ?? Effective("groups.blacklist");
            var groupsExclude = groupsExcludeText is null ? null : SplitList(groupsExcludeText);
            if (!present) return null;

            _notes.Add("group-offset settings (emit.checkpoints.enabled, sync.group.offsets.*, groups) are kept in 'offsets': "
                + "Mesh translates consumer offsets through its own checkpoints, and the section records what MM2 was set to sync");
            return new OffsetSettings
            {
                Checkpoints = checkpoints,
                Sync = sync,
                IntervalSeconds = interval,
                Groups = groups,
                GroupsExclude = groupsExclude,
            };
        }

        /// <summary>The pattern the enabled flows form; custom when they form none.</summary>
        private (TopologyPattern Pattern, string? Primary, string? Hub) Recognise(IReadOnlyCollection<(string From, string To)> flows)
        {
            var ids = _aliases.Select(a => _regionOf[a]).Order(StringComparer.Ordinal).ToArray();
            var set = flows.ToHashSet();
            bool Is(TopologyPattern pattern, string? primary = null, string? hub = null)
            {
                var expected = PatternExpansion.Pairs(pattern, ids, primary, hub);
                return expected.Count > 0 && expected.Count == set.Count && expected.All(set.Contains);
            }

            if (ids.Length == 2 && Is(TopologyPattern.ActiveActive)) return (TopologyPattern.ActiveActive, null, null);
            foreach (var id in ids)
            {
                if (Is(TopologyPattern.ActivePassive, primary: id)) return (TopologyPattern.ActivePassive, id, null);
            }
            if (ids.Length > 2)
            {
                foreach (var id in ids)
                {
                    if (Is(TopologyPattern.HubSpoke, hub: id)) return (TopologyPattern.HubSpoke, null, id);
                }
                if (Is(TopologyPattern.Mesh)) return (TopologyPattern.Mesh, null, null);
            }
            return (TopologyPattern.Custom, null, null);
        }

        private void Unmapped(PropertyEntry entry, string reason)
        {
            if (reason == Agrees) return;
            var shown = KafkaSettings.IsSensitive(entry.Key) || entry.Key.EndsWith("jaas.config", StringComparison.Ordinal) ? "***" : entry.Value;
            _unmapped.Add(new Mm2Setting(entry.Key, shown, reason, entry.Line));
        }
    }

    private static ValueList<string> SplitList(string value) =>
        value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToValueList();

    /// <summary>Settings given once for every cluster (security.protocol and the like) are client settings of each region.</summary>
    private static bool IsClientSetting(string key) =>
        key == "bootstrap.servers" || key == "client.id"
        || key.StartsWith("security.", StringComparison.Ordinal)
        || key.StartsWith("sasl.", StringComparison.Ordinal)
        || key.StartsWith("ssl.", StringComparison.Ordinal);

    /// <summary>Settings that may follow a cluster alias but configure MM2 or Connect, not the Kafka client.</summary>
    private static string? ReasonForClusterSetting(string setting, string value)
    {
        var reason = ReasonFor(setting, value);
        return reason == Unknown ? null : reason;
    }

    private const string Unknown = "no counterpart in the topology schema";

    /// <summary>The reason for a setting that asks for what Mesh does anyway: it is not reported.</summary>
    private const string Agrees = "";

    private static string ReasonFor(string key, string value)
    {
        var off = value.Trim().Equals("false", StringComparison.OrdinalIgnoreCase);
        return key switch
        {
            "tasks.max" => "Mesh runs one replicator per partition, spread over the region's silos; add silos for capacity",
            "replication.factor" => "target topics are created with the target cluster's default replication factor; the topology has no field for it",
            _ when key.EndsWith(".replication.factor", StringComparison.Ordinal) || key.StartsWith("offset.storage.", StringComparison.Ordinal)
                || key.StartsWith("config.storage.", StringComparison.Ordinal) || key.StartsWith("status.storage.", StringComparison.Ordinal)
                => "configures an MM2 or Kafka Connect internal topic; Mesh keeps its checkpoints in its own compacted topic",
            _ when key.StartsWith("emit.heartbeats.", StringComparison.Ordinal) || key.StartsWith("heartbeats.", StringComparison.Ordinal)
                => off ? Agrees : "Mesh has no heartbeats topic; link health comes from the link status",
            _ when key.StartsWith("refresh.", StringComparison.Ordinal)
                => "Mesh re-reads the topic list on its own schedule",
            _ when key.StartsWith("sync.topic.configs.", StringComparison.Ordinal)
                => "Mesh copies a topic's configs when it creates the target topic; later config changes are not synced",
            _ when key.StartsWith("sync.topic.acls.", StringComparison.Ordinal)
                => off ? Agrees : "Mesh does not replicate ACLs; grant them in each region",
            _ when key.StartsWith("offset-syncs.", StringComparison.Ordinal) || key == "offset.lag.max"
                => "MM2's offset-sync mechanism; Mesh translates offsets through the origin vector in its checkpoints",
            _ when key.EndsWith(".converter", StringComparison.Ordinal) || key.Contains(".converter.", StringComparison.Ordinal)
                => "a Kafka Connect converter; Mesh copies keys, values and headers as bytes",
            _ when key.StartsWith("dedicated.mode.", StringComparison.Ordinal) || key.StartsWith("listeners", StringComparison.Ordinal)
                || key.StartsWith("rest.", StringComparison.Ordinal) || key.StartsWith("admin.listeners", StringComparison.Ordinal)
                => "configures the MM2 process itself",
            _ when key.StartsWith("replication.policy.", StringComparison.Ordinal)
                => "a replication policy option that Mesh's naming does not have",
            _ => Unknown,
        };
    }
}
