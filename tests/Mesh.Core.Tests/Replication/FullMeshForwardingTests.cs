using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Replication;

public sealed class FullMeshForwardingTests
{
    [Theory]
    // A link carries exactly the records that originated at its source.
    [InlineData("us-east", "us-east", "eu-west", true)]
    [InlineData("eu-west", "eu-west", "us-east", true)]
    [InlineData("ap-south", "ap-south", "us-east", true)]
    // Records that originated anywhere else reach the destination over their own origin's link.
    [InlineData("eu-west", "us-east", "eu-west", false)]
    [InlineData("ap-south", "us-east", "eu-west", false)]
    [InlineData("us-east", "eu-west", "ap-south", false)]
    // Ordinal comparison: a differently cased origin is another region.
    [InlineData("US-EAST", "us-east", "eu-west", false)]
    [InlineData("us-east", "US-EAST", "eu-west", false)]
    // from == to never forwards, whatever the origin.
    [InlineData("us-east", "us-east", "us-east", false)]
    [InlineData("eu-west", "us-east", "us-east", false)]
    public void Forwards_only_records_that_originated_at_the_source(string origin, string from, string to, bool expected)
    {
        Assert.Equal(expected, FullMeshForwarding.Instance.ShouldForward(origin, from, to));
    }

    [Fact]
    public void Every_origin_reaches_every_other_region_over_exactly_one_link()
    {
        string[] regions = ["us-east", "eu-west", "ap-south", "sa-east"];
        foreach (var origin in regions)
        foreach (var destination in regions)
        {
            var carriers = regions.Count(from => FullMeshForwarding.Instance.ShouldForward(origin, from, destination));
            Assert.True(carriers == (origin == destination ? 0 : 1), $"origin {origin} -> {destination}: {carriers} links carry it");
        }
    }

    [Fact]
    public void Instance_is_a_singleton()
    {
        Assert.Same(FullMeshForwarding.Instance, FullMeshForwarding.Instance);
    }
}

public sealed class OriginSetForwardingTests
{
    [Theory]
    [InlineData("hq", "hq", "east", true)]
    [InlineData("west", "hq", "east", true)]
    [InlineData("east", "hq", "east", false)]
    [InlineData("north", "hq", "east", false)]
    [InlineData("hq", "hq", "hq", false)]
    public void Carries_exactly_the_listed_origins(string origin, string from, string to, bool expected) =>
        Assert.Equal(expected, new Mesh.Core.Replication.OriginSetForwarding(["hq", "west"]).ShouldForward(origin, from, to));
}
