using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Replication;

public sealed class TopicFilterTests
{
    [Theory]
    [InlineData("orders", true)]
    [InlineData("orders-dlq", false)]      // whole-name match: 'orders' does not select 'orders-dlq'
    [InlineData("payments.eu", true)]
    [InlineData("payments.tmp", false)]    // excluded
    [InlineData("inventory", false)]       // not included
    [InlineData("__consumer_offsets", false)]
    [InlineData("__mesh_checkpoints", false)]
    public void Selects_whole_names_and_never_internal_topics(string topic, bool expected)
    {
        var filter = new TopicFilter(["orders", "payments\\..*", "__.*"], [".*\\.tmp"]);
        Assert.Equal(expected, filter.Matches(topic));
    }

    [Fact]
    public void An_empty_include_list_selects_every_non_internal_topic()
    {
        var filter = new TopicFilter([], []);
        Assert.True(filter.Matches("anything"));
        Assert.False(filter.Matches("__internal"));
    }

    [Theory]
    [InlineData("orders(")]
    [InlineData("a)(b")]
    [InlineData("[z-a]")]
    public void Invalid_patterns_are_rejected_with_a_reason(string pattern)
    {
        Assert.False(TopicFilter.IsValidPattern(pattern, out var reason));
        Assert.NotEmpty(reason);
        var e = Assert.Throws<ArgumentException>(() => new TopicFilter([pattern], []));
        Assert.Contains(pattern, e.Message);
    }
}
