using Mesh.Grains.Ports;
using Mesh.Grains.Tests.Hosting;
using Mesh.Grains.Tests.InMemory;
using Mesh.Grains.Tests.Infrastructure;

namespace Mesh.Grains.Tests;

/// <summary>
/// What a region's topology grain keeps across activations: the version persisted in the region's
/// Kafka, which a silo's topology file replaces only when newer, and a newer version a peer holds,
/// which a region that missed it adopts.
/// </summary>
public sealed class TopologyPersistenceTests(ControlCluster mesh) : IClassFixture<ControlCluster>
{
    [Fact]
    public async Task A_new_activation_runs_the_persisted_version_and_a_startup_file_replaces_it_only_when_newer()
    {
        const string region = "p-a";
        var grain = mesh.Grains.GetGrain<ITopologyGrain>(region);
        var v1 = Documents.Mesh(1, "p-a", "p-b");
        var v2 = Documents.Mesh(2, "p-a", "p-b", "p-c");
        var v3 = Documents.Mesh(3, "p-a", "p-c");

        Assert.Equal(ApplyOutcome.Applied, (await grain.ApplyAsync(new ApplyRequest(v1, 0, false))).Outcome);
        var before = await grain.GetAsync();
        await AssertNewActivationRunsAsync(grain, region, 1, v1, before.AppliedAt);

        Assert.Equal(ApplyOutcome.Applied, (await grain.ApplyAsync(new ApplyRequest(v2, 1, false))).Outcome);
        var applied = await grain.GetAsync();

        // A silo started with an older file (or the same version) keeps what the region runs.
        await grain.EnsureRunningAsync(v1);
        await grain.EnsureRunningAsync(Documents.Of(2, "mesh", ["p-a", "p-b"], name: "same-version"));
        var kept = await grain.GetAsync();
        Assert.Equal((2L, v2, applied.AppliedAt, (string?)null), (kept.Version, kept.Document, kept.AppliedAt, kept.AdoptedFrom));
        Assert.Equal(v2, mesh.World.Topologies[region].Document);

        // A newer file is adopted and persisted, and a new activation runs it.
        await grain.EnsureRunningAsync(v3);
        var adopted = await grain.GetAsync();
        Assert.Equal((3L, v3, (string?)null), (adopted.Version, adopted.Document, adopted.AdoptedFrom));
        Assert.Equal(["p-c->p-a"], adopted.Assignments!.Select(a => GrainKeys.Link(a.Source, a.Destination)));
        Assert.Equal((3L, v3), (mesh.World.Topologies[region].Version, mesh.World.Topologies[region].Document));
        await AssertNewActivationRunsAsync(grain, region, 3, v3, adopted.AppliedAt);
    }

    [Fact]
    public async Task A_region_that_missed_a_version_adopts_it_from_a_peer_within_the_peer_check_interval()
    {
        var v2 = Documents.Mesh(2, "q-a", "q-b");
        var v3 = Documents.Mesh(3, "q-a", "q-b", "q-c");
        var appliedAt = DateTimeOffset.UtcNow.AddMinutes(-1);
        // q-b was given version 3 while q-a was down; q-a comes back on version 2.
        mesh.World.Topologies["q-b"] = new StoredTopology(3, v3, appliedAt, [], null);
        mesh.World.Topologies["q-a"] = new StoredTopology(2, v2, appliedAt, [], null);
        var grain = mesh.Grains.GetGrain<ITopologyGrain>("q-a");
        var started = await grain.GetAsync();
        Assert.True(started.Version is 2 or 3, $"q-a came back on version {started.Version}, expected 2 (or 3 once adopted)");

        var adopted = await Eventually.WaitAsync("q-a to adopt version 3 from q-b", grain.GetAsync, t => t.Version == 3,
            TimeSpan.FromSeconds(60), t => $"version {t.Version}, adopted from {t.AdoptedFrom ?? "nobody"}", mesh.World);
        Assert.Equal((3L, v3, "q-b"), (adopted.Version, adopted.Document, adopted.AdoptedFrom));
        Assert.Equal(["q-b->q-a", "q-c->q-a"], adopted.Assignments!.Select(a => GrainKeys.Link(a.Source, a.Destination)));
        var persisted = mesh.World.Topologies["q-a"];
        Assert.Equal((3L, v3, "q-b"), (persisted.Version, persisted.Document, persisted.AdoptedFrom));
        Assert.Equal(3, mesh.World.Topologies["q-b"].Version);
        Assert.Contains(3L, mesh.World.ConnectionUpdates);
    }

    /// <summary>Deactivates the grain; the next call activates it afresh, which must read the region's persisted topology and run it.</summary>
    private async Task AssertNewActivationRunsAsync(ITopologyGrain grain, string region, long version, string document, DateTimeOffset? appliedAt)
    {
        await mesh.Cluster.DeactivateAsync(grain);
        var mark = mesh.World.Journal.Mark;
        var reactivated = await grain.GetAsync();
        Assert.Contains(mesh.World.Journal.OfType<TopologyRead>(mark), r => r.Region == region && r.ReadBy == region);
        Assert.Equal((version, document, appliedAt), (reactivated.Version, reactivated.Document, reactivated.AppliedAt));
    }
}
