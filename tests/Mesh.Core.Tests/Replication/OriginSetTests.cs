using Mesh.Core.Replication;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

public sealed class OriginSetTests
{
    private const string BadCharHint = "use letters, digits, '-', '_' or '.'";

    /// <summary>A set as <see cref="OriginSet.Encode"/> writes it: <c>*</c>, <c>a,b</c> or empty.</summary>
    private static OriginSet Set(string text)
    {
        Assert.True(OriginSet.TryParse(text, out var set, out var reason), reason);
        return set;
    }

    [Fact]
    public void Of_folds_duplicates_and_sorts_ordinal()
    {
        var set = OriginSet.Of(["us-east", "ap-south", "us-east", "ap-south-2", "_x"]);

        Assert.Equal(["_x", "ap-south", "ap-south-2", "us-east"], set.Regions);
        Assert.False(set.IsAll);
        Assert.False(set.IsEmpty);
        Assert.Equal("_x,ap-south,ap-south-2,us-east", set.Encode());
        Assert.Equal("_x,ap-south,ap-south-2,us-east", set.ToString());
    }

    [Fact]
    public void All_and_none()
    {
        Assert.True(OriginSet.All.IsAll);
        Assert.False(OriginSet.All.IsEmpty);
        Assert.Empty(OriginSet.All.Regions);
        Assert.Equal("*", OriginSet.All.Encode());
        Assert.Equal("*", OriginSet.All.ToString());

        Assert.False(OriginSet.None.IsAll);
        Assert.True(OriginSet.None.IsEmpty);
        Assert.Empty(OriginSet.None.Regions);
        Assert.Equal("", OriginSet.None.Encode());
        Assert.Equal("(none)", OriginSet.None.ToString());
        Assert.Equal(OriginSet.None, OriginSet.Of([]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("us+east")]
    [InlineData("*")]
    [InlineData("a,b")]
    public void Of_rejects_an_invalid_region_id(string region)
    {
        var error = Assert.Throws<ArgumentException>(() => OriginSet.Of(["a", region]));

        Assert.Equal("regions", error.ParamName);
    }

    [Theory]
    [InlineData("a,b", "a", true)]
    [InlineData("a,b", "b", true)]
    [InlineData("a,b", "c", false)]
    [InlineData("a,b", "A", false)]
    [InlineData("a.b", "a", false)]
    [InlineData("", "a", false)]
    [InlineData("*", "a", true)]
    [InlineData("*", "anything-at-all", true)]
    public void Contains(string set, string region, bool expected) => Assert.Equal(expected, Set(set).Contains(region));

    [Theory]
    [InlineData("a,b,c", "b", "a,c")]
    [InlineData("a,b", "c", "a,b")]
    [InlineData("a", "a", "")]
    [InlineData("a", "", "a")]
    [InlineData("", "a", "")]
    [InlineData("", "", "")]
    [InlineData("a,b", "*", "")]
    [InlineData("", "*", "")]
    [InlineData("*", "*", "")]
    [InlineData("*", "", "*")]
    public void Except(string left, string right, string expected) => Assert.Equal(Set(expected), Set(left).Except(Set(right)));

    [Fact]
    public void Every_origin_except_a_finite_set_is_refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => OriginSet.All.Except(Set("a,b")));

        Assert.Equal("every origin except a,b is not a finite set: a link changed from identity to prefix naming, and naming changes are refused before this point",
            error.Message);
    }

    [Theory]
    [InlineData("a", "b", "a,b")]
    [InlineData("b,c", "a,b", "a,b,c")]
    [InlineData("a", "", "a")]
    [InlineData("", "", "")]
    [InlineData("*", "a", "*")]
    [InlineData("a", "*", "*")]
    [InlineData("", "*", "*")]
    [InlineData("*", "*", "*")]
    public void Union(string left, string right, string expected)
    {
        Assert.Equal(Set(expected), Set(left).Union(Set(right)));
        Assert.Equal(Set(expected), Set(right).Union(Set(left)));
    }

    [Theory]
    [InlineData("a,b", "b,c", "b")]
    [InlineData("a", "b", "")]
    [InlineData("a", "", "")]
    [InlineData("*", "a,b", "a,b")]
    [InlineData("a", "*", "a")]
    [InlineData("*", "", "")]
    [InlineData("*", "*", "*")]
    public void Intersect(string left, string right, string expected)
    {
        Assert.Equal(Set(expected), Set(left).Intersect(Set(right)));
        Assert.Equal(Set(expected), Set(right).Intersect(Set(left)));
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("*", "*")]
    [InlineData("a", "a")]
    [InlineData("b,a", "a,b")]
    [InlineData("us-east,ap-south", "ap-south,us-east")]
    public void TryParse_reads_what_encode_writes_in_any_order(string text, string encoded)
    {
        Assert.True(OriginSet.TryParse(text, out var set, out var reason), reason);

        Assert.Equal("", reason);
        Assert.Equal(encoded, set.Encode());
    }

    [Theory]
    [InlineData("a,a", "origin set 'a,a' names 'a' twice")]
    [InlineData("b,a,b", "origin set 'b,a,b' names 'b' twice")]
    [InlineData("a!", "origin set 'a!': region id 'a!' contains '!'; " + BadCharHint)]
    [InlineData("a,", "origin set 'a,': a region id must not be empty")]
    [InlineData(",", "origin set ',': a region id must not be empty")]
    [InlineData(" a", "origin set ' a': region id ' a' contains ' '; " + BadCharHint)]
    [InlineData("*,a", "origin set '*,a': region id '*' contains '*'; " + BadCharHint)]
    [InlineData("**", "origin set '**': region id '**' contains '*'; " + BadCharHint)]
    [InlineData("(none)", "origin set '(none)': region id '(none)' contains '('; " + BadCharHint)]
    public void TryParse_rejects_with_a_reason(string text, string expected)
    {
        Assert.False(OriginSet.TryParse(text, out var set, out var reason));

        Assert.Equal(expected, reason);
        Assert.Equal(OriginSet.None, set);
    }

    [Fact]
    public void Equality_is_by_value()
    {
        Assert.Equal(OriginSet.Of(["a", "b"]), OriginSet.Of(["b", "a", "b"]));
        Assert.Equal(OriginSet.Of(["a", "b"]).GetHashCode(), OriginSet.Of(["b", "a"]).GetHashCode());
        Assert.True(OriginSet.Of(["a"]).Equals((object)OriginSet.Of(["a"])));
        Assert.NotEqual(OriginSet.Of(["a"]), OriginSet.Of(["a", "b"]));
        Assert.NotEqual(OriginSet.All, OriginSet.None);
        Assert.NotEqual(OriginSet.All, OriginSet.Of(["a"]));
        Assert.False(OriginSet.None.Equals(null));
    }

    public static IEnumerable<object[]> RoundTripSeeds => Seeds(20);

    [Theory]
    [MemberData(nameof(RoundTripSeeds))]
    public void Random_sets_round_trip(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 25; i++)
        {
            var regions = DistinctRegionIds(random, random.Next(0, 6));
            var set = OriginSet.Of(regions);

            Assert.True(OriginSet.TryParse(set.Encode(), out var parsed, out var reason), $"seed {seed}: '{set.Encode()}': {reason}");
            Assert.Equal(set, parsed);
            Assert.Equal(regions.Order(StringComparer.Ordinal), parsed.Regions);
            Assert.All(regions, r => Assert.True(parsed.Contains(r)));
        }
    }
}
