using System.Text.Json.Nodes;
using Mesh.Client.Commands;
using Mesh.Client.Local;
using Mesh.Client.Ui;
using Mesh.Grains;

namespace Mesh.Integration.Tests;

/// <summary>The pure parts of <c>mesh ui</c>: states, the history ring, the token check, the listen address, rates and silent links.</summary>
public sealed class UiPartsTests
{
    [Theory]
    [InlineData("up", 1, 1, true, "up")]
    [InlineData("up", 1, 2, true, "degraded")]
    [InlineData("up", 0, 1, false, "down")] // no silo runs (a local mesh knows)
    [InlineData("up", 0, 0, false, "unreachable")] // silo count unknown (gateways): it just does not answer
    [InlineData("up", 1, 1, false, "unreachable")]
    [InlineData("down", 1, 1, true, "down")]
    [InlineData("down", 0, 1, false, "down")]
    // The states status reports from what the silos see of their brokers pass through.
    [InlineData("degraded", 1, 1, true, "degraded")]
    [InlineData("unreachable", 1, 1, true, "unreachable")]
    [InlineData("sideways", 1, 1, true, "sideways")]
    public void A_region_state_comes_from_its_kafka_silos_and_reachability(string kafka, int silosUp, int silos, bool reachable, string expected) =>
        Assert.Equal(expected, MeshStates.Region(new JsonObject { ["kafka"] = kafka, ["silosUp"] = silosUp, ["silos"] = silos, ["reachable"] = reachable }));

    [Theory]
    [InlineData("up", 1, true, "up")]
    [InlineData("down", 1, false, "down")]
    [InlineData("up", 0, false, MeshStates.NotKnown)] // through gateways: a region that does not answer says nothing of its Kafka
    [InlineData("degraded", 2, true, "degraded")]
    public void Kafka_is_not_known_for_a_silent_region_whose_silos_were_not_counted(string kafka, int silos, bool reachable, string expected) =>
        Assert.Equal(expected, MeshStates.Kafka(new JsonObject { ["kafka"] = kafka, ["silosUp"] = 0, ["silos"] = silos, ["reachable"] = reachable }));

    [Theory]
    [InlineData("replicating,replicating", "replicating")]
    [InlineData("replicating,paused", "paused")]
    [InlineData("paused,starting", "starting")]
    [InlineData("starting,waiting,replicating", "waiting")]
    [InlineData("waiting,stopped", "stopped")]
    [InlineData("replicating,rebalancing", "rebalancing")] // a state the page does not know ranks between waiting and starting
    [InlineData("waiting,rebalancing", "waiting")]
    public void A_link_shows_its_worst_topic(string topicStates, string expected)
    {
        var link = new JsonObject { ["topics"] = new JsonArray([.. topicStates.Split(',').Select(s => (JsonNode)new JsonObject { ["state"] = s })]) };
        Assert.Equal(expected, MeshStates.Link(link));
    }

    [Fact]
    public void A_link_without_topics_is_starting_or_stopped_by_its_error()
    {
        Assert.Equal("starting", MeshStates.Link(new JsonObject { ["topics"] = new JsonArray(), ["error"] = null }));
        Assert.Equal("stopped", MeshStates.Link(new JsonObject { ["topics"] = new JsonArray(), ["error"] = "boom" }));
    }

    [Fact]
    public void The_ring_keeps_the_newest_items_oldest_first()
    {
        var ring = new SeriesRing<int>(3);
        Assert.Empty(ring.ToList());
        Assert.Equal(0, ring.Latest);
        ring.Add(1);
        ring.Add(2);
        Assert.Equal([1, 2], ring.ToList());
        for (var i = 3; i <= 7; i++) ring.Add(i);
        Assert.Equal([5, 6, 7], ring.ToList());
        Assert.Equal(7, ring.Latest);
        Assert.Equal(3, ring.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SeriesRing<int>(0));
    }

    [Theory]
    [InlineData(null, null, null, null, TokenGate.Verdict.Allowed)]
    [InlineData("", null, null, null, TokenGate.Verdict.Allowed)]
    [InlineData("t0k", null, null, null, TokenGate.Verdict.Refused)]
    [InlineData("t0k", "Bearer t0k", null, null, TokenGate.Verdict.Allowed)]
    [InlineData("t0k", "bearer t0k", null, null, TokenGate.Verdict.Allowed)]
    [InlineData("t0k", "Bearer t0", null, null, TokenGate.Verdict.Refused)]
    [InlineData("t0k", "Basic t0k", null, null, TokenGate.Verdict.Refused)]
    [InlineData("t0k", "t0k", null, null, TokenGate.Verdict.Refused)]
    [InlineData("t0k", null, null, "t0k", TokenGate.Verdict.Allowed)]
    [InlineData("t0k", null, null, "T0K", TokenGate.Verdict.Refused)]
    [InlineData("t0k", null, "t0k", null, TokenGate.Verdict.AllowedSetCookie)]
    [InlineData("t0k", null, "t0k!", null, TokenGate.Verdict.Refused)]
    [InlineData("t0k", "Bearer wrong", "t0k", null, TokenGate.Verdict.AllowedSetCookie)]
    public void The_token_is_needed_once_one_is_set(string? expected, string? authorization, string? query, string? cookie, TokenGate.Verdict verdict) =>
        Assert.Equal(verdict, TokenGate.Check(expected, authorization, query, cookie));

    [Theory]
    [InlineData("127.0.0.1:8080", true, 8080)]
    [InlineData("localhost:0", true, 0)]
    [InlineData("[::1]:9000", true, 9000)]
    [InlineData("0.0.0.0:8080", false, 8080)]
    [InlineData("[::]:8080", false, 8080)]
    [InlineData("10.1.2.3:80", false, 80)]
    public void A_listen_address_knows_whether_it_is_loopback(string value, bool loopback, int port)
    {
        var address = ListenAddress.Parse(value);
        Assert.Equal(loopback, address.IsLoopback);
        Assert.Equal(port, address.EndPoint.Port);
    }

    [Theory]
    [InlineData("8080")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:http")]
    [InlineData("127.0.0.1:70000")]
    [InlineData("example.com:8080")]
    public void A_bad_listen_address_is_refused_with_exit_code_2(string value) =>
        Assert.Equal(2, Assert.Throws<MeshCommandException>(() => ListenAddress.Parse(value)).ExitCode);

    [Fact]
    public void Rates_come_from_successive_polls_and_a_link_no_longer_reported_is_unknown()
    {
        var monitor = new MeshMonitor(_ => throw new NotSupportedException(), "test", TimeSpan.FromSeconds(2));
        var start = DateTimeOffset.Parse("2026-12-04T00:00:00Z");
        monitor.Record(Status(("a", 100, 5), ("b", 10, null)), start, TimeSpan.Zero);
        monitor.Record(Status(("a", 300, 0), ("b", 4, null)), start.AddSeconds(2), TimeSpan.Zero);

        var links = View(monitor)["links"]!.AsArray().ToDictionary(l => l!["link"]!.GetValue<string>());
        Assert.Equal(100.0, links["a->x"]!["recordsPerSecond"]!.GetValue<double>());
        Assert.Equal(0L, links["a->x"]!["lagRecords"]!.GetValue<long>());
        // A replicator that restarted counts from zero again: no negative rate.
        Assert.Equal(0.0, links["b->x"]!["recordsPerSecond"]!.GetValue<double>());
        Assert.Null(links["b->x"]!["lagRecords"]);
        var history = View(monitor)["history"]!;
        Assert.Equal(2, history["at"]!.AsArray().Count);
        Assert.Null(history["links"]!["a->x"]!["recordsPerSecond"]![0]);
        Assert.Equal(5L, history["links"]!["a->x"]!["lagRecords"]![0]!.GetValue<long>());

        // x stops answering: its links are kept, as unknown, with why.
        monitor.Record(StatusCommand.ToJson([new StatusCommand.RegionReport("x", true, 0, 1, false, "no silo is running", [])]), start.AddSeconds(4), TimeSpan.Zero);
        var view = View(monitor);
        Assert.Equal("down", view["regions"]![0]!["state"]!.GetValue<string>());
        Assert.All(view["links"]!.AsArray(), l =>
        {
            Assert.Equal(MeshStates.Unknown, l!["state"]!.GetValue<string>());
            Assert.Contains("x is down", l["error"]!.GetValue<string>());
        });
        Assert.Equal(monitor.StatusJson, StatusCommand.ToJson([new StatusCommand.RegionReport("x", true, 0, 1, false, "no silo is running", [])]));
    }

    private static JsonNode View(MeshMonitor monitor) => JsonNode.Parse(monitor.ViewJson!)!;

    /// <summary>Region x, reached, with a link from each source carrying one topic.</summary>
    private static string Status(params (string Source, long Replicated, long? Lag)[] links) =>
        StatusCommand.ToJson([new StatusCommand.RegionReport("x", true, 1, 1, true, null,
            [.. links.Select(l => new LinkStatus(l.Source, "x", [new TopicLinkStatus("t", ReplicationState.Replicating, 1, l.Replicated, l.Lag, null, null, [])], null, null))])]);
}
