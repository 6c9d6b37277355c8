using Mesh.Core.Replication;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

public sealed class ReplicationCheckpointTests
{
    private const string FormatHint =
        "is not in format version 3 ('3;next=N;dest=N;src=I;dst=I;quarantined=N;expired=N;carried=O;catchup=U:O;vector=...') " +
        "or 2 ('2;next=N;dest=N;src=I;dst=I;quarantined=N;expired=N;vector=...')";
    private const string BadCharHint = "use letters, digits, '-', '_' or '.'";
    private const string Example =
        "3;next=120;dest=4411;src=1a2b3c4d;dst=5e1f09aa;quarantined=0;expired=0;carried=ap-south,us-east;catchup=100:ap-south;vector=us-east@1a2b3c4d:119";

    /// <summary>A checkpoint written before links said what they carry.</summary>
    private const string VersionTwo = "2;next=120;dest=4411;src=1a2b3c4d;dst=5e1f09aa;quarantined=0;expired=0;vector=us-east@1a2b3c4d:119";

    private const string NoCatchUpField = "3;next=120;dest=4411;src=1a2b3c4d;dst=5e1f09aa;quarantined=0;expired=0;carried=a;vector=";

    private static readonly OriginSet Carried = OriginSet.Of(["us-east", "ap-south"]);

    private static OriginVector Vector(params (string Origin, long Offset)[] entries)
    {
        var vector = new OriginVector();
        foreach (var (origin, offset) in entries) vector.Advance(origin, offset);
        return vector;
    }

    private static string Quote(string text) => text.Length > 80 ? text[..80] + "..." : text;

    /// <summary>The documented example with field <paramref name="index"/> replaced.</summary>
    private static string With(int index, string field) => With(Example, index, field);

    private static string With(string example, int index, string field)
    {
        var fields = example.Split(';');
        fields[index] = field;
        return string.Join(';', fields);
    }

    [Fact]
    public void Encodes_the_documented_format()
    {
        var checkpoint = new ReplicationCheckpoint(120, Vector(("us-east@1a2b3c4d", 119)), 4411, "1a2b3c4d", "5e1f09aa", 0, 0)
        {
            Carried = Carried,
            CatchUp = new CatchUp(100, OriginSet.Of(["ap-south"])),
        };

        Assert.Equal(Example, checkpoint.Encode());
    }

    [Fact]
    public void Start_reads_the_whole_destination_with_an_empty_vector()
    {
        var start = ReplicationCheckpoint.Start(17, Inc, Inc2, OriginSet.Of(["us-east"]));

        Assert.Equal(new ReplicationCheckpoint(17, new OriginVector(), 0, Inc, Inc2, 0, 0) { Carried = OriginSet.Of(["us-east"]) }, start);
        Assert.Null(start.CatchUp);
        Assert.Equal("3;next=17;dest=0;src=1a2b3c4d;dst=5e1f09aa;quarantined=0;expired=0;carried=us-east;catchup=;vector=", start.Encode());
    }

    [Fact]
    public void Encodes_several_origins_and_counters_in_ordinal_order()
    {
        var checkpoint = new ReplicationCheckpoint(long.MaxValue, Vector(("us-east@1a2b3c4d", 1200), ("eu-west@5e1f09aa", 41), ("eu-west@1", 7)), 7, "1", "2", 3, long.MaxValue)
        {
            Carried = OriginSet.All,
            CatchUp = new CatchUp(long.MaxValue, OriginSet.Of(["us-east", "eu-west", "ap-south"])),
        };

        Assert.Equal("3;next=9223372036854775807;dest=7;src=1;dst=2;quarantined=3;expired=9223372036854775807;carried=*;catchup=9223372036854775807:ap-south,eu-west,us-east;" +
                     "vector=eu-west@1:7,eu-west@5e1f09aa:41,us-east@1a2b3c4d:1200",
            checkpoint.Encode());
    }

    [Theory]
    [InlineData("", "carried=;catchup=")]
    [InlineData("us-east", "carried=us-east;catchup=")]
    [InlineData("*", "carried=*;catchup=")]
    public void Encodes_what_the_link_carries(string carried, string expected)
    {
        Assert.True(OriginSet.TryParse(carried, out var set, out var reason), reason);
        var checkpoint = ReplicationCheckpoint.Start(0, Inc, Inc2, set);

        Assert.Contains($";{expected};", checkpoint.Encode());
    }

    [Fact]
    public void A_checkpoint_that_does_not_know_what_it_carries_is_written_as_version_2_again()
    {
        var unknown = new ReplicationCheckpoint(120, Vector(("us-east@1a2b3c4d", 119)), 4411, "1a2b3c4d", "5e1f09aa", 0, 0);

        Assert.Null(unknown.Carried);
        Assert.Equal(VersionTwo, unknown.Encode());
    }

    [Fact]
    public void A_catch_up_cannot_be_written_without_what_the_link_carries()
    {
        var inconsistent = new ReplicationCheckpoint(0, new OriginVector(), 0, Inc, Inc2, 0, 0) { CatchUp = new CatchUp(5, OriginSet.Of(["a"])) };

        var error = Assert.Throws<InvalidOperationException>(() => inconsistent.Encode());

        Assert.Equal("a checkpoint with a catch-up must say which origins its link carries", error.Message);
    }

    [Fact]
    public void Decodes_the_documented_example_into_exact_values()
    {
        Assert.True(ReplicationCheckpoint.TryDecode(Example, out var checkpoint, out var reason), reason);

        Assert.NotNull(checkpoint);
        Assert.Equal(120L, checkpoint.NextSourceOffset);
        Assert.Equal(4411L, checkpoint.DestinationEndOffset);
        Assert.Equal("1a2b3c4d", checkpoint.SourceIncarnation);
        Assert.Equal("5e1f09aa", checkpoint.DestinationIncarnation);
        Assert.Equal(0L, checkpoint.RecordsQuarantined);
        Assert.Equal(0L, checkpoint.RecordsExpired);
        Assert.Equal(new Dictionary<string, long> { ["us-east@1a2b3c4d"] = 119 }, checkpoint.Vector.Entries);
        Assert.Equal(Carried, checkpoint.Carried);
        Assert.Equal(new CatchUp(100, OriginSet.Of(["ap-south"])), checkpoint.CatchUp);
    }

    [Fact]
    public void Version_2_still_decodes_and_does_not_say_what_it_carried()
    {
        Assert.True(ReplicationCheckpoint.TryDecode(VersionTwo, out var checkpoint, out var reason), reason);

        Assert.Equal(new ReplicationCheckpoint(120, Vector(("us-east@1a2b3c4d", 119)), 4411, "1a2b3c4d", "5e1f09aa", 0, 0), checkpoint);
        Assert.Null(checkpoint!.Carried);
        Assert.Null(checkpoint.CatchUp);
        Assert.Equal(VersionTwo, checkpoint.Encode());
    }

    [Fact]
    public void Decodes_a_catch_up_naming_every_origin_and_an_empty_carried_set()
    {
        Assert.True(ReplicationCheckpoint.TryDecode(With(With(7, "carried="), 8, "catchup=0:*"), out var checkpoint, out var reason), reason);

        Assert.Equal(OriginSet.None, checkpoint!.Carried);
        Assert.Equal(new CatchUp(0, OriginSet.All), checkpoint.CatchUp);
    }

    [Fact]
    public void Decodes_the_regions_of_a_set_in_any_order()
    {
        Assert.True(ReplicationCheckpoint.TryDecode(With(With(7, "carried=us-east,ap-south"), 8, "catchup=7:us-east,ap-south"), out var checkpoint, out var reason), reason);

        Assert.Equal(Carried, checkpoint!.Carried);
        Assert.Equal(new CatchUp(7, Carried), checkpoint.CatchUp);
        Assert.Equal(Example.Replace("catchup=100:ap-south", "catchup=7:ap-south,us-east"), checkpoint.Encode());
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
            foreach (var origin in DistinctRegionIds(random, random.Next(0, 5)))
                for (var n = random.Next(1, 3); n > 0; n--)
                    vector.Advance(OriginVector.Key(origin, Incarnation(random)), random.NextInt64(0, long.MaxValue));
            var carried = random.Next(5) switch
            {
                0 => null, // version 2
                1 => OriginSet.All,
                2 => OriginSet.None,
                _ => OriginSet.Of(DistinctRegionIds(random, random.Next(1, 5))),
            };
            var catchUp = carried is null || random.Next(2) == 0
                ? null
                : new CatchUp(random.Next(3) == 0 ? 0 : random.NextInt64(0, long.MaxValue),
                    random.Next(6) == 0 ? OriginSet.All : OriginSet.Of(DistinctRegionIds(random, random.Next(1, 5))));
            var original = new ReplicationCheckpoint(
                random.NextInt64(0, long.MaxValue), vector, random.Next(3) == 0 ? 0 : random.NextInt64(0, long.MaxValue),
                Incarnation(random), Incarnation(random),
                random.Next(2) == 0 ? 0 : random.NextInt64(0, long.MaxValue), random.Next(2) == 0 ? 0 : random.NextInt64(0, long.MaxValue))
            {
                Carried = carried,
                CatchUp = catchUp,
            };
            var text = original.Encode();

            Assert.True(ReplicationCheckpoint.TryDecode(text, out var decoded, out var reason), $"seed {seed}: '{text}': {reason}");
            Assert.Equal("", reason);
            Assert.NotNull(decoded);
            Assert.Equal(original.NextSourceOffset, decoded.NextSourceOffset);
            Assert.Equal(original.DestinationEndOffset, decoded.DestinationEndOffset);
            Assert.Equal(original.SourceIncarnation, decoded.SourceIncarnation);
            Assert.Equal(original.DestinationIncarnation, decoded.DestinationIncarnation);
            Assert.Equal(original.RecordsQuarantined, decoded.RecordsQuarantined);
            Assert.Equal(original.RecordsExpired, decoded.RecordsExpired);
            Assert.Equal(original.Vector, decoded.Vector);
            Assert.Equal(original.Carried, decoded.Carried);
            Assert.Equal(original.CatchUp, decoded.CatchUp);
            Assert.Equal(original, decoded);
            Assert.Equal(text, decoded.Encode());
        }
    }

    public static TheoryData<string, string> MalformedText => new()
    {
        // Shape and version.
        { "", "checkpoint '' " + FormatHint },
        { "2", "checkpoint '2' " + FormatHint },
        { "1;next=120;dest=4411;vector=us-east:119", "checkpoint '1;next=120;dest=4411;vector=us-east:119' " + FormatHint },
        { With(0, "1"), $"checkpoint '{Quote(With(0, "1"))}' " + FormatHint },
        { With(0, "2"), $"checkpoint '{Quote(With(0, "2"))}' " + FormatHint },
        { With(0, "4"), $"checkpoint '{Quote(With(0, "4"))}' " + FormatHint },
        { With(0, ""), $"checkpoint '{Quote(With(0, ""))}' " + FormatHint },
        { Example + ";", $"checkpoint '{(Example + ";")[..80]}...' " + FormatHint },
        { "2;next=120;dest=4411;src=1a2b3c4d;dst=5e1f09aa;quarantined=0;expired=0", "checkpoint '2;next=120;dest=4411;src=1a2b3c4d;dst=5e1f09aa;quarantined=0;expired=0' " + FormatHint },
        { With(VersionTwo, 0, "3"), $"checkpoint '{Quote(With(VersionTwo, 0, "3"))}' " + FormatHint },
        { VersionTwo + ";carried=a;catchup=", $"checkpoint '{Quote(VersionTwo + ";carried=a;catchup=")}' " + FormatHint },
        { NoCatchUpField, $"checkpoint '{Quote(NoCatchUpField)}' " + FormatHint },
        // next.
        { With(1, "nxt=1"), "checkpoint field 'nxt=1' should be 'next=...'" },
        { With(1, "next="), "checkpoint field 'next=' should be 'next=...'" },
        { With(1, "NEXT=1"), "checkpoint field 'NEXT=1' should be 'next=...'" },
        { With(1, "next=-2"), "checkpoint field 'next=-2' should be 'next=<non-negative integer>'" },
        { With(1, "next=x"), "checkpoint field 'next=x' should be 'next=<non-negative integer>'" },
        { With(1, "next= 1"), "checkpoint field 'next= 1' should be 'next=<non-negative integer>'" },
        { With(1, "next=9223372036854775808"), "checkpoint field 'next=9223372036854775808' should be 'next=<non-negative integer>'" },
        // dest (and fields out of order).
        { With(1, "dest=2"), "checkpoint field 'dest=2' should be 'next=...'" },
        { With(2, "dest="), "checkpoint field 'dest=' should be 'dest=...'" },
        { With(2, "dest=-2"), "checkpoint field 'dest=-2' should be 'dest=<non-negative integer>'" },
        { With(2, "dest=2.5"), "checkpoint field 'dest=2.5' should be 'dest=<non-negative integer>'" },
        // src, dst.
        { With(3, "src="), "checkpoint field 'src=' should be 'src=...'" },
        { With(3, "source=1a2b3c4d"), "checkpoint field 'source=1a2b3c4d' should be 'src=...'" },
        { With(3, "src=1A2B"), "incarnation '1A2B' contains 'A'; it is lower-case letters and digits" },
        { With(3, "src=" + new string('a', 33)), $"an incarnation is at most 32 characters, '{new string('a', 33)}' has 33" },
        { With(4, "dst="), "checkpoint field 'dst=' should be 'dst=...'" },
        { With(4, "dst=5e1f-09aa"), "incarnation '5e1f-09aa' contains '-'; it is lower-case letters and digits" },
        // quarantined, expired.
        { With(5, "quarantined="), "checkpoint field 'quarantined=' should be 'quarantined=...'" },
        { With(5, "quarantined=-1"), "checkpoint field 'quarantined=-1' should be 'quarantined=<non-negative integer>'" },
        { With(5, "q=0"), "checkpoint field 'q=0' should be 'quarantined=...'" },
        { With(6, "expired=x"), "checkpoint field 'expired=x' should be 'expired=<non-negative integer>'" },
        { With(6, "expired=1e3"), "checkpoint field 'expired=1e3' should be 'expired=<non-negative integer>'" },
        { With(6, "expired"), "checkpoint field 'expired' should be 'expired=...'" },
        // carried.
        { With(7, "origins=a"), "checkpoint field 'origins=a' should be 'carried=...'" },
        { With(7, "carried"), "checkpoint field 'carried' should be 'carried=...'" },
        { With(7, "carried=u+s"), "checkpoint field 'carried=u+s': origin set 'u+s': region id 'u+s' contains '+'; " + BadCharHint },
        { With(7, "carried=a,a"), "checkpoint field 'carried=a,a': origin set 'a,a' names 'a' twice" },
        { With(7, "carried=a,"), "checkpoint field 'carried=a,': origin set 'a,': a region id must not be empty" },
        { With(7, "carried=*,a"), "checkpoint field 'carried=*,a': origin set '*,a': region id '*' contains '*'; " + BadCharHint },
        { With(7, "carried=a b"), "checkpoint field 'carried=a b': origin set 'a b': region id 'a b' contains ' '; " + BadCharHint },
        // catchup.
        { With(8, "catch=5:a"), "checkpoint field 'catch=5:a' should be 'catchup=...'" },
        { With(8, "catchup=5"), "checkpoint field 'catchup=5': catch-up '5' should be '<offset until>:<origins>'" },
        { With(8, "catchup=:a"), "checkpoint field 'catchup=:a': catch-up ':a' should be '<offset until>:<origins>'" },
        { With(8, "catchup=x:a"), "checkpoint field 'catchup=x:a': catch-up 'x:a' should be '<offset until>:<origins>'" },
        { With(8, "catchup=-1:a"), "checkpoint field 'catchup=-1:a': catch-up '-1:a' should be '<offset until>:<origins>'" },
        { With(8, "catchup=5:"), "checkpoint field 'catchup=5:': catch-up '5:' names no origin (a catch-up with nothing to catch up is written as none)" },
        { With(8, "catchup=5:a!"), "checkpoint field 'catchup=5:a!': origin set 'a!': region id 'a!' contains '!'; " + BadCharHint },
        { With(8, "catchup=5:a:b"), "checkpoint field 'catchup=5:a:b': origin set 'a:b': region id 'a:b' contains ':'; " + BadCharHint },
        // vector.
        { With(9, "vec=a@1:1"), "checkpoint field 'vec=a@1:1' should be 'vector=...'" },
        { With(9, "a@1:1"), "checkpoint field 'a@1:1' should be 'vector=...'" },
        { With(9, "vector=a"), "origin vector entry 'a' is not 'region:offset'" },
        { With(9, "vector=us-east:119"), "origin vector entry 'us-east:119': origin 'us-east' is not 'region@incarnation'" },
        { With(9, "vector=@1:1"), "origin vector entry '@1:1': origin '@1' is not 'region@incarnation'" },
        { With(9, "vector=a@:1"), "origin vector entry 'a@:1': an incarnation must not be empty" },
        { With(9, "vector=a!@1:1"), "origin vector entry 'a!@1:1': region id 'a!' contains '!'; " + BadCharHint },
        { With(9, "vector=a@X:1"), "origin vector entry 'a@X:1': incarnation 'X' contains 'X'; it is lower-case letters and digits" },
        { With(9, "vector=a@1:-1"), "origin vector entry 'a@1:-1': offset is not a non-negative integer" },
        { With(9, "vector=a@1:1,a@1:2"), "origin vector names 'a@1' twice" },
        // Version 2, field by field as it always was.
        { With(VersionTwo, 1, "next=x"), "checkpoint field 'next=x' should be 'next=<non-negative integer>'" },
        { With(VersionTwo, 6, "expired="), "checkpoint field 'expired=' should be 'expired=...'" },
        { With(VersionTwo, 7, "carried=a"), "checkpoint field 'carried=a' should be 'vector=...'" },
        { With(VersionTwo, 7, "vector=a"), "origin vector entry 'a' is not 'region:offset'" },
    };

    [Theory]
    [MemberData(nameof(MalformedText))]
    public void Malformed_text_is_rejected_with_a_reason(string text, string expectedReason)
    {
        var ok = ReplicationCheckpoint.TryDecode(text, out var checkpoint, out var reason);

        Assert.False(ok);
        Assert.Null(checkpoint);
        Assert.Equal(expectedReason, reason);
    }

    [Fact]
    public void The_same_region_in_two_incarnations_is_two_entries()
    {
        Assert.True(ReplicationCheckpoint.TryDecode(With(9, "vector=a@1:1,a@2:2"), out var checkpoint, out var reason), reason);

        Assert.Equal(1L, checkpoint!.Vector.HighestFor("a@1"));
        Assert.Equal(2L, checkpoint.Vector.HighestFor("a@2"));
    }

    [Fact]
    public void Equality_includes_what_the_link_carries_and_its_catch_up()
    {
        var a = ReplicationCheckpoint.Start(5, "1", "2", OriginSet.Of(["a", "b"])) with { CatchUp = new CatchUp(9, OriginSet.Of(["b"])) };

        Assert.Equal(a, ReplicationCheckpoint.Start(5, "1", "2", OriginSet.Of(["b", "a", "b"])) with { CatchUp = new CatchUp(9, OriginSet.Of(["b"])) });
        Assert.Equal(a.GetHashCode(), (a with { Carried = OriginSet.Of(["b", "a"]) }).GetHashCode());
        Assert.NotEqual(a, a with { Carried = OriginSet.Of(["a"]) });
        Assert.NotEqual(a, a with { Carried = OriginSet.All });
        Assert.NotEqual(a, a with { Carried = null });
        Assert.NotEqual(a, a with { CatchUp = null });
        Assert.NotEqual(a, a with { CatchUp = new CatchUp(10, OriginSet.Of(["b"])) });
        Assert.NotEqual(a, a with { CatchUp = new CatchUp(9, OriginSet.Of(["a"])) });
    }

    [Fact]
    public void Equality_includes_the_vector_incarnations_and_counters()
    {
        var a = new ReplicationCheckpoint(5, Vector(("a@1", 1)), 9, "1", "2", 3, 4);

        Assert.Equal(a, new ReplicationCheckpoint(5, Vector(("a@1", 1)), 9, "1", "2", 3, 4));
        Assert.NotEqual(a, new ReplicationCheckpoint(5, Vector(("a@1", 2)), 9, "1", "2", 3, 4));
        Assert.NotEqual(a, new ReplicationCheckpoint(5, Vector(("a@2", 1)), 9, "1", "2", 3, 4));
        Assert.NotEqual(a, new ReplicationCheckpoint(6, Vector(("a@1", 1)), 9, "1", "2", 3, 4));
        Assert.NotEqual(a, new ReplicationCheckpoint(5, Vector(("a@1", 1)), 10, "1", "2", 3, 4));
        Assert.NotEqual(a, new ReplicationCheckpoint(5, Vector(("a@1", 1)), 9, "9", "2", 3, 4));
        Assert.NotEqual(a, new ReplicationCheckpoint(5, Vector(("a@1", 1)), 9, "1", "9", 3, 4));
        Assert.NotEqual(a, new ReplicationCheckpoint(5, Vector(("a@1", 1)), 9, "1", "2", 0, 4));
        Assert.NotEqual(a, new ReplicationCheckpoint(5, Vector(("a@1", 1)), 9, "1", "2", 3, 0));
    }
}
