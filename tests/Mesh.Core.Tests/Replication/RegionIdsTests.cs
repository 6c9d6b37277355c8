using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Replication;

public sealed class RegionIdsTests
{
    private const string BadCharHint = "use letters, digits, '-', '_' or '.'";

    [Theory]
    [InlineData("a")]
    [InlineData("z")]
    [InlineData("0")]
    [InlineData("9")]
    [InlineData("-")]
    [InlineData("_")]
    [InlineData(".")]
    [InlineData("us-east")]
    [InlineData("A")] // MirrorMaker 2's sample cluster aliases are region ids as they are
    [InlineData("Us-EAST")]
    [InlineData("eu_west.1")]
    [InlineData("ap-south-1.prod_b")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456789-_.")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")] // 64
    public void Valid_ids(string id)
    {
        Assert.True(RegionIds.IsValid(id, out var reason), reason);
        Assert.Equal("", reason);
        Assert.True(RegionIds.IsValid(id));
    }

    public static TheoryData<string?, string> InvalidIds => new()
    {
        { null, "a region id must not be empty" },
        { "", "a region id must not be empty" },
        { "a!", $"region id 'a!' contains '!'; {BadCharHint}" },
        { "us+east", $"region id 'us+east' contains '+'; {BadCharHint}" },
        { "us-east*", $"region id 'us-east*' contains '*'; {BadCharHint}" },
        { "us east", $"region id 'us east' contains ' '; {BadCharHint}" },
        { " us-east", $"region id ' us-east' contains ' '; {BadCharHint}" },
        { "us-east\n", $"region id 'us-east\n' contains '\n'; {BadCharHint}" },
        { "us\teast", $"region id 'us\teast' contains '\t'; {BadCharHint}" },
        { "us|east", $"region id 'us|east' contains '|'; {BadCharHint}" },
        { "us,east", $"region id 'us,east' contains ','; {BadCharHint}" },
        { "us:east", $"region id 'us:east' contains ':'; {BadCharHint}" },
        { "us;east", $"region id 'us;east' contains ';'; {BadCharHint}" },
        { "us=east", $"region id 'us=east' contains '='; {BadCharHint}" },
        { "us/east", $"region id 'us/east' contains '/'; {BadCharHint}" },
        { "us+east", $"region id 'us+east' contains '+'; {BadCharHint}" },
        { "région", $"region id 'région' contains 'é'; {BadCharHint}" },
        { "us-east\u0660", $"region id 'us-east\u0660' contains '\u0660'; {BadCharHint}" }, // Arabic-Indic digit zero
        { "ｕs", $"region id 'ｕs' contains 'ｕ'; {BadCharHint}" }, // full-width u
        { new string('a', 65), $"a region id is at most 64 characters, '{new string('a', 65)}' has 65" },
        { new string('A', 65), $"a region id is at most 64 characters, '{new string('A', 65)}' has 65" },
    };

    [Theory]
    [MemberData(nameof(InvalidIds))]
    public void Invalid_ids_are_rejected_with_a_reason(string? id, string expectedReason)
    {
        Assert.False(RegionIds.IsValid(id, out var reason));
        Assert.Equal(expectedReason, reason);
        Assert.False(RegionIds.IsValid(id));
    }

    [Fact]
    public void Every_ascii_character_is_classified()
    {
        for (var c = (char)0; c < 128; c++)
        {
            var expected = c is >= 'a' and <= 'z' || c is >= 'A' and <= 'Z' || c is >= '0' and <= '9' || c == '-' || c == '_' || c == '.';
            Assert.True(expected == RegionIds.IsValid("x" + c), $"character U+{(int)c:X4}: expected valid={expected}");
        }
    }

    [Fact]
    public void Max_length_is_64()
    {
        Assert.Equal(64, RegionIds.MaxLength);
    }
}
