namespace Mesh.Core.Tests.Topology;

using System.Collections.Immutable;
// Inside the namespace, so that "Topology" names the type rather than the namespace Mesh.Core.Topology.
using Mesh.Core.Topology;
using static TopologyBuilder;

/// <summary>
/// Records produced in every region propagate over the links in a random order: each link is a
/// replicator that reads its source's log from the start and, for each record, asks the forwarding
/// table and the record's hops whether to write it to its destination. Whatever the interleaving,
/// every record must reach exactly the regions it should, once each, and never come back to a
/// region it has been in.
/// </summary>
public sealed class PropagationSimulationTests
{
    private const int Seeds = 250;
    private const int RecordsPerRegion = 4;

    /// <summary>Who should hold a record: every region, or (active-passive) only the primary's records leave their region.</summary>
    public enum Reach
    {
        Everywhere,
        PrimaryOnly,
    }

    public static TheoryData<string, TopologyPattern, string, string?, string?, string, Reach> Topologies => new()
    {
        { "active-passive, primary and two standbys", TopologyPattern.ActivePassive, "dr-1,dr-2,main", "main", null, "", Reach.PrimaryOnly },
        { "hub-spoke, one hub and three spokes", TopologyPattern.HubSpoke, "hq,s1,s2,s3", null, "hq", "", Reach.Everywhere },
        { "mesh of five", TopologyPattern.Mesh, "a,b,c,d,e", null, null, "", Reach.Everywhere },
        { "one-way ring of four", TopologyPattern.Custom, "a,b,c,d", null, null, "a>b b>c c>d d>a", Reach.Everywhere },
        { "active-active pair", TopologyPattern.ActiveActive, "east,west", null, null, "", Reach.Everywhere },
        { "hub-spoke with a spoke shortcut", TopologyPattern.HubSpoke, "hq,s1,s2,s3", null, "hq", "s1>s2", Reach.Everywhere },
    };

    [Theory]
    [MemberData(nameof(Topologies))]
    public void Every_record_reaches_every_region_that_should_have_it_exactly_once(
        string name, TopologyPattern pattern, string regions, string? primary, string? hub, string links, Reach reach)
    {
        var topology = Build(pattern, regions, primary, hub, links);
        for (var seed = 0; seed < Seeds; seed++)
        {
            var result = Simulate(topology, topology.ShouldForward, new Random(seed));
            Assert.True(result.Violations.Count == 0, $"{name}, seed {seed}:\n  " + string.Join("\n  ", result.Violations));

            foreach (var region in topology.Regions.Select(r => r.Id))
            foreach (var origin in topology.Regions.Select(r => r.Id))
            {
                var expected = origin == region || reach == Reach.Everywhere || origin == primary;
                Assert.True(expected == Reachable(topology, origin, region), $"{name}: the links disagree with the expected reach of {origin} at {region}");
                for (var sequence = 0; sequence < RecordsPerRegion; sequence++)
                {
                    var copies = result.Logs[region].Count(r => r.Origin == origin && r.Sequence == sequence);
                    Assert.True(copies == (expected ? 1 : 0),
                        $"{name}, seed {seed}: record {origin}#{sequence} is {copies} times in {region}'s log, expected {(expected ? 1 : 0)}");
                }
            }
        }
    }

    [Fact]
    public void Simulation_detects_loops_and_duplicates_of_a_rule_that_forwards_everything()
    {
        var ring = Build(TopologyPattern.Custom, "a,b,c,d", links: "a>b b>c c>d d>a");
        var mesh = Build(TopologyPattern.Mesh, "a,b,c");

        var ringResult = Simulate(ring, (_, _, _) => true, new Random(1));
        var meshResult = Simulate(mesh, (_, _, _) => true, new Random(1));

        Assert.Contains(ringResult.Violations, v => v.Contains("returns to", StringComparison.Ordinal));
        Assert.Contains(meshResult.Violations, v => v.Contains("returns to", StringComparison.Ordinal));
    }

    [Fact]
    public void Simulation_detects_a_rule_that_forwards_too_little()
    {
        var ring = Build(TopologyPattern.Custom, "a,b,c,d", links: "a>b b>c c>d d>a");

        // The walking mesh's rule: only a link's own source's records. On a ring that strands them one hop out.
        var result = Simulate(ring, (origin, from, _) => origin == from, new Random(1));

        Assert.Equal(1, result.Logs["c"].Count(r => r.Origin == "b" && r.Sequence == 0));
        Assert.Equal(0, result.Logs["c"].Count(r => r.Origin == "a" && r.Sequence == 0));
    }

    private sealed record SimulatedRecord(string Origin, int Sequence, ImmutableArray<string> Hops);

    private sealed record SimulationResult(IReadOnlyDictionary<string, List<SimulatedRecord>> Logs, IReadOnlyList<string> Violations);

    /// <summary>
    /// Interleaves production and delivery at random. A forwarding rule that sends a record to a
    /// region already in its hops is a violation: the runtime would drop it, but a correct table
    /// never asks. Such records are not written, so the run goes on.
    /// </summary>
    private static SimulationResult Simulate(Topology topology, Func<string, string, string, bool> shouldForward, Random random)
    {
        var regions = topology.Regions.Select(r => r.Id).ToArray();
        var logs = regions.ToDictionary(r => r, _ => new List<SimulatedRecord>());
        var produced = regions.ToDictionary(r => r, _ => 0);
        var cursors = topology.Links.ToDictionary(l => (l.From, l.To), _ => 0);
        var violations = new List<string>();

        while (true)
        {
            var producers = regions.Where(r => produced[r] < RecordsPerRegion).ToArray();
            var busyLinks = cursors.Keys.Where(k => cursors[k] < logs[k.From].Count).ToArray();
            var choices = producers.Length + busyLinks.Length;
            if (choices == 0) break;
            if (violations.Count > 20) break;

            var pick = random.Next(choices);
            if (pick < producers.Length)
            {
                var region = producers[pick];
                logs[region].Add(new SimulatedRecord(region, produced[region]++, [region]));
                continue;
            }

            var (from, to) = busyLinks[pick - producers.Length];
            var record = logs[from][cursors[(from, to)]++];
            if (!shouldForward(record.Origin, from, to)) continue;
            if (record.Hops.Contains(to))
            {
                violations.Add($"record {record.Origin}#{record.Sequence} (hops {string.Join(",", record.Hops)}) returns to {to} over {from} -> {to}");
                continue;
            }
            logs[to].Add(record with { Hops = record.Hops.Add(to) });
        }
        return new SimulationResult(logs, violations);
    }

    /// <summary>Reachability over the links, computed without the route table.</summary>
    private static bool Reachable(Topology topology, string origin, string destination)
    {
        var seen = new HashSet<string> { origin };
        var stack = new Stack<string>([origin]);
        while (stack.Count > 0)
        {
            var at = stack.Pop();
            foreach (var link in topology.LinksOutOf(at))
            {
                if (seen.Add(link.To)) stack.Push(link.To);
            }
        }
        return seen.Contains(destination);
    }
}
