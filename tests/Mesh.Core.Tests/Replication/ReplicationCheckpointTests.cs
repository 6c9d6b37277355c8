using Mesh.Core.Replication;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

public sealed class ReplicationCheckpointTests
{
    private const string FormatHint = "is not in format version 1 ('1;next=N;dest=N;vector=...')";
    private const string BadCharHint = "use lower-case letters, digits, '-', '_' or '.'";

    private static OriginVector Vector(params (string Origin, long Offset)[] entries)
    {
        var vector = new OriginVector();
        foreach (var (origin, offset) in entries) vector.Advance(origin, offset);
        return vector;
    }

    [Fact]
    public void Encodes_the_documented_format()
    {
        var checkpoint = new ReplicationCheckpoint(120, Vector(("us-east", 119)), 4411);

        Assert.Equal("1;next=120;dest=4411;vector=us-east:119", checkpoint.Encode());
    }

    [Fact]
    public void Encodes_an_empty_vector_as_an_empty_field()
    {
        Assert.Equal("1;next=0;dest=0;vector=", new ReplicationCheckpoint(0, new OriginVector(), 0).Encode());
    }

    [Fact]
    public void Encodes_several_origins_in_ordinal_order()
    {
        var checkpoint = new ReplicationCheckpoint(long.MaxValue, Vector(("us-east", 1200), ("eu-west", 41)), 7);

        Assert.Equal("1;next=9223372036854775807;dest=7;vector=eu-west:41,us-east:1200", checkpoint.Encode());
    }

    [Fact]
    public void Decodes_the_documented_example_into_exact_values()
    {
        Assert.True(ReplicationCheckpoint.TryDecode("1;next=120;dest=4411;vector=us-east:119", out var checkpoint, out var reason), reason);

        Assert.NotNull(checkpoint);
        Assert.Equal(120L, checkpoint.NextSourceOffset);
        Assert.Equal(4411L, checkpoint.DestinationEndOffset);
        Assert.Equal(new Dictionary<string, long> { ["us-east"] = 119 }, checkpoint.Vector.Entries);
    }

    public static IEnumerable<object[]> RoundTripSeeds => Seeds(20);

    [Theory]
    [MemberData(nameof(RoundTripSeeds))]
    public void Random_checkpoints_round_trip(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 25; i++)
        {
            var vector = new OriginVector();
            foreach (var origin in DistinctRegionIds(random, random.Next(0, 5))) vector.Advance(origin, random.NextInt64(0, long.MaxValue));
            var original = new ReplicationCheckpoint(random.NextInt64(0, long.MaxValue), vector, random.Next(3) == 0 ? 0 : random.NextInt64(0, long.MaxValue));
            var text = original.Encode();

            Assert.True(ReplicationCheckpoint.TryDecode(text, out var decoded, out var reason), $"seed {seed}: '{text}': {reason}");
            Assert.Equal("", reason);
            Assert.NotNull(decoded);
            Assert.Equal(original.NextSourceOffset, decoded.NextSourceOffset);
            Assert.Equal(original.DestinationEndOffset, decoded.DestinationEndOffset);
            Assert.Equal(original.Vector, decoded.Vector);
            Assert.Equal(original, decoded);
            Assert.Equal(text, decoded.Encode());
        }
    }

    [Theory]
    [InlineData("", "checkpoint '' " + FormatHint)]
    [InlineData("1", "checkpoint '1' " + FormatHint)]
    [InlineData("1;next=1;dest=2", "checkpoint '1;next=1;dest=2' " + FormatHint)]
    [InlineData("1;next=1;dest=2;vector=;x", "checkpoint '1;next=1;dest=2;vector=;x' " + FormatHint)]
    [InlineData("2;next=1;dest=2;vector=", "checkpoint '2;next=1;dest=2;vector=' " + FormatHint)]
    [InlineData(";next=1;dest=2;vector=", "checkpoint ';next=1;dest=2;vector=' " + FormatHint)]
    [InlineData("next=1;dest=2;vector=a:1;", "checkpoint 'next=1;dest=2;vector=a:1;' " + FormatHint)]
    [InlineData("1;nxt=1;dest=2;vector=", "checkpoint field 'nxt=1' should be 'next=<non-negative integer>'")]
    [InlineData("1;next=;dest=2;vector=", "checkpoint field 'next=' should be 'next=<non-negative integer>'")]
    [InlineData("1;next=-2;dest=2;vector=", "checkpoint field 'next=-2' should be 'next=<non-negative integer>'")]
    [InlineData("1;next=x;dest=2;vector=", "checkpoint field 'next=x' should be 'next=<non-negative integer>'")]
    [InlineData("1;next= 1;dest=2;vector=", "checkpoint field 'next= 1' should be 'next=<non-negative integer>'")]
    [InlineData("1;NEXT=1;dest=2;vector=", "checkpoint field 'NEXT=1' should be 'next=<non-negative integer>'")]
    [InlineData("1;next=9223372036854775808;dest=2;vector=", "checkpoint field 'next=9223372036854775808' should be 'next=<non-negative integer>'")]
    [InlineData("1;dest=2;next=1;vector=", "checkpoint field 'dest=2' should be 'next=<non-negative integer>'")]
    [InlineData("1;next=1;dest=;vector=", "checkpoint field 'dest=' should be 'dest=<non-negative integer>'")]
    [InlineData("1;next=1;dest=-2;vector=", "checkpoint field 'dest=-2' should be 'dest=<non-negative integer>'")]
    [InlineData("1;next=1;dest=2.5;vector=", "checkpoint field 'dest=2.5' should be 'dest=<non-negative integer>'")]
    [InlineData("1;next=1;vector=;dest=2", "checkpoint field 'vector=' should be 'dest=<non-negative integer>'")]
    [InlineData("1;next=1;dest=2;vec=a:1", "checkpoint field 'vec=a:1' should start with 'vector='")]
    [InlineData("1;next=1;dest=2;a:1", "checkpoint field 'a:1' should start with 'vector='")]
    [InlineData("1;next=1;dest=2;vector=a", "origin vector entry 'a' is not 'region:offset'")]
    [InlineData("1;next=1;dest=2;vector=A:1", "origin vector entry 'A:1': region id 'A' contains 'A'; " + BadCharHint)]
    [InlineData("1;next=1;dest=2;vector=a:-1", "origin vector entry 'a:-1': offset is not a non-negative integer")]
    [InlineData("1;next=1;dest=2;vector=a:1,a:2", "origin vector names 'a' twice")]
    public void Malformed_text_is_rejected_with_a_reason(string text, string expectedReason)
    {
        var ok = ReplicationCheckpoint.TryDecode(text, out var checkpoint, out var reason);

        Assert.False(ok);
        Assert.Null(checkpoint);
        Assert.Equal(expectedReason, reason);
    }

    [Fact]
    public void Equality_includes_the_vector()
    {
        var a = new ReplicationCheckpoint(5, Vector(("a", 1)), 9);

        Assert.Equal(a, new ReplicationCheckpoint(5, Vector(("a", 1)), 9));
        Assert.NotEqual(a, new ReplicationCheckpoint(5, Vector(("a", 2)), 9));
        Assert.NotEqual(a, new ReplicationCheckpoint(6, Vector(("a", 1)), 9));
        Assert.NotEqual(a, new ReplicationCheckpoint(5, Vector(("a", 1)), 10));
    }

    [Fact]
    public void A_replicator_that_has_read_nothing_starts_from_the_source_start_and_round_trips()
    {
        var initial = ReplicationCheckpoint.Initial;
        Assert.Equal(ReplicationCheckpoint.FromSourceStart, initial.NextSourceOffset);
        Assert.Equal(0, initial.DestinationEndOffset);
        Assert.Equal("1;next=-1;dest=0;vector=", initial.Encode());
        Assert.True(ReplicationCheckpoint.TryDecode(initial.Encode(), out var decoded, out _));
        Assert.Equal(initial, decoded);
    }
}
