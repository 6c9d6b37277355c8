using Mesh.Core.Replication;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

public sealed class OriginVectorTests
{
    private const string BadCharHint = "use letters, digits, '-', '_' or '.'";

    private static OriginVector Vector(params (string Origin, long Offset)[] entries)
    {
        var vector = new OriginVector();
        foreach (var (origin, offset) in entries) Assert.True(vector.Advance(origin, offset));
        return vector;
    }

    [Fact]
    public void An_empty_vector_has_applied_nothing()
    {
        var vector = new OriginVector();

        Assert.Empty(vector.Entries);
        Assert.Equal(-1L, vector.HighestFor("us-east"));
        Assert.False(vector.HasApplied("us-east", 0));
        Assert.False(vector.HasApplied("us-east", long.MaxValue));
        Assert.Equal("", vector.ToString());
    }

    [Theory]
    [InlineData(0L, true)]
    [InlineData(40L, true)]
    [InlineData(41L, true)]
    [InlineData(42L, false)]
    [InlineData(long.MaxValue, false)]
    public void HasApplied_is_at_or_below_the_entry(long offset, bool expected)
    {
        var vector = Vector(("us-east", 41));

        Assert.Equal(expected, vector.HasApplied("us-east", offset));
        Assert.False(vector.HasApplied("eu-west", offset));
    }

    [Fact]
    public void Advance_moves_forward_and_reports_it()
    {
        var vector = new OriginVector();

        Assert.True(vector.Advance("us-east", 0));
        Assert.Equal(0L, vector.HighestFor("us-east"));
        Assert.True(vector.Advance("us-east", 5));
        Assert.Equal(5L, vector.HighestFor("us-east"));
        Assert.True(vector.Advance("us-east", long.MaxValue));
        Assert.Equal(long.MaxValue, vector.HighestFor("us-east"));
    }

    [Theory]
    [InlineData(10L, false, 10L)]
    [InlineData(9L, false, 10L)]
    [InlineData(0L, false, 10L)]
    [InlineData(11L, true, 11L)]
    public void Advance_never_moves_backwards(long offset, bool movedExpected, long highestExpected)
    {
        var vector = Vector(("us-east", 10));

        Assert.Equal(movedExpected, vector.Advance("us-east", offset));
        Assert.Equal(highestExpected, vector.HighestFor("us-east"));
        Assert.Single(vector.Entries);
    }

    [Fact]
    public void Advance_rejects_a_negative_offset_and_leaves_the_vector_unchanged()
    {
        var vector = Vector(("us-east", 3));

        Assert.Throws<ArgumentOutOfRangeException>(() => vector.Advance("us-east", -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => vector.Advance("eu-west", -1));
        Assert.Equal("us-east:3", vector.ToString());
    }

    [Fact]
    public void Entries_are_independent_per_origin()
    {
        var vector = Vector(("us-east", 100), ("eu-west", 2));

        Assert.True(vector.HasApplied("eu-west", 2));
        Assert.False(vector.HasApplied("eu-west", 3));
        Assert.True(vector.HasApplied("us-east", 3));
        Assert.Equal(-1L, vector.HighestFor("ap-south"));
        Assert.Equal(new Dictionary<string, long> { ["eu-west"] = 2, ["us-east"] = 100 }, vector.Entries);
    }

    [Fact]
    public void Origins_are_compared_ordinally()
    {
        var vector = Vector(("us-east", 100));

        Assert.False(vector.HasApplied("US-EAST", 1));
        Assert.False(vector.HasApplied("us-east ", 1));
    }

    [Fact]
    public void MergeFrom_takes_the_maximum_per_origin()
    {
        var mine = Vector(("a", 10), ("b", 5), ("c", 7));
        var theirs = Vector(("a", 3), ("b", 9), ("d", 0));

        mine.MergeFrom(theirs);

        Assert.Equal("a:10,b:9,c:7,d:0", mine.ToString());
        Assert.Equal("a:3,b:9,d:0", theirs.ToString()); // the argument is not touched
    }

    [Fact]
    public void MergeFrom_an_empty_vector_or_itself_changes_nothing()
    {
        var vector = Vector(("a", 10), ("b", 5));

        vector.MergeFrom(new OriginVector());
        vector.MergeFrom(vector);

        Assert.Equal("a:10,b:5", vector.ToString());
    }

    [Fact]
    public void MergeFrom_is_commutative()
    {
        var random = new Random(7);
        for (var i = 0; i < 100; i++)
        {
            var left = RandomVector(random);
            var right = RandomVector(random);

            var leftThenRight = left.Clone();
            leftThenRight.MergeFrom(right);
            var rightThenLeft = right.Clone();
            rightThenLeft.MergeFrom(left);

            Assert.Equal(leftThenRight, rightThenLeft);
            foreach (var origin in left.Entries.Keys.Concat(right.Entries.Keys))
                Assert.Equal(Math.Max(left.HighestFor(origin), right.HighestFor(origin)), leftThenRight.HighestFor(origin));
        }
    }

    [Fact]
    public void Clone_is_independent_in_both_directions()
    {
        var original = Vector(("a", 10));

        var copy = original.Clone();
        Assert.Equal(original, copy);
        Assert.NotSame(original, copy);

        copy.Advance("a", 20);
        copy.Advance("b", 1);
        Assert.Equal("a:10", original.ToString());

        original.Advance("c", 5);
        Assert.Equal("a:20,b:1", copy.ToString());
    }

    [Fact]
    public void ToString_lists_entries_in_ordinal_order()
    {
        var vector = Vector(("us-east", 1200), ("eu-west", 41), ("a_", 1), ("a0", 2), ("a.b", 3), ("a-b", 4));

        Assert.Equal("a-b:4,a.b:3,a0:2,a_:1,eu-west:41,us-east:1200", vector.ToString());
    }

    [Fact]
    public void ToString_matches_the_documented_example()
    {
        Assert.Equal("eu-west@5e1f09aa:41,us-east@1a2b3c4d:1200", Vector(("us-east@1a2b3c4d", 1200), ("eu-west@5e1f09aa", 41)).ToString());
    }

    public static IEnumerable<object[]> RoundTripSeeds => Seeds(20);

    [Theory]
    [MemberData(nameof(RoundTripSeeds))]
    public void ToString_and_TryParse_round_trip(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 25; i++)
        {
            var vector = RandomVector(random);
            var text = vector.ToString();

            Assert.True(OriginVector.TryParse(text, out var parsed, out var reason), $"seed {seed}: '{text}': {reason}");
            Assert.Equal("", reason);
            Assert.Equal(vector, parsed);
            Assert.Equal(text, parsed.ToString());
            Assert.Equal(vector.Entries, parsed.Entries);
        }
    }

    [Fact]
    public void TryParse_of_empty_text_is_an_empty_vector()
    {
        Assert.True(OriginVector.TryParse("", out var vector, out var reason));
        Assert.Equal("", reason);
        Assert.Empty(vector.Entries);
    }

    [Fact]
    public void TryParse_accepts_unsorted_entries()
    {
        Assert.True(OriginVector.TryParse("us-east@1a2b3c4d:1200,eu-west@5e1f09aa:41", out var vector, out var reason), reason);

        Assert.Equal(1200L, vector.HighestFor("us-east@1a2b3c4d"));
        Assert.Equal(41L, vector.HighestFor("eu-west@5e1f09aa"));
        Assert.Equal("eu-west@5e1f09aa:41,us-east@1a2b3c4d:1200", vector.ToString());
    }

    [Fact]
    public void Key_is_region_at_incarnation_and_incarnations_are_separate_streams()
    {
        var old = OriginVector.Key("us-east", "1a2b3c4d");
        var reborn = OriginVector.Key("us-east", "5e1f09aa");
        var vector = Vector((old, 1200));

        Assert.Equal("us-east@1a2b3c4d", old);
        Assert.True(vector.HasApplied(old, 5));
        Assert.False(vector.HasApplied(reborn, 5)); // a region that came back empty starts over at offset 0
        Assert.True(vector.Advance(reborn, 0));
        Assert.Equal("us-east@1a2b3c4d:1200,us-east@5e1f09aa:0", vector.ToString());
    }

    [Theory]
    [InlineData("us-east@1a2b3c4d", "")]
    [InlineData("a@0", "")]
    [InlineData("us-east", "origin 'us-east' is not 'region@incarnation'")]
    [InlineData("@1a2b", "origin '@1a2b' is not 'region@incarnation'")]
    [InlineData("", "origin '' is not 'region@incarnation'")]
    [InlineData("us-east@", "an incarnation must not be empty")]
    [InlineData("u!@1", "region id 'u!' contains '!'; " + BadCharHint)]
    [InlineData("us@1A", "incarnation '1A' contains 'A'; it is lower-case letters and digits")]
    [InlineData("us@1@2", "incarnation '1@2' contains '@'; it is lower-case letters and digits")]
    public void IsValidKey_requires_a_region_and_an_incarnation(string key, string expectedReason)
    {
        Assert.Equal(expectedReason == "", OriginVector.IsValidKey(key, out var reason));
        Assert.Equal(expectedReason, reason);
    }

    [Theory]
    [InlineData("us-east@1", "origin vector entry 'us-east@1' is not 'region:offset'")]
    [InlineData(":5", "origin vector entry ':5' is not 'region:offset'")]
    [InlineData(",", "origin vector entry '' is not 'region:offset'")]
    [InlineData("a@1:1,", "origin vector entry '' is not 'region:offset'")]
    [InlineData(",a@1:1", "origin vector entry '' is not 'region:offset'")]
    [InlineData("a@1:1,,b@1:2", "origin vector entry '' is not 'region:offset'")]
    [InlineData("a@1:", "origin vector entry 'a@1:': offset is not a non-negative integer")]
    [InlineData("a@1:-1", "origin vector entry 'a@1:-1': offset is not a non-negative integer")]
    [InlineData("a@1:+1", "origin vector entry 'a@1:+1': offset is not a non-negative integer")]
    [InlineData("a@1:x", "origin vector entry 'a@1:x': offset is not a non-negative integer")]
    [InlineData("a@1: 1", "origin vector entry 'a@1: 1': offset is not a non-negative integer")]
    [InlineData("a@1:1.0", "origin vector entry 'a@1:1.0': offset is not a non-negative integer")]
    [InlineData("a@1:9223372036854775808", "origin vector entry 'a@1:9223372036854775808': offset is not a non-negative integer")]
    [InlineData("a:1", "origin vector entry 'a:1': origin 'a' is not 'region@incarnation'")]
    [InlineData("a!@1:1", "origin vector entry 'a!@1:1': region id 'a!' contains '!'; " + BadCharHint)]
    [InlineData(" a@1:1", "origin vector entry ' a@1:1': region id ' a' contains ' '; " + BadCharHint)]
    [InlineData("a@1:b@1:1", "origin vector entry 'a@1:b@1:1': incarnation '1:b@1' contains ':'; it is lower-case letters and digits")]
    [InlineData("a@1:1;b@1:2", "origin vector entry 'a@1:1;b@1:2': incarnation '1:1;b@1' contains ':'; it is lower-case letters and digits")]
    [InlineData("a@:1", "origin vector entry 'a@:1': an incarnation must not be empty")]
    [InlineData("a@1:1,a@1:2", "origin vector names 'a@1' twice")]
    [InlineData("a@1:1,b@1:2,a@1:1", "origin vector names 'a@1' twice")]
    public void TryParse_rejects_malformed_text_with_a_reason(string text, string expectedReason)
    {
        Assert.False(OriginVector.TryParse(text, out _, out var reason));
        Assert.Equal(expectedReason, reason);
    }

    [Fact]
    public void TryParse_rejects_an_over_long_region_id()
    {
        var id = new string('a', 65);

        Assert.False(OriginVector.TryParse($"{id}@1:1", out _, out var reason));
        Assert.Equal($"origin vector entry '{id}@1:1': a region id is at most 64 characters, '{id}' has 65", reason);
    }

    [Fact]
    public void Equality_is_by_entries()
    {
        var a = Vector(("a", 1), ("b", 2));
        var sameInOtherOrder = Vector(("b", 2), ("a", 1));

        Assert.True(a.Equals(sameInOtherOrder));
        Assert.True(a.Equals((object)sameInOtherOrder));
        Assert.Equal(a.GetHashCode(), sameInOtherOrder.GetHashCode());
        Assert.False(a.Equals(Vector(("a", 1), ("b", 3))));
        Assert.False(a.Equals(Vector(("a", 1))));
        Assert.False(a.Equals(Vector(("a", 1), ("b", 2), ("c", 0))));
        Assert.False(a.Equals(Vector(("a", 1), ("c", 2))));
        Assert.False(a.Equals(null));
        Assert.False(a.Equals((object)"a:1,b:2"));
        Assert.True(new OriginVector().Equals(new OriginVector()));
    }

    private static OriginVector RandomVector(Random random)
    {
        var vector = new OriginVector();
        foreach (var origin in DistinctRegionIds(random, random.Next(0, 6)))
            vector.Advance(OriginVector.Key(origin, Incarnation(random)), random.Next(3) == 0 ? random.NextInt64(0, long.MaxValue) : random.Next(0, 1000));
        return vector;
    }
}
