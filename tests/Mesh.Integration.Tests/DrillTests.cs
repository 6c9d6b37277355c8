using System.Text.Json;
using Mesh.Client.Local;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// <c>mesh drill</c> end to end through the real command line: a three-region mesh of its own loses
/// a region whole, the group fails over, the region is restarted, rebuilt and audited.
/// </summary>
public sealed class DrillTests
{
    // The rebuild is given 150 s from the restart: with another test running beside it, restarting the silos
    // alone (each waits out its predecessor's claim) took 60 s on two busy cores.
    private static readonly TimeSpan DrillTimeout = TimeSpan.FromMinutes(6);

    // As TestMesh.WithShortTakeOver, for every silo the drill starts (they inherit the command's environment): a
    // survivor's silo that does not stop within its grace when the killed region's Kafka comes back is killed, and
    // its successor waits out its writes (fencing) for 8 s, not 19 s, before the links replicate again.
    private static readonly Dictionary<string, string> ShortTakeOver = new() { [TestMesh.ShortTakeOverVariable] = TestMesh.ShortTakeOverWriteTimeoutMs };

    [Fact]
    public async Task A_drill_loses_nothing_the_survivors_held_and_ends_with_identical_regions()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mesh-tests", $"drill-{Guid.NewGuid():N}"[..14]);
        try
        {
            var result = await MeshProcesses.MeshAsync(DrillTimeout, ShortTakeOver,
                "drill", "--json", "--warmup", "3", "--rate", "20", "--partitions", "2", "--rebuild-timeout", "150", "--dir", dir);
            // Exit 1 with a report is a drill that measured a failure; without one, it could not run: say why.
            Assert.True(result.ExitCode is 0 or 1 && result.Stdout.TrimStart().StartsWith('{'), result.ToString());
            using var document = JsonDocument.Parse(result.Stdout);
            var report = document.RootElement;

            // The drill measured what it says it did.
            Assert.Equal("us-east", report.GetProperty("killed_region").GetString());
            Assert.Equal("eu-west", report.GetProperty("survivor").GetString());
            foreach (var region in new[] { "us-east", "eu-west", "ap-south" })
                Assert.True(report.GetProperty("produced").GetProperty(region).GetInt32() > 0, $"nothing acknowledged in {region}\n{result}");
            Assert.True(report.GetProperty("processed_before_kill").GetInt32() > 0, result.ToString());
            Assert.True(report.GetProperty("rto_seconds").ValueKind == JsonValueKind.Number, $"the group never consumed in the survivor\n{result}");
            Assert.True(report.GetProperty("rpo_records").GetInt32() >= 0);
            Assert.True(report.GetProperty("redelivered").GetInt32() >= 0);

            // What the drill exists to show.
            Assert.True(report.GetProperty("lost").GetInt32() == 0, $"the group lost records the survivor held\n{result}");
            Assert.True(report.GetProperty("identical").GetBoolean(), $"the regions disagree after the drill\n{result}");
            Assert.True(report.GetProperty("rebuilt").GetBoolean(), $"us-east was not rebuilt from its peers\n{result}");
            Assert.True(report.GetProperty("rebuild_seconds").ValueKind == JsonValueKind.Number, result.ToString());
            Assert.Equal(0, result.ExitCode);
        }
        finally
        {
            // The drill stops its regions itself; this is for a drill the timeout cut short.
            await new LocalMesh(dir).DownAsync();
            if (Environment.GetEnvironmentVariable("MESH_KEEP_TEST_DIRS") != "1")
                try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [Theory]
    [InlineData("--regions us-east,eu-west", "at least three regions")]
    [InlineData("--kill mars", "--kill mars: not one of the drill's regions (us-east, eu-west, ap-south)")]
    [InlineData("--rate 0", "--rate must be from 1 to 10000")]
    [InlineData("--warmup 0", "--warmup must be from 1 to 3600")]
    public async Task A_drill_that_cannot_run_says_why_and_exits_2_before_starting_anything(string args, string message)
    {
        var dir = Path.Combine(Path.GetTempPath(), "mesh-tests", $"drill-bad-{Guid.NewGuid():N}"[..18]);
        var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), ["drill", .. args.Split(' '), "--dir", dir]);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.Stderr);
        Assert.False(Directory.Exists(dir), "the drill created its folder although its options were refused");
    }

    [Fact]
    public async Task Local_kill_of_a_whole_region_kills_its_kafka_and_its_silos_and_says_so()
    {
        await using var mesh = TestMesh.InNewFolder("kill-region");
        await mesh.UpAsync(["us-east", "eu-west"], partitions: 1, "orders");

        var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "local", "kill", "us-east", "--dir", mesh.Dir);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Killed us-east's silo (pid", result.Stdout);
        Assert.Contains("and kafka (pid", result.Stdout);
        Assert.False(mesh.Local.IsKafkaRunning("us-east"), "us-east's Kafka still runs");
        Assert.False(mesh.Local.IsSiloRunning("us-east"), "us-east's silo still runs");
        Assert.True(mesh.Local.IsKafkaRunning("eu-west") && mesh.Local.IsSiloRunning("eu-west"), "the kill reached eu-west");

        var again = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "local", "kill", "us-east", "--dir", mesh.Dir);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("Nothing of us-east was running.", again.Stdout);
    }
}
