namespace Mesh.Core.Tests.Topology;

// Inside the namespace, so that "Topology" names the type rather than the namespace Mesh.Core.Topology.
using Mesh.Core.Topology;
using static TopologyBuilder;

/// <summary>Route changes between links run in different regions, which `mesh topology apply` refuses unless the old link is paused.</summary>
public sealed class RouteMoveTests
{
    private static readonly Topology FullMesh = Build(TopologyPattern.Mesh, "a,b,c");
    private static readonly Topology PullHub = Build(TopologyPattern.HubSpoke, "a,b,c", hub: "a");
    private static readonly Topology PushHub = Build(TopologyPattern.HubSpoke, "a,b,c", hub: "a", links: "a>b:push a>c:push");

    private static string Text(IEnumerable<RouteMove> moves) =>
        string.Join(" ", moves.Select(m => $"{m.Destination}:{m.Origin}:{m.Before.From}>{m.Before.To}@{m.RunsBefore}=>{m.After.From}>{m.After.To}@{m.RunsAfter}"));

    [Fact]
    public void Moves_between_pull_links_stay_in_the_destination_and_are_ordered_there()
    {
        Assert.Empty(RouteMoves.AcrossRegions(FullMesh, PullHub));
        Assert.Empty(RouteMoves.AcrossRegions(PullHub, FullMesh));
    }

    [Fact]
    public void A_route_onto_a_push_link_moves_to_the_source_region()
    {
        // Full mesh -> hub with push links: b's records reach c over a -> c, run in a, instead of b -> c, run in c.
        Assert.Equal("b:a:a>b@b=>a>b@a b:c:c>b@b=>a>b@a c:a:a>c@c=>a>c@a c:b:b>c@c=>a>c@a", Text(RouteMoves.AcrossRegions(FullMesh, PushHub)));
    }

    [Fact]
    public void A_route_off_a_push_link_moves_back_to_the_destination()
    {
        Assert.Equal("b:a:a>b@a=>a>b@b b:c:a>b@a=>c>b@b c:a:a>c@a=>a>c@c c:b:a>c@a=>b>c@c", Text(RouteMoves.AcrossRegions(PushHub, FullMesh)));
        // Same links, same modes: nothing moves.
        Assert.Empty(RouteMoves.AcrossRegions(PushHub, PushHub));
    }

    [Fact]
    public void A_link_that_only_changes_mode_moves_its_origins()
    {
        var pull = Build(TopologyPattern.ActivePassive, "a,b", primary: "a");
        var push = Build(TopologyPattern.ActivePassive, "a,b", primary: "a", links: "a>b:push");
        Assert.Equal("b:a:a>b@b=>a>b@a", Text(RouteMoves.AcrossRegions(pull, push)));
    }

    [Fact]
    public void Prefix_naming_moves_nothing_two_links_could_both_write()
    {
        var before = Topology.FromDocument(Document(TopologyPattern.Mesh, "a,b,c") with { Naming = NamingPolicy.Prefix });
        var after = Topology.FromDocument(Document(TopologyPattern.HubSpoke, "a,b,c", hub: "a", links: "a>b:push a>c:push") with { Naming = NamingPolicy.Prefix });
        Assert.Empty(RouteMoves.AcrossRegions(before, after));
    }

    [Fact]
    public void A_paused_old_link_makes_its_moves_safe_a_paused_topic_does_not()
    {
        var paused = new[] { new RegionRuns("a", PushHub, ["->b", "->c/orders"]), new RegionRuns("b", PushHub, []), new RegionRuns("c", PushHub, []) };
        // a -> b is paused in a (where the push link runs); only some topics of a -> c are.
        Assert.Equal("c:a:a>c@a=>a>c@c c:b:a>c@a=>b>c@c", Text(RouteMoves.Unpaused(paused, FullMesh)));

        var all = new[] { new RegionRuns("a", PushHub, ["->b", "->c"]), new RegionRuns("b", PushHub, []), new RegionRuns("c", PushHub, []) };
        Assert.Empty(RouteMoves.Unpaused(all, FullMesh));
    }

    [Fact]
    public void A_region_that_cannot_be_read_is_taken_to_run_what_the_others_run_unpaused()
    {
        var regions = new[] { new RegionRuns("a", null, []), new RegionRuns("b", PushHub, []), new RegionRuns("c", PushHub, []) };
        Assert.Equal(4, RouteMoves.Unpaused(regions, FullMesh).Count);
        // A region already on the new version moves nothing of its own.
        Assert.Empty(RouteMoves.Unpaused([new RegionRuns("a", FullMesh, []), new RegionRuns("b", PushHub, [])], FullMesh));
    }

    [Fact]
    public void The_refusal_names_destination_origins_both_links_and_the_commands_that_make_it_safe()
    {
        var after = Topology.FromDocument(PushHub.Document with { Version = 2 });
        var lines = RouteMoves.Refusal(RouteMoves.AcrossRegions(FullMesh, after), after, "hub.yaml");
        var text = string.Join("\n", lines);

        Assert.StartsWith("hub.yaml version 2 moves routes between links that run in different regions.", lines[0]);
        Assert.Contains("  into b: the records of c move from c -> b (pull, run in b) to a -> b (push, run in a)", lines);
        Assert.Contains("  into c: the records of a move from a -> c (pull, run in c) to a -> c (push, run in a)", lines);
        Assert.Contains("  mesh link pause c b", lines);
        Assert.Contains("  mesh link pause a b", lines);
        Assert.Contains("  mesh topology apply hub.yaml", lines);
        // c -> b is gone and a -> b runs in a now: the pauses in b go with them, nothing to resume.
        Assert.Contains("  (c -> b is not run in b by version 2: its pause goes with it)", lines);
        Assert.DoesNotContain("mesh link resume", text);
        Assert.Equal("Nothing was applied.", lines[^1]);

        // Back to the full mesh: a -> b stays a link (pulled now), so ...
        var back = Topology.FromDocument(FullMesh.Document with { Version = 3 });
        var backLines = RouteMoves.Refusal(RouteMoves.AcrossRegions(after, back), back, "mesh.yaml");
        Assert.Contains("  into b: the records of c move from a -> b (push, run in a) to c -> b (pull, run in b)", backLines);
        Assert.Contains("  mesh link pause a b", backLines);
        Assert.Contains("  (a -> b is not run in a by version 3: its pause goes with it)", backLines);
    }

    [Fact]
    public void A_narrowed_old_link_that_stays_where_it_runs_is_resumed_after_the_apply()
    {
        // Hub with push links -> a mesh where the hub's links stay push: b's records into c move from a -> c (push, in a)
        // to b -> c (pull, in c); a -> c keeps carrying a's own, still pushed from a.
        var mesh = Topology.FromDocument(Document(TopologyPattern.Mesh, "a,b,c", links: "a>b:push a>c:push") with { Version = 2 });
        var moves = RouteMoves.AcrossRegions(PushHub, mesh);
        Assert.Equal("b:c:a>b@a=>c>b@b c:b:a>c@a=>b>c@c", Text(moves));
        var lines = RouteMoves.Refusal(moves, mesh, "mesh.yaml");
        Assert.Contains("  mesh link resume a b", lines);
        Assert.Contains("  mesh link resume a c", lines);
    }

    [Fact]
    public void A_version_keeps_the_pauses_of_the_links_it_still_runs_in_the_region()
    {
        string[] paused = ["->b", "->c/orders", "b", "c/orders"];
        // In a, under the full mesh (all pull): a -> b and a -> c run in b and c now, so a's push pauses go; a pulls from b and c.
        Assert.Equal(["b", "c/orders"], LinkPause.Kept(paused, FullMesh, "a"));
        // In a, under the push hub: a pushes to b and c, and pulls from b and c.
        Assert.Equal(paused, LinkPause.Kept(paused, PushHub, "a"));
        // A pull link the version drops: b no longer pulls from c under the hub.
        Assert.Equal(["a"], LinkPause.Kept(["a", "c"], PullHub, "b"));
    }
}
