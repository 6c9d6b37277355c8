namespace Mesh.Core.Topology;

/// <summary>
/// Topic names across regions. Identity naming keeps names. Prefix naming follows MirrorMaker 2's
/// default replication policy: topic T replicated from region S is named <c>S.T</c>, and a topic
/// whose name already carries the target's prefix anywhere in its chain (<c>eu.us.T</c> going to
/// <c>us</c>) came from the target and is not replicated back (MM2's cycle rule). The separator is <c>.</c> unless the
/// topology sets another (MM2's <c>replication.policy.separator</c>).
/// </summary>
public static class TopicNaming
{
    public const char Separator = '.';

    /// <summary>Prefix naming's separator unless the topology sets another.</summary>
    public const string DefaultSeparator = ".";

    /// <summary>Topics starting with this belong to Kafka or to Mesh itself and are never replicated.</summary>
    public const string InternalPrefix = "__";

    public static string RemoteTopicName(NamingPolicy naming, string sourceRegion, string topic, string separator = DefaultSeparator) =>
        naming == NamingPolicy.Prefix ? sourceRegion + separator + topic : topic;

    /// <summary>
    /// True when a prefix-named <paramref name="topic"/> has <paramref name="targetRegion"/> among
    /// its source prefixes: every separated segment but the last counts, as in MM2.
    /// </summary>
    public static bool IsCycle(string topic, string targetRegion, string separator = DefaultSeparator)
    {
        var segments = topic.Split(separator);
        for (var i = 0; i < segments.Length - 1; i++)
        {
            if (segments[i] == targetRegion) return true;
        }
        return false;
    }

    public static bool IsInternal(string topic) => topic.StartsWith(InternalPrefix, StringComparison.Ordinal);

    /// <summary>
    /// The name that <paramref name="topic"/>, produced at the route's origin, has when it reaches
    /// the route's destination: under prefix naming every hop adds its source's prefix.
    /// </summary>
    public static string NameAlongRoute(NamingPolicy naming, Route route, string topic, string separator = DefaultSeparator) =>
        NameAlongHops(naming, route.Path, topic, separator);

    /// <summary>
    /// The name that <paramref name="originTopic"/> has in the last of <paramref name="hops"/> (the origin
    /// first): under prefix naming every hop but the last adds its region as a prefix, so hops
    /// <c>[x, s]</c> and <c>t</c> give <c>x.t</c> at <c>s</c>.
    /// </summary>
    public static string NameAlongHops(NamingPolicy naming, IReadOnlyList<string> hops, string originTopic, string separator = DefaultSeparator)
    {
        if (naming == NamingPolicy.Identity) return originTopic;
        var name = originTopic;
        for (var i = 0; i < hops.Count - 1; i++) name = RemoteTopicName(naming, hops[i], name, separator);
        return name;
    }
}
