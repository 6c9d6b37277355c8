using Mesh.Core.Conflicts;

namespace Mesh.Core.Tests.Conflicts;

public sealed class RecordVersionTests
{
    public static TheoryData<string, RecordVersion, RecordVersion, int> Orderings => new()
    {
        // case, a, b, sign of a.CompareTo(b)
        { "greater value wins", new(20, "us-east", 1), new(10, "us-east", 1), 1 },
        { "value decides before region", new(10, "us-east", 1), new(11, "ap-south", 9), -1 },
        { "value decides before offset", new(11, "a", 0), new(10, "a", 1_000_000), 1 },
        { "equal values: greater region id wins", new(10, "us-east", 1), new(10, "eu-west", 1), 1 },
        { "region ids compare ordinally", new(10, "eu-west", 1), new(10, "eu_west", 1), -1 },
        { "a region id sorts after its prefix", new(10, "us", 5), new(10, "us-east", 5), -1 },
        { "region decides before offset", new(10, "b", 0), new(10, "a", 99), 1 },
        { "equal value and region: greater offset wins", new(10, "us-east", 8), new(10, "us-east", 7), 1 },
        { "the same write", new(10, "us-east", 7), new(10, "us-east", 7), 0 },
        { "negative values order as numbers", new(-5, "a", 0), new(-10, "a", 0), 1 },
        { "negative below zero", new(-1, "z", 9), new(0, "a", 0), -1 },
        { "extremes", new(long.MinValue, "z", long.MaxValue), new(long.MaxValue, "a", 0), -1 },
        { "minimum values tie on region", new(long.MinValue, "b", 0), new(long.MinValue, "a", 0), 1 },
    };

    [Theory]
    [MemberData(nameof(Orderings))]
    public void Versions_order_by_value_then_region_then_offset(string name, RecordVersion a, RecordVersion b, int expected)
    {
        Assert.True(expected == Math.Sign(a.CompareTo(b)), $"{name}: {a} vs {b}");
        Assert.True(-expected == Math.Sign(b.CompareTo(a)), $"{name}: {b} vs {a}");
        Assert.Equal(expected > 0, a > b);
        Assert.Equal(expected < 0, a < b);
        Assert.Equal(expected >= 0, a >= b);
        Assert.Equal(expected <= 0, a <= b);
        Assert.Equal(expected == 0, a == b);
    }

    [Fact]
    public void Sorting_is_a_total_order_consistent_with_equality()
    {
        var random = new Random(7);
        var regions = new[] { "a", "b", "us-east", "us" };
        var versions = Enumerable.Range(0, 500)
            .Select(_ => new RecordVersion(random.Next(-3, 3), regions[random.Next(regions.Length)], random.Next(0, 3)))
            .ToList();

        var sorted = versions.Order().ToList();

        for (var i = 1; i < sorted.Count; i++)
        {
            Assert.True(sorted[i - 1] <= sorted[i]);
            Assert.Equal(sorted[i - 1].CompareTo(sorted[i]) == 0, sorted[i - 1].Equals(sorted[i]));
        }
    }

    [Fact]
    public void Text_names_value_region_and_offset()
    {
        Assert.Equal("1732480000000@us-east/1042", new RecordVersion(1732480000000, "us-east", 1042).ToString());
    }
}
