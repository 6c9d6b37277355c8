using System.Text;
using Mesh.Core.Replication;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

public sealed class ProvenanceCodecTests
{
    private const string BadCharHint = "use lower-case letters, digits, '-', '_' or '.'";

    public static IEnumerable<object[]> RoundTripSeeds => Seeds(40);

    [Theory]
    [MemberData(nameof(RoundTripSeeds))]
    public void Random_provenance_round_trips_exactly(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 50; i++)
        {
            var original = RandomProvenance(random);
            var bytes = ProvenanceCodec.Encode(original);

            Assert.True(ProvenanceCodec.TryDecode(bytes, out var decoded, out var reason), $"seed {seed} case {i}: {reason} for '{Encoding.UTF8.GetString(bytes)}'");
            Assert.Equal("", reason);
            Assert.NotNull(decoded);
            Assert.Equal(original.OriginRegion, decoded.OriginRegion);
            Assert.Equal(original.OriginPartition, decoded.OriginPartition);
            Assert.Equal(original.OriginOffset, decoded.OriginOffset);
            Assert.Equal(original.OriginTimestampMs, decoded.OriginTimestampMs);
            Assert.Equal(original.Hops.ToArray(), decoded.Hops.ToArray());
            Assert.Equal(original, decoded);
            Assert.Equal(bytes, ProvenanceCodec.Encode(decoded));
        }
    }

    [Theory]
    [InlineData("a", 0, 0L, 0L, new[] { "a" })]
    [InlineData("us-east", int.MaxValue, long.MaxValue, long.MaxValue, new[] { "us-east", "eu-west" })]
    [InlineData("us-east", 0, 0L, long.MinValue, new[] { "us-east", "eu-west", "ap-south", "sa-east", "af-1" })]
    [InlineData("r.1_x-2", 7, 42L, -1L, new[] { "r.1_x-2", "0", "-", "_", "." })]
    public void Edge_values_round_trip(string origin, int partition, long offset, long timestamp, string[] hops)
    {
        var original = Prov(origin, partition, offset, timestamp, hops);

        Assert.True(ProvenanceCodec.TryDecode(ProvenanceCodec.Encode(original), out var decoded, out var reason), reason);
        Assert.Equal(original, decoded);
    }

    [Fact]
    public void Encodes_the_documented_byte_format()
    {
        var provenance = Prov("us-east", 3, 1042, 1732480000000, "us-east", "eu-west");

        var bytes = ProvenanceCodec.Encode(provenance);

        Assert.Equal("1|us-east|3|1042|1732480000000|us-east,eu-west"u8.ToArray(), bytes);
    }

    [Fact]
    public void Encodes_a_negative_timestamp_with_an_ascii_minus_sign()
    {
        var bytes = ProvenanceCodec.Encode(Prov("a", 0, 5, -1732480000000, "a"));

        Assert.Equal("1|a|0|5|-1732480000000|a"u8.ToArray(), bytes);
    }

    [Fact]
    public void Decodes_the_documented_example_into_exact_values()
    {
        Assert.True(ProvenanceCodec.TryDecode("1|us-east|3|1042|1732480000000|us-east,eu-west"u8, out var decoded, out var reason), reason);

        Assert.NotNull(decoded);
        Assert.Equal("us-east", decoded.OriginRegion);
        Assert.Equal(3, decoded.OriginPartition);
        Assert.Equal(1042L, decoded.OriginOffset);
        Assert.Equal(1732480000000L, decoded.OriginTimestampMs);
        Assert.Equal(new[] { "us-east", "eu-west" }, decoded.Hops.ToArray());
    }

    [Fact]
    public void Header_name_is_stable()
    {
        Assert.Equal("mesh.provenance", ProvenanceCodec.HeaderName);
    }

    [Fact]
    public void Encode_rejects_null()
    {
        Assert.Throws<ArgumentNullException>(() => ProvenanceCodec.Encode(null!));
    }

    public static TheoryData<string, string> MalformedText => new()
    {
        // Field count.
        { "", "expected 6 '|'-separated fields, found 1" },
        { "1", "expected 6 '|'-separated fields, found 1" },
        { "1|us-east|3|1042|1732480000000", "expected 6 '|'-separated fields, found 5" },
        { "1|us-east|3|1042|1732480000000|us-east|eu-west", "expected 6 '|'-separated fields, found 7" },
        { "1|us-east|3|1042|1732480000000|us-east,eu-west|", "expected 6 '|'-separated fields, found 7" },
        // Version.
        { "2|us-east|3|1042|1732480000000|us-east", "unsupported provenance format version '2' (this build reads version 1)" },
        { "0|us-east|3|1042|1732480000000|us-east", "unsupported provenance format version '0' (this build reads version 1)" },
        { "|us-east|3|1042|1732480000000|us-east", "unsupported provenance format version '' (this build reads version 1)" },
        { "v1|us-east|3|1042|1732480000000|us-east", "unsupported provenance format version 'v1' (this build reads version 1)" },
        { " 1|us-east|3|1042|1732480000000|us-east", "unsupported provenance format version ' 1' (this build reads version 1)" },
        // Origin region.
        { "1||3|1042|1732480000000|us-east", "origin region: a region id must not be empty" },
        { "1|US-EAST|3|1042|1732480000000|US-EAST", $"origin region: region id 'US-EAST' contains 'U'; {BadCharHint}" },
        { "1|us-East|3|1042|1732480000000|us-East", $"origin region: region id 'us-East' contains 'E'; {BadCharHint}" },
        { "1|us east|3|1042|1732480000000|us east", $"origin region: region id 'us east' contains ' '; {BadCharHint}" },
        { "1|us/east|3|1042|1732480000000|us/east", $"origin region: region id 'us/east' contains '/'; {BadCharHint}" },
        { "1|us-éast|3|1042|1732480000000|us-éast", $"origin region: region id 'us-éast' contains 'é'; {BadCharHint}" },
        { $"1|{new string('a', 65)}|3|1042|1732480000000|a", $"origin region: a region id is at most 64 characters, '{new string('a', 65)}' has 65" },
        // Origin partition.
        { "1|us-east||1042|1732480000000|us-east", "origin partition '' is not a non-negative integer" },
        { "1|us-east|x|1042|1732480000000|us-east", "origin partition 'x' is not a non-negative integer" },
        { "1|us-east|-1|1042|1732480000000|us-east", "origin partition '-1' is not a non-negative integer" },
        { "1|us-east|+1|1042|1732480000000|us-east", "origin partition '+1' is not a non-negative integer" },
        { "1|us-east| 3|1042|1732480000000|us-east", "origin partition ' 3' is not a non-negative integer" },
        { "1|us-east|3.0|1042|1732480000000|us-east", "origin partition '3.0' is not a non-negative integer" },
        { "1|us-east|0x3|1042|1732480000000|us-east", "origin partition '0x3' is not a non-negative integer" },
        { "1|us-east|2147483648|1042|1732480000000|us-east", "origin partition '2147483648' is not a non-negative integer" },
        // Origin offset.
        { "1|us-east|3||1732480000000|us-east", "origin offset '' is not a non-negative integer" },
        { "1|us-east|3|abc|1732480000000|us-east", "origin offset 'abc' is not a non-negative integer" },
        { "1|us-east|3|-1|1732480000000|us-east", "origin offset '-1' is not a non-negative integer" },
        { "1|us-east|3|1,042|1732480000000|us-east", "origin offset '1,042' is not a non-negative integer" },
        { "1|us-east|3|1042 |1732480000000|us-east", "origin offset '1042 ' is not a non-negative integer" },
        { "1|us-east|3|9223372036854775808|1732480000000|us-east", "origin offset '9223372036854775808' is not a non-negative integer" },
        // Origin timestamp.
        { "1|us-east|3|1042||us-east", "origin timestamp '' is not an integer" },
        { "1|us-east|3|1042|now|us-east", "origin timestamp 'now' is not an integer" },
        { "1|us-east|3|1042|1.5|us-east", "origin timestamp '1.5' is not an integer" },
        { "1|us-east|3|1042|--5|us-east", "origin timestamp '--5' is not an integer" },
        { "1|us-east|3|1042|9223372036854775808|us-east", "origin timestamp '9223372036854775808' is not an integer" },
        // Hops.
        { "1|us-east|3|1042|1732480000000|", "hops: a region id must not be empty" },
        { "1|us-east|3|1042|1732480000000|us-east,", "hops: a region id must not be empty" },
        { "1|us-east|3|1042|1732480000000|us-east,,eu-west", "hops: a region id must not be empty" },
        { "1|us-east|3|1042|1732480000000|us-east,EU-WEST", $"hops: region id 'EU-WEST' contains 'E'; {BadCharHint}" },
        { "1|us-east|3|1042|1732480000000|us-east eu-west", $"hops: region id 'us-east eu-west' contains ' '; {BadCharHint}" },
        { "1|us-east|3|1042|1732480000000|eu-west", "hops must start at the origin region 'us-east', found 'eu-west'" },
        { "1|us-east|3|1042|1732480000000|eu-west,us-east", "hops must start at the origin region 'us-east', found 'eu-west'" },
        { "1|us-east|3|1042|1732480000000|us-east,us-east", "hops list a region twice (us-east,us-east): the record has looped" },
        { "1|us-east|3|1042|1732480000000|us-east,eu-west,us-east", "hops list a region twice (us-east,eu-west,us-east): the record has looped" },
        { "1|us-east|3|1042|1732480000000|us-east,eu-west,ap-south,eu-west", "hops list a region twice (us-east,eu-west,ap-south,eu-west): the record has looped" },
    };

    [Theory]
    [MemberData(nameof(MalformedText))]
    public void Malformed_text_is_rejected_with_a_reason(string text, string expectedReason)
    {
        var ok = ProvenanceCodec.TryDecode(Utf8(text), out var provenance, out var reason);

        Assert.False(ok);
        Assert.Null(provenance);
        Assert.Equal(expectedReason, reason);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xC3 })] // truncated two-byte sequence
    [InlineData(new byte[] { 0xC0, 0xAF })] // overlong '/'
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // encoded surrogate
    [InlineData(new byte[] { 0x31, 0x7C, 0x75, 0xFE, 0x7C, 0x33 })] // "1|u\xFE|3"
    public void Invalid_utf8_is_rejected(byte[] value)
    {
        var ok = ProvenanceCodec.TryDecode(value, out var provenance, out var reason);

        Assert.False(ok);
        Assert.Null(provenance);
        Assert.Equal("header is not valid UTF-8", reason);
    }

    [Fact]
    public void Invalid_utf8_inside_an_otherwise_valid_header_is_rejected()
    {
        var value = Utf8("1|us-east|3|1042|1732480000000|us-east,eu-west").ToList();
        value.Insert(10, 0xFF);

        Assert.False(ProvenanceCodec.TryDecode(value.ToArray(), out _, out var reason));
        Assert.Equal("header is not valid UTF-8", reason);
    }

    [Fact]
    public void Empty_and_null_values_are_rejected()
    {
        Assert.False(ProvenanceCodec.TryDecode([], out var fromEmpty, out var emptyReason));
        Assert.Null(fromEmpty);
        Assert.Equal("expected 6 '|'-separated fields, found 1", emptyReason);

        byte[]? missing = null;
        Assert.False(ProvenanceCodec.TryDecode(missing, out var fromNull, out var nullReason));
        Assert.Null(fromNull);
        Assert.Equal("expected 6 '|'-separated fields, found 1", nullReason);
    }

    [Fact]
    public void A_byte_order_mark_is_not_skipped()
    {
        var value = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Utf8("1|a|0|0|0|a")).ToArray();

        Assert.False(ProvenanceCodec.TryDecode(value, out _, out var reason));
        Assert.Equal("unsupported provenance format version '\uFEFF1' (this build reads version 1)", reason);
    }
}
