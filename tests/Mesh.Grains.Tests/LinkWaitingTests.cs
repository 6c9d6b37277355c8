using Mesh.Core.Health;
using Mesh.Grains.Replication;

namespace Mesh.Grains.Tests;

/// <summary>The region status shows a link whose end does not answer as waiting; what needs an operator keeps its state.</summary>
public sealed class LinkWaitingTests
{
    private static TopicLinkStatus Topic(string name, ReplicationState state, string? error = null) =>
        new(name, state, 1, 10, 0, null, error, []);

    [Fact]
    public void Running_topics_wait_with_the_reason_and_since_when_stopped_and_paused_ones_keep_their_state()
    {
        var since = new DateTimeOffset(2026, 12, 4, 2, 0, 0, TimeSpan.Zero);
        var link = new LinkStatus("r1", "r2",
            [Topic("a", ReplicationState.Replicating), Topic("b", ReplicationState.Starting), Topic("c", ReplicationState.Stopped, "lost records"), Topic("d", ReplicationState.Paused)],
            null, null);

        var waiting = RegionGrain.Waiting(link, new LinkWait("source region r1's Kafka does not answer", since));

        Assert.Equal([ReplicationState.Waiting, ReplicationState.Waiting, ReplicationState.Stopped, ReplicationState.Paused], waiting.Topics.Select(t => t.State));
        Assert.All(waiting.Topics.Take(2), t => Assert.Equal(("source region r1's Kafka does not answer", since), (t.Error!, t.WaitingSince!.Value)));
        Assert.Equal("lost records", waiting.Topics[2].Error);
        Assert.Null(waiting.Topics[3].WaitingSince);
        Assert.Same(link, RegionGrain.Waiting(link, null));
    }
}
