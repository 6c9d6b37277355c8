using System.Text.Json;
using Mesh.Client.Admin;
using Mesh.Client.Commands;
using Mesh.Core.Topology;
using Mesh.Grains;

namespace Mesh.Integration.Tests;

/// <summary>
/// What `mesh status`, `mesh topology get` and `mesh topology apply` print from the regions' answers, with plain report
/// objects: no Kafka, no processes (a region on an older version is a window of a few seconds in a running mesh: it
/// adopts the newer one from its peers). They live here because only this test project references the client.
/// </summary>
public sealed class TopologyReportingTests
{
    private const string Hub = """
        name: hub
        version: 3
        pattern: hub-spoke
        hub: eu
        regions:
          eu: { kafka: { bootstrap.servers: "eu:9092" } }
          us: { kafka: { bootstrap.servers: "us:9092" } }
        """;

    private static readonly Topology HubV3 = Topology.Load(Hub, "hub.yaml").Topology!;

    private static AppliedTopology Applied(string region, long version, string document = "", string name = "hub") =>
        new(region, version, name, document, DateTimeOffset.UnixEpoch, true, [], []);

    private static StatusCommand.RegionReport Report(string region, long version, bool reachable = true) =>
        new(region, true, reachable ? 1 : 0, 1, reachable, reachable ? null : "no silo is running", [], version, "hub");

    private static JsonElement Region(JsonDocument json, string region) =>
        json.RootElement.GetProperty("regions").EnumerateArray().Single(r => r.GetProperty("region").GetString() == region);

    [Fact]
    public void Status_flags_a_region_on_an_older_topology_version_and_exits_3()
    {
        IReadOnlyList<StatusCommand.RegionReport> reports = [Report("eu", 3), Report("us", 2)];
        Assert.Equal(3, StatusCommand.ExitCode(reports));
        using var json = JsonDocument.Parse(StatusCommand.ToJson(reports));
        Assert.Equal(3, json.RootElement.GetProperty("newestTopologyVersion").GetInt64());
        Assert.Equal(2, Region(json, "us").GetProperty("topologyVersion").GetInt64());
        Assert.Equal("runs version 2; the others run 3: it adopts the newer version from its peers", Region(json, "us").GetProperty("topologyNote").GetString());
        Assert.Equal(JsonValueKind.Null, Region(json, "eu").GetProperty("topologyNote").ValueKind);

        // Once it has caught up, nothing is flagged.
        IReadOnlyList<StatusCommand.RegionReport> caughtUp = [Report("eu", 3), Report("us", 3)];
        Assert.Equal(0, StatusCommand.ExitCode(caughtUp));
        using var after = JsonDocument.Parse(StatusCommand.ToJson(caughtUp));
        Assert.All(after.RootElement.GetProperty("regions").EnumerateArray(), r => Assert.Equal(JsonValueKind.Null, r.GetProperty("topologyNote").ValueKind));

        // A region that cannot be reached has no known version (null), and is not "behind".
        using var down = JsonDocument.Parse(StatusCommand.ToJson([Report("eu", 3), Report("us", 0, reachable: false)]));
        Assert.Equal(JsonValueKind.Null, Region(down, "us").GetProperty("topologyVersion").ValueKind);
        Assert.Equal(JsonValueKind.Null, Region(down, "us").GetProperty("topologyNote").ValueKind);
    }

    [Fact]
    public void Topology_get_flags_a_region_on_an_older_version_and_shows_an_unreachable_one_without_a_version()
    {
        using var json = JsonDocument.Parse(TopologyCommand.GetJson(
        [
            new RegionTopology("ap", null, "connection refused"),
            new RegionTopology("eu", Applied("eu", 3), null),
            new RegionTopology("us", Applied("us", 2), null),
        ]));
        Assert.Equal(3, json.RootElement.GetProperty("newestVersion").GetInt64());
        var us = Region(json, "us");
        Assert.True(us.GetProperty("behind").GetBoolean());
        Assert.Equal("runs version 2; the others run 3: it adopts the newer version from its peers", us.GetProperty("note").GetString());
        Assert.False(Region(json, "eu").GetProperty("behind").GetBoolean());
        var ap = Region(json, "ap");
        Assert.False(ap.GetProperty("reachable").GetBoolean());
        Assert.Equal(JsonValueKind.Null, ap.GetProperty("version").ValueKind);
        Assert.False(ap.GetProperty("behind").GetBoolean());
    }

    [Fact]
    public void Apply_shows_the_version_of_a_region_it_could_not_read_as_unknown()
    {
        var unreachable = RegionApplyReport.Untouched("us", RolloutOutcomes.Unreachable, null, "connection refused");
        Assert.Equal("version unknown, connection refused", TopologyCommand.ApplyLine(unreachable));

        var result = new RolloutResult(3, 3, "hub", false, [unreachable], [], [], TimeSpan.FromSeconds(1));
        using var json = JsonDocument.Parse(TopologyCommand.ApplyJson(result));
        var us = json.RootElement.GetProperty("regions")[0];
        Assert.Equal(JsonValueKind.Null, us.GetProperty("versionBefore").ValueKind);
        Assert.Equal(JsonValueKind.Null, us.GetProperty("versionAfter").ValueKind);
    }

    [Fact]
    public void A_region_whose_apply_call_failed_is_reported_by_what_it_runs_when_read_again()
    {
        var failed = new RegionApplyReport("eu", RolloutOutcomes.Unreachable, 2, null, [], [], [], 0, "timed out", TimeSpan.Zero, Coordinator: true);

        // It took the new version (the answer was lost on the way back).
        var took = TopologyRollout.AfterFailedCall(failed, HubV3, Applied("eu", 3, Hub));
        Assert.Equal((RolloutOutcomes.Applied, 2L, 3L), (took.Outcome, took.VersionBefore, took.VersionAfter));
        Assert.Equal("version 2 -> 3, applied first, the call failed (timed out), but read again it runs version 3", TopologyCommand.ApplyLine(took));

        // It did not: still on the version it ran.
        var kept = TopologyRollout.AfterFailedCall(failed, HubV3, Applied("eu", 2, Hub.Replace("version: 3", "version: 2", StringComparison.Ordinal)));
        Assert.Equal((RolloutOutcomes.Unreachable, 2L, 2L), (kept.Outcome, kept.VersionBefore, kept.VersionAfter));
        Assert.Equal("version 2, asked first, timed out; read again, it still runs version 2", TopologyCommand.ApplyLine(kept));

        // It does not answer again: what it runs now is not known.
        var lost = TopologyRollout.AfterFailedCall(failed, HubV3, null);
        Assert.Equal((RolloutOutcomes.Unreachable, 2L, (long?)null), (lost.Outcome, lost.VersionBefore, lost.VersionAfter));
        Assert.Equal("version 2 -> unknown, asked first, timed out", TopologyCommand.ApplyLine(lost));
    }
}
