using Mesh.Client.Local;
using Mesh.Core.Replication;
using Mesh.Core.Topology;

namespace Mesh.Client.Audit;

/// <summary>One region's copy of an audited topic: its name there, and its partition count (0: the region lacks it).</summary>
public sealed record AuditMember(string Region, string Topic, int Partitions);

/// <summary>
/// One thing to compare: the copies of a topic in the regions that should hold it. Under identity
/// naming, a topic and every region's copy of it; under prefix naming, a topic <c>T</c> of one
/// origin region and its remote copies (<c>origin.T</c>, longer along routes of several hops).
/// </summary>
/// <param name="Topic">The topic as named where it is produced.</param>
/// <param name="Origin">Prefix naming: the region whose topic this is; null under identity naming.</param>
/// <param name="Expects">Whether records that originated in the first region should be in the second.</param>
public sealed record AuditSubject(string Topic, string? Origin, ConflictPolicy Policy, IReadOnlyList<AuditMember> Members, Func<string, string, bool> Expects)
{
    public int Partitions => Members.Max(m => m.Partitions);

    public string Label => Origin is null ? Topic : $"{Topic} of {Origin}";
}

/// <summary>
/// Decides what to compare from the topics each region holds and, when known, the topology (routes,
/// topic selection per link, naming, conflict policies). Pure.
/// </summary>
public static class AuditPlan
{
    /// <param name="topics">Per audited region, its topics and their partition counts.</param>
    /// <param name="requested">Topics the operator named; empty for every topic.</param>
    /// <exception cref="MeshCommandException">A named topic is internal or no region holds it (exit code 2).</exception>
    public static IReadOnlyList<AuditSubject> Build(IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> topics, Topology? topology,
        IReadOnlyList<string> requested)
    {
        foreach (var topic in requested.Where(TopicFilter.IsInternal))
            throw new MeshCommandException($"--topic: '{topic}' is an internal topic ('__' prefix); the mesh never replicates those, so there is nothing to compare.", 2);
        return topology?.Naming == NamingPolicy.Prefix ? Prefixed(topics, topology, requested) : Identity(topics, topology, requested);
    }

    private static List<AuditSubject> Identity(IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> topics, Topology? topology, IReadOnlyList<string> requested)
    {
        var held = topics.Values.SelectMany(t => t.Keys).Where(t => !TopicFilter.IsInternal(t)).ToHashSet(StringComparer.Ordinal);
        Unknown(requested.Where(t => !held.Contains(t)), topics, held);
        var subjects = new List<AuditSubject>();
        foreach (var topic in (requested.Count > 0 ? requested.Distinct() : held).Order(StringComparer.Ordinal))
        {
            var holders = topics.Where(r => r.Value.ContainsKey(topic)).Select(r => r.Key).ToList();
            bool Expects(string origin, string region) => topology is null || Reaches(topology, origin, region, topic);
            // Without a topology a region that lacks the topic is not known to need it; with one, it
            // is compared (as empty) when some region holding the topic reaches it.
            var members = topics
                .Where(r => r.Value.ContainsKey(topic) || (topology is not null && holders.Any(h => Expects(h, r.Key))))
                .Select(r => new AuditMember(r.Key, topic, r.Value.GetValueOrDefault(topic)))
                .OrderBy(m => m.Region, StringComparer.Ordinal)
                .ToList();
            subjects.Add(new AuditSubject(topic, null, topology?.ConflictPolicyFor(topic) ?? ConflictPolicy.None, members, Expects));
        }
        return subjects;
    }

    private static List<AuditSubject> Prefixed(IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> topics, Topology topology, IReadOnlyList<string> requested)
    {
        // A topic named after a region ('us-east.orders') is a remote copy: it is audited with its origin's topic.
        bool IsRemoteCopy(string topic) => topic.IndexOf(topology.Separator, StringComparison.Ordinal) is > 0 and var at && topology.HasRegion(topic[..at]);
        var local = topics.ToDictionary(r => r.Key, r => r.Value.Keys.Where(t => !TopicFilter.IsInternal(t) && !IsRemoteCopy(t)).ToHashSet(StringComparer.Ordinal));
        var held = local.Values.SelectMany(t => t).ToHashSet(StringComparer.Ordinal);
        Unknown(requested.Where(t => !held.Contains(t)), topics, held);
        var subjects = new List<AuditSubject>();
        foreach (var topic in (requested.Count > 0 ? requested.Distinct() : held).Order(StringComparer.Ordinal))
        {
            foreach (var origin in local.Where(r => r.Value.Contains(topic)).Select(r => r.Key).Order(StringComparer.Ordinal))
            {
                var members = new List<AuditMember> { new(origin, topic, topics[origin][topic]) };
                foreach (var region in topics.Keys.Where(r => r != origin && Reaches(topology, origin, r, topic)).Order(StringComparer.Ordinal))
                {
                    var name = TopicNaming.NameAlongRoute(NamingPolicy.Prefix, topology.FindRoute(origin, region)!, topic, topology.Separator);
                    members.Add(new AuditMember(region, name, topics[region].GetValueOrDefault(name)));
                }
                // Only the origin's records belong in these copies; anything else written into them is that region's own business.
                subjects.Add(new AuditSubject(topic, origin, topology.ConflictPolicyFor(topic), members,
                    (from, to) => from == origin && Reaches(topology, origin, to, topic)));
            }
        }
        return subjects;
    }

    /// <summary>
    /// Whether <paramref name="origin"/>'s records of <paramref name="topic"/> reach <paramref name="region"/>:
    /// a route joins them and every link on it carries the topic (as named at that hop). An origin the
    /// topology does not know (a region removed since) is expected everywhere: better a question than a miss.
    /// </summary>
    public static bool Reaches(Topology topology, string origin, string region, string topic)
    {
        if (origin == region || !topology.HasRegion(origin) || !topology.HasRegion(region)) return true;
        if (topology.FindRoute(origin, region) is not { } route) return false;
        for (var hop = 0; hop < route.Path.Count - 1; hop++)
        {
            var name = TopicNaming.NameAlongHops(topology.Naming, [.. route.Path.Take(hop + 1)], topic, topology.Separator);
            if (!topology.IsReplicable(name, route.Path[hop], route.Path[hop + 1])) return false;
        }
        return true;
    }

    private static void Unknown(IEnumerable<string> unknown, IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> topics, HashSet<string> held)
    {
        var missing = unknown.ToList();
        if (missing.Count == 0) return;
        throw new MeshCommandException($"--topic: no region holds {string.Join(", ", missing.Select(t => $"'{t}'"))} " +
            $"(looked in {string.Join(", ", topics.Keys.Order(StringComparer.Ordinal))}; topics there: " +
            $"{(held.Count == 0 ? "none" : string.Join(", ", held.Order(StringComparer.Ordinal)))}).", 2);
    }
}
