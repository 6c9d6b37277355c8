namespace Mesh.Core.Topology;

/// <summary>
/// Topic names across regions. Identity naming keeps names. Prefix naming follows MirrorMaker 2's
/// default replication policy: topic T replicated from region S is named <c>S.T</c>, and a topic
/// whose name already carries the target's prefix anywhere in its chain (<c>eu.us.T</c> going to
/// <c>us</c>) came from the target and is not replicated back (MM2's cycle rule).
/// </summary>
public static class TopicNaming
{
    public const char Separator = '.';

    /// <summary>Topics starting with this belong to Kafka or to Mesh itself and are never replicated.</summary>
    public const string InternalPrefix = "__";

    public static string RemoteTopicName(NamingPolicy naming, string sourceRegion, string topic) =>
        naming == NamingPolicy.Prefix ? sourceRegion + Separator + topic : topic;

    /// <summary>
    /// True when a prefix-named <paramref name="topic"/> has <paramref name="targetRegion"/> among
    /// its source prefixes: every dot-separated segment but the last counts, as in MM2.
    /// </summary>
    public static bool IsCycle(string topic, string targetRegion)
    {
        var segments = topic.Split(Separator);
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
    public static string NameAlongRoute(NamingPolicy naming, Route route, string topic) => NameAlongHops(naming, route.Path, topic);

    /// <summary>
    /// The name that <paramref name="originTopic"/> has in the last of <paramref name="hops"/> (the origin
    /// first): under prefix naming every hop but the last adds its region as a prefix, so hops
    /// <c>[x, s]</c> and <c>t</c> give <c>x.t</c> at <c>s</c>.
    /// </summary>
    public static string NameAlongHops(NamingPolicy naming, IReadOnlyList<string> hops, string originTopic)
    {
        if (naming == NamingPolicy.Identity) return originTopic;
        var name = originTopic;
        for (var i = 0; i < hops.Count - 1; i++) name = RemoteTopicName(naming, hops[i], name);
        return name;
    }
}
