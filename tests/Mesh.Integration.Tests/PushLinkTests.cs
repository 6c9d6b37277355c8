using Mesh.Client.Traffic;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// A push link (the source region's silos write into the destination, for a destination that cannot
/// open connections to the source) replicates exactly like a pull link.
/// </summary>
public sealed class PushLinkTests
{
    [Fact]
    public async Task A_push_link_replicates_exactly_like_a_pull_link_and_runs_in_the_source_region()
    {
        var file = Path.Combine(Path.GetTempPath(), $"mesh-push-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, """
            name: push
            version: 1
            naming: identity
            pattern: custom
            regions:
              dc: {}
              cloud: {}
            links:
              - { from: dc, to: cloud, mode: push }
              - { from: cloud, to: dc }
            """);
        await using var mesh = TestMesh.InNewFolder("push");
        try
        {
            var up = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(4),
                "local", "up", "--topology", file, "--partitions", "2", "--topics", "orders", "--dir", mesh.Dir);
            Assert.True(up.ExitCode == 0, up.ToString());
        }
        finally
        {
            File.Delete(file);
        }

        var produced = new Dictionary<string, int> { ["dc"] = 800, ["cloud"] = 600 };
        await Task.WhenAll(produced.Select(p => Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap(p.Key), p.Key, "orders", p.Value, keys: 30))));
        var check = await mesh.WaitAndCheckAsync("orders", produced, TimeSpan.FromMinutes(2));
        Assert.True(check.Ok, string.Join("\n", check.Problems));
        Assert.All(check.RecordsPerRegion.Values, n => Assert.Equal(1400, n));

        // dc runs the push link (and no inbound link from cloud's point of view); cloud runs nothing from dc.
        var dc = await mesh.StatusAsync("dc");
        var cloud = await mesh.StatusAsync("cloud");
        Assert.Equal(["dc -> cloud"], (dc.PushLinks ?? []).Select(l => $"{l.Source} -> {l.Destination}"));
        Assert.Equal(800, dc.PushLinks!.Single().Topics.Single().RecordsReplicated);
        Assert.Empty(cloud.InboundLinks);
        Assert.Equal(["cloud"], dc.InboundLinks.Select(l => l.Source));
    }
}
