using Mesh.Core.Health;
using Mesh.Kafka.Clients;

namespace Mesh.Core.Tests.Health;

public sealed class KafkaReachabilityTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 4, 2, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(true, 3, 3, KafkaReach.Up)]
    [InlineData(true, 3, 2, KafkaReach.Degraded)]
    [InlineData(true, 3, 1, KafkaReach.Degraded)]
    [InlineData(true, 3, 0, KafkaReach.Unreachable)]
    [InlineData(true, 1, 1, KafkaReach.Up)]
    [InlineData(true, 0, 0, KafkaReach.Up)]          // answered, named no broker: the answer is what counts
    [InlineData(false, 3, 3, KafkaReach.Unreachable)] // metadata did not come back: whatever the connections say
    [InlineData(false, 0, 0, KafkaReach.Unreachable)]
    public void Classify(bool answered, int brokers, int up, KafkaReach expected) =>
        Assert.Equal(expected, KafkaReachability.Classify(answered, brokers, up));

    [Theory]
    [InlineData("UP", true)]
    [InlineData("UPDATE", true)]
    [InlineData("INIT", true)]
    [InlineData("DOWN", false)]
    [InlineData("CONNECT", false)]
    [InlineData("TRY_CONNECT", false)]
    [InlineData("APIVERSION_QUERY", false)]
    [InlineData(null, true)] // named by the metadata, no statistics yet: a client just made
    public void A_broker_answers_only_when_its_statistics_say_connected(string? state, bool answers) =>
        Assert.Equal(answers, KafkaReachability.BrokerAnswers(state));

    [Fact]
    public void Since_moves_only_when_the_state_changes()
    {
        var first = ClusterReachability.First("r1", KafkaReach.Up, 3, 3, null, T0);
        var same = first.Next(KafkaReach.Up, 3, 3, null, T0.AddSeconds(2));
        Assert.Equal(T0, same.Since);
        Assert.Equal(T0.AddSeconds(2), same.CheckedAt);
        var down = same.Next(KafkaReach.Unreachable, 0, 0, "timed out", T0.AddSeconds(4));
        var stillDown = down.Next(KafkaReach.Unreachable, 0, 0, "timed out", T0.AddSeconds(6));
        Assert.Equal(T0.AddSeconds(4), stillDown.Since);
        Assert.Equal(T0.AddSeconds(8), stillDown.Next(KafkaReach.Up, 3, 3, null, T0.AddSeconds(8)).Since);
    }

    [Fact]
    public void A_link_waits_when_either_end_is_unreachable_and_not_when_degraded_or_unknown()
    {
        var up = ClusterReachability.First("r2", KafkaReach.Up, 3, 3, null, T0);
        var degraded = ClusterReachability.First("r2", KafkaReach.Degraded, 3, 2, "brokers not answering: 2", T0);
        var gone = ClusterReachability.First("r1", KafkaReach.Unreachable, 0, 0, "no broker answered", T0.AddSeconds(5));
        var goneEarlier = ClusterReachability.First("r2", KafkaReach.Unreachable, 0, 0, "no broker answered", T0.AddSeconds(1));

        Assert.Null(KafkaReachability.Waiting("r1", up with { Region = "r1" }, "r2", up));
        Assert.Null(KafkaReachability.Waiting("r1", up with { Region = "r1" }, "r2", degraded));
        Assert.Null(KafkaReachability.Waiting("r1", null, "r2", null));

        var source = KafkaReachability.Waiting("r1", gone, "r2", up)!;
        Assert.Equal(T0.AddSeconds(5), source.Since);
        Assert.Equal("source region r1's Kafka does not answer (no broker answered)", source.Reason);

        var destination = KafkaReachability.Waiting("r2", up, "r1", gone)!;
        Assert.StartsWith("destination region r1's Kafka does not answer", destination.Reason);

        var both = KafkaReachability.Waiting("r1", gone, "r2", goneEarlier)!;
        Assert.Equal(T0.AddSeconds(1), both.Since);
        Assert.Contains("source region r1", both.Reason);
        Assert.Contains("destination region r2", both.Reason);
    }

    [Fact]
    public void Broker_states_come_from_the_statistics_of_the_brokers_the_cluster_named()
    {
        const string statistics = """
            {"name":"probe","brokers":{
              "127.0.0.1:40001/bootstrap":{"nodeid":-1,"state":"UP"},
              "127.0.0.1:40001/1":{"nodeid":1,"state":"UP"},
              "127.0.0.1:40002/2":{"nodeid":2,"state":"CONNECT"},
              "127.0.0.1:40003/3":{"nodeid":3,"state":"DOWN"}}}
            """;
        var states = KafkaReachabilityProbe.BrokerStates(statistics);
        Assert.Equal(new Dictionary<int, string> { [1] = "UP", [2] = "CONNECT", [3] = "DOWN" }, states);
        Assert.Empty(KafkaReachabilityProbe.BrokerStates("""{"name":"probe"}"""));
    }
}
