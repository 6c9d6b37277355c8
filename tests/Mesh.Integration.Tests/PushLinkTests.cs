using Mesh.Client.Traffic;
using Mesh.Grains;
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

        // Paused where it runs, in dc: what dc writes meanwhile waits, and arrives once after the resume.
        var pause = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(2), "link", "pause", "dc", "cloud", "--dir", mesh.Dir);
        Assert.True(pause.ExitCode == 0, pause.ToString());
        Assert.All((await mesh.StatusAsync("dc")).PushLinks!.Single().Topics, t => Assert.Equal(ReplicationState.Paused, t.State));
        await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("dc"), "dc-late", "orders", 100, keys: 30);
        await Task.Delay(TimeSpan.FromSeconds(4)); // time enough for a running link to have copied them
        Assert.Equal(1400, mesh.RecordCount("cloud", "orders"));
        var resume = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(2), "link", "resume", "dc", "cloud", "--dir", mesh.Dir);
        Assert.True(resume.ExitCode == 0, resume.ToString());
        await Eventually.WaitAsync("cloud to receive what dc wrote while the link was paused",
            () => Task.FromResult(mesh.RecordCount("cloud", "orders")), n => n >= 1500, TimeSpan.FromMinutes(2), n => $"{n} records");
        var late = TestTraffic.ReadAll(mesh.Local.Bootstrap("cloud"), "orders", TimeSpan.FromSeconds(30)).Where(r => r.Value?.StartsWith("dc-late:") == true).ToList();
        Assert.Equal(100, late.Select(r => r.Value).Distinct().Count());
        Assert.Equal(100, late.Count);
        Assert.Equal(1500, mesh.RecordCount("cloud", "orders"));

        // Version 2 pulls dc -> cloud: dc's records move from a link run in dc to one run in cloud, and neither region can
        // order the other's stop before its own start. Refused, with nothing changed; with the push link paused first, it goes through.
        var pulled = Path.Combine(mesh.Dir, "pulled.yaml");
        await File.WriteAllTextAsync(pulled, """
            name: push
            version: 2
            naming: identity
            pattern: custom
            regions:
              dc: {}
              cloud: {}
            links:
              - { from: dc, to: cloud }
              - { from: cloud, to: dc }
            """);
        var refused = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(2), "topology", "apply", pulled, "--dir", mesh.Dir);
        Assert.True(refused.ExitCode == 2, refused.ToString());
        Assert.Contains("into cloud: the records of dc move from dc -> cloud (push, run in dc) to dc -> cloud (pull, run in cloud)", refused.Stderr);
        Assert.Contains("mesh link pause dc cloud", refused.Stderr);
        Assert.Equal(1, (await mesh.StatusAsync("cloud")).TopologyVersion);
        Assert.Equal(1, (await mesh.StatusAsync("dc")).TopologyVersion);

        var pauseFirst = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(2), "link", "pause", "dc", "cloud", "--dir", mesh.Dir);
        Assert.True(pauseFirst.ExitCode == 0, pauseFirst.ToString());
        var apply = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(2), "topology", "apply", pulled, "--dir", mesh.Dir);
        Assert.True(apply.ExitCode == 0, apply.ToString());
        await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("dc"), "dc-pulled", "orders", 100, keys: 30);
        await Eventually.WaitAsync("cloud to pull what dc wrote after the change",
            () => Task.FromResult(mesh.RecordCount("cloud", "orders")), n => n >= 1600, TimeSpan.FromMinutes(2), n => $"{n} records");
        // The push link's pause went with it (dc runs no push link now): nothing to resume.
        Assert.Empty((await mesh.StatusAsync("dc")).PushLinks ?? []);
        Assert.Equal(["dc"], (await mesh.StatusAsync("cloud")).InboundLinks.Select(l => l.Source));
        var all = TestTraffic.ReadAll(mesh.Local.Bootstrap("cloud"), "orders", TimeSpan.FromSeconds(30));
        Assert.Equal(100, all.Count(r => r.Value?.StartsWith("dc-pulled:") == true));
        Assert.Equal(1600, all.Select(r => r.Value).Distinct().Count());
        Assert.Equal(1600, mesh.RecordCount("cloud", "orders"));
    }
}
