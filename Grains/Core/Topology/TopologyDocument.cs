namespace Mesh.Core.Topology;

/// <summary>
/// A topology file as written: what the operator said, not yet checked against itself.
/// <see cref="TopologyValidator"/> finds what is wrong with it; <see cref="Topology.FromDocument"/>
/// derives links, routes and forwarding from a valid one. Documents compare by content.
/// </summary>
public sealed record TopologyDocument
{
    public string? Name { get; init; }

    /// <summary>Only ever increases from one applied topology to the next; null when the file has none.</summary>
    public long? Version { get; init; }

    public NamingPolicy Naming { get; init; } = NamingPolicy.Identity;

    /// <summary>Prefix naming's separator between the source region and the topic (MM2's <c>replication.policy.separator</c>); null: <c>.</c>.</summary>
    public string? Separator { get; init; }

    public TopologyPattern Pattern { get; init; } = TopologyPattern.Custom;

    /// <summary>The region that takes writes under <see cref="TopologyPattern.ActivePassive"/>.</summary>
    public string? Primary { get; init; }

    /// <summary>The centre of <see cref="TopologyPattern.HubSpoke"/>.</summary>
    public string? Hub { get; init; }

    public ValueList<Region> Regions { get; init; } = [];

    /// <summary>Links that add to, change or (with <see cref="LinkDocument.Enabled"/> false) remove what the pattern expands to.</summary>
    public ValueList<LinkDocument> Links { get; init; } = [];

    public TopicRules Topics { get; init; } = TopicRules.Default;

    /// <summary>Consumer-group offset settings carried over from MirrorMaker 2; null when the file has none.</summary>
    public OffsetSettings? Offsets { get; init; }

    /// <summary>The continuous backup the silos keep; null when the file has no <c>backup:</c> section.</summary>
    public BackupSettings? Backup { get; init; }

    /// <summary>Where each part of the document was read from, for problem reports. Not part of equality.</summary>
    public SourceMap Source { get; init; } = SourceMap.None;
}

/// <param name="Id">Region id: letters, digits, '-', '_' (see <c>RegionIds</c>).</param>
/// <param name="Kafka">librdkafka settings for the region's cluster; values may be <c>${ENV_VAR}</c> references.</param>
/// <param name="Gateway">The region's silo gateway endpoints, <c>host:port</c>.</param>
public sealed record Region(string Id, KafkaSettings Kafka, ValueList<string> Gateway)
{
    public Region(string id) : this(id, KafkaSettings.Empty, [])
    {
    }
}

/// <summary>A link as the file states it; fields left out take the pattern's or the defaults' values.</summary>
public sealed record LinkDocument(string From, string To)
{
    public LinkMode? Mode { get; init; }

    /// <summary>Replaces the default topic selection field by field; null keeps the defaults.</summary>
    public TopicOverride? Topics { get; init; }

    /// <summary>False removes the link, typically one the pattern would create.</summary>
    public bool Enabled { get; init; } = true;
}

/// <summary>
/// Which topics a link carries: a topic is carried when some <see cref="Include"/> expression
/// matches its whole name and no <see cref="Exclude"/> expression does (as MirrorMaker 2 does).
/// </summary>
public sealed record TopicSelector(ValueList<string> Include, ValueList<string> Exclude)
{
    public static TopicSelector All { get; } = new([".*"], []);

    public bool Matches(string topic) =>
        Include.Any(p => TopicPattern.IsMatch(p, topic)) && !Exclude.Any(p => TopicPattern.IsMatch(p, topic));

    /// <summary>An empty include list carries nothing.</summary>
    public bool IsEmpty => Include.Count == 0;

    public override string ToString() =>
        "include " + (Include.Count == 0 ? "(nothing)" : string.Join(", ", Include))
        + (Exclude.Count == 0 ? "" : "; exclude " + string.Join(", ", Exclude));
}

/// <summary>A link's own topic selection; a null list keeps the default one.</summary>
public sealed record TopicOverride(ValueList<string>? Include, ValueList<string>? Exclude)
{
    public TopicSelector Over(TopicSelector defaults) => new(Include ?? defaults.Include, Exclude ?? defaults.Exclude);
}

/// <param name="Selection">The topics every link carries unless it says otherwise.</param>
/// <param name="Conflict">Conflict policy per topic name or expression, first match wins after exact names.</param>
public sealed record TopicRules(TopicSelector Selection, ValueList<ConflictRule> Conflict)
{
    public static TopicRules Default { get; } = new(TopicSelector.All, []);

    /// <summary>
    /// Topic names or whole-name expressions replicated in exactly-once mode: each batch's records and its
    /// checkpoint are written in one Kafka transaction (opt-in; empty: none).
    /// </summary>
    public ValueList<string> ExactlyOnce { get; init; } = [];

    /// <summary>Whether <paramref name="topic"/> (as named in its source) is replicated in exactly-once mode.</summary>
    public bool IsExactlyOnce(string topic) => ExactlyOnceTopics.Matches(ExactlyOnce, topic);

    /// <summary>The rule for <paramref name="topic"/>: an exact name wins over expressions; among expressions the first in the file wins; otherwise none.</summary>
    public ConflictRule? RuleFor(string topic)
    {
        foreach (var rule in Conflict)
        {
            if (rule.Topic == topic) return rule;
        }
        foreach (var rule in Conflict)
        {
            if (TopicPattern.IsValid(rule.Topic, out _) && TopicPattern.IsMatch(rule.Topic, topic)) return rule;
        }
        return null;
    }

    /// <summary>The policy of <see cref="RuleFor"/>; <see cref="ConflictPolicy.None"/> when no rule matches.</summary>
    public ConflictPolicy PolicyFor(string topic) => RuleFor(topic)?.Policy ?? ConflictPolicy.None;
}

/// <summary>The exactly-once rule, shared by the model and the link grain: an exact name, or a valid whole-name expression.</summary>
public static class ExactlyOnceTopics
{
    public static bool Matches(IEnumerable<string> entries, string topic) =>
        entries.Any(e => e == topic || (TopicPattern.IsValid(e, out _) && TopicPattern.IsMatch(e, topic)));
}

/// <param name="Topic">A topic name or a regular expression over whole names.</param>
public sealed record ConflictRule(string Topic, ConflictPolicy Policy)
{
    /// <summary>
    /// Under <see cref="ConflictPolicy.Lww"/>: the record header that carries the application's version of a
    /// write (a 64-bit integer, see <c>Mesh.Core.Conflicts.LwwRule</c>); null orders writes by origin timestamp.
    /// </summary>
    public string? VersionHeader { get; init; }
}

/// <summary>
/// Consumer-group offset settings. The topology schema's replication model needs none of them
/// (offsets translate through the origin vector); they are kept so that an MM2 migration loses
/// nothing the operator configured.
/// </summary>
public sealed record OffsetSettings
{
    /// <summary>MM2 <c>emit.checkpoints.enabled</c>.</summary>
    public bool? Checkpoints { get; init; }

    /// <summary>MM2 <c>sync.group.offsets.enabled</c>.</summary>
    public bool? Sync { get; init; }

    /// <summary>MM2 <c>sync.group.offsets.interval.seconds</c>.</summary>
    public long? IntervalSeconds { get; init; }

    /// <summary>Consumer groups to translate (regular expressions); MM2 <c>groups</c>.</summary>
    public ValueList<string>? Groups { get; init; }

    /// <summary>MM2 <c>groups.exclude</c>.</summary>
    public ValueList<string>? GroupsExclude { get; init; }
}

/// <summary>
/// The <c>backup:</c> section: where the silos archive which topics, and how. Settings left out are
/// null here (so a document round-trips as written); the <c>Effective*</c> properties give the defaults.
/// </summary>
/// <param name="Store">A directory, <c>file:///path</c> or <c>azure://container</c> (see <c>BackupStores.Open</c>).</param>
public sealed record BackupSettings(string Store)
{
    public const long DefaultSegmentBytes = 4 * 1024 * 1024;
    public const long DefaultSegmentSeconds = 10;
    public const long DefaultTakeOverSeconds = 30;
    public const long DefaultGroupIntervalSeconds = 10;

    /// <summary>Topic names or whole-name expressions to back up; null: every topic the mesh replicates.</summary>
    public ValueList<string>? Topics { get; init; }

    /// <summary>Consumer groups (names or expressions) whose positions are kept; null: none.</summary>
    public ValueList<string>? Groups { get; init; }

    /// <summary>A segment closes once it holds this many bytes of raw records.</summary>
    public long? SegmentBytes { get; init; }

    /// <summary>A segment closes at this age even if small.</summary>
    public long? SegmentSeconds { get; init; }

    /// <summary>How long a region waits for another origin's chain to cover records it holds before it backs them up itself.</summary>
    public long? TakeOverSeconds { get; init; }

    public long? GroupIntervalSeconds { get; init; }

    /// <summary>The environment variable holding the base64 AES-256 key; null: segments are not encrypted.</summary>
    public string? EncryptionKeyEnv { get; init; }

    public long EffectiveSegmentBytes => SegmentBytes ?? DefaultSegmentBytes;
    public long EffectiveSegmentSeconds => SegmentSeconds ?? DefaultSegmentSeconds;
    public long EffectiveTakeOverSeconds => TakeOverSeconds ?? DefaultTakeOverSeconds;
    public long EffectiveGroupIntervalSeconds => GroupIntervalSeconds ?? DefaultGroupIntervalSeconds;

    /// <summary>
    /// Whether <paramref name="topic"/> is backed up: named by <see cref="Topics"/> (an exact name or a valid
    /// whole-name expression), or, with no list, replicated by the mesh (<paramref name="replicated"/>). The mesh's
    /// own <c>__</c> topics never are.
    /// </summary>
    public bool Covers(string topic, TopicSelector replicated)
    {
        if (topic.StartsWith("__", StringComparison.Ordinal)) return false;
        return Topics is { } listed ? ExactlyOnceTopics.Matches(listed, topic) : replicated.Matches(topic);
    }

    /// <summary>Whether <paramref name="group"/> is one of the groups whose positions are kept.</summary>
    public bool KeepsGroup(string group) => Groups is { } groups && ExactlyOnceTopics.Matches(groups, group);
}

public enum NamingPolicy
{
    /// <summary>A replicated topic keeps its name in every region.</summary>
    Identity,

    /// <summary>MirrorMaker 2 style: topic T from region S is named <c>S.T</c> at the destination.</summary>
    Prefix,
}

public enum TopologyPattern
{
    /// <summary>Only the links the file lists.</summary>
    Custom,

    /// <summary>The primary replicates to each standby.</summary>
    ActivePassive,

    /// <summary>Two regions replicate to each other.</summary>
    ActiveActive,

    /// <summary>The hub and each spoke replicate to each other; spokes reach each other through the hub.</summary>
    HubSpoke,

    /// <summary>Every region replicates to every other.</summary>
    Mesh,
}

public enum LinkMode
{
    /// <summary>The replicator runs in the destination region and reads the source's Kafka.</summary>
    Pull,

    /// <summary>The replicator runs in the source region and writes to the destination's Kafka.</summary>
    Push,
}

public enum ConflictPolicy
{
    /// <summary>Records apply in arrival order.</summary>
    None,

    /// <summary>
    /// Last writer wins on the record version (origin timestamp, or the application's version header; origin
    /// region as tie-break): every region ends with the same last record per key.
    /// </summary>
    Lww,
}
