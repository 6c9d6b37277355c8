using Mesh.Grains.Tests.Hosting;
using Mesh.Grains.Tests.Infrastructure;

namespace Mesh.Grains.Tests;

/// <summary>
/// A region's topology grain as a compare-and-set on its version: versions only move forward, the
/// same document again changes nothing, and everything refused (or dry-run) leaves the region, its
/// persisted topology and its links as they were. Each test uses region ids of its own.
/// </summary>
public sealed class TopologyVersionTests(ControlCluster mesh) : IClassFixture<ControlCluster>
{
    [Fact]
    public async Task Versions_move_forward_and_every_refusal_names_the_version_held()
    {
        const string region = "v-a";
        var grain = mesh.Grains.GetGrain<ITopologyGrain>(region);
        var v1 = Documents.Mesh(1, "v-a", "v-b");
        var v2 = Documents.Mesh(2, "v-a", "v-b", "v-c");

        var first = await grain.ApplyAsync(new ApplyRequest(v1, ExpectedVersion: 0, DryRun: false));
        Assert.Equal(new ApplyResult(region, ApplyOutcome.Applied, 0, 1, ["v-b->v-a"], [], [], 0, null).Line(), first.Line());

        var second = await grain.ApplyAsync(new ApplyRequest(v2, ExpectedVersion: 1, DryRun: false));
        Assert.Equal(new ApplyResult(region, ApplyOutcome.Applied, 1, 2, ["v-c->v-a"], [], [], 0, null).Line(), second.Line());
        var applied = await grain.GetAsync();
        Assert.Equal((2L, v2, true), (applied.Version, applied.Document, applied.InTopology));
        Assert.Equal(["v-b->v-a", "v-c->v-a"], applied.Assignments!.Select(a => GrainKeys.Link(a.Source, a.Destination)));
        Assert.Equal(2, mesh.World.Topologies[region].Version);

        var again = await grain.ApplyAsync(new ApplyRequest(v2, ExpectedVersion: null, DryRun: false));
        Assert.Equal(new ApplyResult(region, ApplyOutcome.Unchanged, 2, 2, [], [], [], 0, null).Line(), again.Line());

        var mark = mesh.World.Journal.Mark;
        var older = await grain.ApplyAsync(new ApplyRequest(v1, null, false));
        AssertRefused(older, region, 2, "runs topology version 2 and the file has 1");

        var otherV2 = await grain.ApplyAsync(new ApplyRequest(Documents.Of(2, "mesh", ["v-a", "v-b"], name: "other"), null, false));
        AssertRefused(otherV2, region, 2, "runs topology version 2 and the file has 2");

        var stale = await grain.ApplyAsync(new ApplyRequest(Documents.Mesh(3, "v-a", "v-b"), ExpectedVersion: 1, DryRun: false));
        AssertRefused(stale, region, 2, "holds topology version 2, not 1 as this apply expected");

        var malformed = await grain.ApplyAsync(new ApplyRequest("version: 3\npattern: mesh\nregions:\n  v-a: [x\n  v-b: y\n", null, false));
        AssertRefused(malformed, region, 2, "the topology is invalid: ");
        Assert.Contains("malformed file", malformed.Error);

        var invalid = await grain.ApplyAsync(new ApplyRequest(Documents.HubSpoke(3, "nowhere", "v-a", "v-b"), null, false));
        AssertRefused(invalid, region, 2, "the topology is invalid: ");
        Assert.Contains("hub 'nowhere' is not a region", invalid.Error);

        var prefix = await grain.ApplyAsync(new ApplyRequest(Documents.Of(3, "mesh", ["v-a", "v-b"], naming: "prefix"), null, false));
        AssertRefused(prefix, region, 2, "naming cannot change on a running mesh (it runs 'identity', the file says 'prefix')");

        var dryRun = await grain.ApplyAsync(new ApplyRequest(Documents.Mesh(3, "v-a", "v-c", "v-d"), ExpectedVersion: 2, DryRun: true));
        Assert.Equal(new ApplyResult(region, ApplyOutcome.WouldApply, 2, 2, ["v-d->v-a"], ["v-b->v-a"], [], 0, null).Line(), dryRun.Line());

        // Nothing of the above reached the region: the same version, document and links, nothing persisted.
        var after = await grain.GetAsync();
        Assert.Equal((2L, v2, applied.AppliedAt), (after.Version, after.Document, after.AppliedAt));
        Assert.Equal(applied.Links, after.Links);
        Assert.Equal(v2, mesh.World.Topologies[region].Document);
        Assert.DoesNotContain(mesh.World.Journal.OfType<InMemory.TopologyWritten>(mark), w => w.Region == region);
    }

    [Fact]
    public async Task Of_two_concurrent_applies_of_one_version_exactly_one_is_applied()
    {
        const string region = "cc-a";
        var grain = mesh.Grains.GetGrain<ITopologyGrain>(region);
        var left = Documents.Of(1, "mesh", ["cc-a", "cc-b"], name: "left");
        var right = Documents.Of(1, "mesh", ["cc-a", "cc-c"], name: "right");

        var results = await Task.WhenAll(
            grain.ApplyAsync(new ApplyRequest(left, null, false)),
            grain.ApplyAsync(new ApplyRequest(right, null, false)));
        var (won, lost, winner) = Split(results, left, right);
        Assert.Equal((ApplyOutcome.Applied, 0L, 1L), (won.Outcome, won.VersionBefore, won.VersionAfter));
        AssertRefused(lost, region, 1, "runs topology version 1 and the file has 1");
        Assert.Equal(winner, (await grain.GetAsync()).Document);
        Assert.Equal(winner, mesh.World.Topologies[region].Document);

        // The same race with the compare-and-set the CLI uses: both saw version 1.
        var left2 = Documents.Of(2, "mesh", ["cc-a", "cc-b"], name: "left");
        var right2 = Documents.Of(2, "mesh", ["cc-a", "cc-c"], name: "right");
        results = await Task.WhenAll(
            grain.ApplyAsync(new ApplyRequest(left2, ExpectedVersion: 1, DryRun: false)),
            grain.ApplyAsync(new ApplyRequest(right2, ExpectedVersion: 1, DryRun: false)));
        (won, lost, winner) = Split(results, left2, right2);
        Assert.Equal((ApplyOutcome.Applied, 1L, 2L), (won.Outcome, won.VersionBefore, won.VersionAfter));
        AssertRefused(lost, region, 2, "holds topology version 2, not 1 as this apply expected");
        Assert.Equal(winner, (await grain.GetAsync()).Document);
        Assert.Equal(winner, mesh.World.Topologies[region].Document);
    }

    /// <summary>The applied result, the refused one and the document that won; fails unless exactly one was applied.</summary>
    private static (ApplyResult Won, ApplyResult Lost, string Winner) Split(ApplyResult[] results, string first, string second)
    {
        var outcomes = results.Select(r => r.Outcome).ToArray();
        Assert.True(outcomes.Count(o => o == ApplyOutcome.Applied) == 1 && outcomes.Count(o => o == ApplyOutcome.Refused) == 1,
            $"expected one Applied and one Refused, got {string.Join(" and ", outcomes)} ({string.Join("; ", results.Select(r => r.Error))})");
        var wonAt = Array.FindIndex(results, r => r.Outcome == ApplyOutcome.Applied);
        return (results[wonAt], results[1 - wonAt], wonAt == 0 ? first : second);
    }

    private static void AssertRefused(ApplyResult result, string region, long held, string because)
    {
        Assert.True(result.Outcome == ApplyOutcome.Refused, $"expected Refused ({because}), got {result.Outcome}: {result.Error}");
        Assert.Equal((region, held, held), (result.Region, result.VersionBefore, result.VersionAfter));
        Assert.Equal((0, 0, 0, 0), (result.LinksAdded.Count, result.LinksRemoved.Count, result.LinksChanged.Count, result.PartitionsRestarted));
        Assert.Contains(because, result.Error);
    }
}
