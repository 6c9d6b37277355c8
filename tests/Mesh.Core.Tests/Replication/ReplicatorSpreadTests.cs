using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Replication;

/// <summary>The spread rule: every silo within one replicator of every other, with the fewest moves, each link spread too.</summary>
public sealed class ReplicatorSpreadTests
{
    private static List<ReplicatorPlacement> Placements(params (string Silo, string Link, int Count)[] runs) =>
        [.. runs.SelectMany(r => Enumerable.Range(0, r.Count).Select(i => new ReplicatorPlacement($"{r.Link}|orders|{r.Silo}-{i}", $"{r.Link}|orders", r.Silo)))];

    public static TheoryData<string, string[], (string, string, int)[], int, int[]> Cases => new()
    {
        // name, silos, placements, expected moves, expected counts per silo (in silo order)
        { "even already", ["a", "b", "c"], [("a", "x", 8), ("b", "x", 8), ("c", "x", 8)], 0, [8, 8, 8] },
        { "within one is even", ["a", "b", "c"], [("a", "x", 9), ("b", "x", 8), ("c", "x", 8)], 0, [9, 8, 8] },
        { "two apart", ["a", "b", "c"], [("a", "x", 9), ("b", "x", 8), ("c", "x", 7)], 1, [8, 8, 8] },
        { "random start", ["a", "b", "c"], [("a", "x", 6), ("b", "x", 10), ("c", "x", 8)], 2, [8, 8, 8] },
        { "a silo joins", ["a", "b", "c", "d"], [("a", "x", 8), ("b", "x", 8), ("c", "x", 8)], 6, [6, 6, 6, 6] },
        { "two links, one silo joins", ["a", "b", "c"], [("a", "x", 12), ("a", "y", 12), ("b", "x", 12), ("b", "y", 12)], 16, [16, 16, 16] },
        { "one silo left", ["a"], [("a", "x", 24)], 0, [24] },
    };

    [Theory, MemberData(nameof(Cases))]
    public void Plans_the_fewest_moves_to_an_even_spread(string name, string[] silos, (string, string, int)[] runs, int moves, int[] counts)
    {
        var placements = Placements(runs);
        var plan = ReplicatorSpread.Plan(silos, placements);
        Assert.True(moves == plan.Count, $"{name}: {plan.Count} moves, expected {moves}");
        var after = ReplicatorSpread.Counts(silos, placements, plan);
        Assert.Equal(counts, silos.Select(s => after[s]).ToArray());
        Assert.All(plan, m => Assert.Contains(placements, p => p.Key == m.Key && p.Silo == m.From));
        Assert.Equal(plan.Count, plan.Select(m => m.Key).Distinct().Count());
    }

    [Fact]
    public void A_joining_silo_takes_a_share_of_each_link()
    {
        var placements = Placements(("a", "x", 12), ("a", "y", 12), ("b", "x", 12), ("b", "y", 12));
        var plan = ReplicatorSpread.Plan(["a", "b", "c"], placements);
        var onC = plan.Where(m => m.To == "c").Select(m => placements.Single(p => p.Key == m.Key).Group).ToList();
        Assert.Equal(8, onC.Count(g => g == "x|orders"));
        Assert.Equal(8, onC.Count(g => g == "y|orders"));
    }

    [Fact]
    public void Nothing_moves_while_a_replicator_is_on_a_silo_that_is_not_live()
    {
        var placements = Placements(("a", "x", 10), ("b", "x", 2), ("dead", "x", 4));
        Assert.Empty(ReplicatorSpread.Plan(["a", "b"], placements));
    }
}
