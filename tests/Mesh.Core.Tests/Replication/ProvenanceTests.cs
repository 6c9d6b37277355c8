using Mesh.Core.Replication;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

public sealed class ProvenanceTests
{
    [Fact]
    public void Local_provenance_has_the_region_as_its_only_hop()
    {
        var local = Provenance.Local("us-east", Inc, "orders", 3, 1042, -7);

        Assert.Equal("us-east", local.OriginRegion);
        Assert.Equal(Inc, local.OriginIncarnation);
        Assert.Equal("orders", local.OriginTopic);
        Assert.Equal(3, local.OriginPartition);
        Assert.Equal(1042L, local.OriginOffset);
        Assert.Equal(-7L, local.OriginTimestampMs);
        Assert.Equal(new[] { "us-east" }, local.Hops.ToArray());
        Assert.Equal("us-east", local.LastHop);
    }

    [Fact]
    public void OriginKey_is_region_at_incarnation()
    {
        Assert.Equal("us-east@1a2b3c4d", Provenance.Local("us-east", "1a2b3c4d", "orders", 3, 1, 0).OriginKey);
        Assert.Equal(OriginVector.Key("us-east", Inc2), Prov("us-east", Inc2, "t", 0, 0, 0, "us-east", "eu-west").OriginKey);
    }

    [Fact]
    public void ArrivedAt_appends_one_hop_and_keeps_the_identity()
    {
        var local = Provenance.Local("us-east", Inc, Topic, 3, 1042, 5);

        var arrived = local.ArrivedAt("eu-west").ArrivedAt("ap-south");

        Assert.Equal(Prov("us-east", 3, 1042, 5, "us-east", "eu-west", "ap-south"), arrived);
        Assert.Equal("ap-south", arrived.LastHop);
        Assert.Equal(new[] { "us-east" }, local.Hops.ToArray()); // the original is unchanged
    }

    [Theory]
    [InlineData("us-east", true)]
    [InlineData("eu-west", true)]
    [InlineData("ap-south", false)]
    [InlineData("US-EAST", false)]
    [InlineData("us-eas", false)]
    public void HasVisited_is_an_exact_ordinal_match(string region, bool expected)
    {
        var provenance = Prov("us-east", 0, 0, 0, "us-east", "eu-west");

        Assert.Equal(expected, provenance.HasVisited(region));
    }

    [Fact]
    public void Equality_compares_every_field_and_hops_by_content_and_order()
    {
        var a = Prov("us-east", 1, 2, 3, "us-east", "eu-west");
        var b = new Provenance("us-east", Inc, Topic, 1, 2, 3, Hops("us-east", "eu-west"));

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, Prov("us-east", 1, 2, 3, "us-east"));
        Assert.NotEqual(a, Prov("us-east", 1, 2, 3, "us-east", "ap-south"));
        Assert.NotEqual(a, Prov("us-east", 9, 2, 3, "us-east", "eu-west"));
        Assert.NotEqual(a, Prov("us-east", 1, 9, 3, "us-east", "eu-west"));
        Assert.NotEqual(a, Prov("us-east", 1, 2, 9, "us-east", "eu-west"));
        Assert.NotEqual(a, Prov("eu-west", 1, 2, 3, "us-east", "eu-west"));
        Assert.NotEqual(a, Prov("us-east", Inc2, Topic, 1, 2, 3, "us-east", "eu-west"));
        Assert.NotEqual(a, Prov("us-east", Inc, "payments", 1, 2, 3, "us-east", "eu-west"));
        Assert.False(a.Equals(null));
    }
}
