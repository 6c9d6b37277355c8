using System.Text;
using Mesh.Core.Replication;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

public sealed class ProvenanceCodecTests
{
    private const string BadCharHint = "use letters, digits, '-', '_' or '.'";
    private const string Example = "2|us-east|1a2b3c4d|orders|3|1042|1732480000000|us-east,eu-west|-";

    /// <summary>The documented example with field <paramref name="index"/> replaced.</summary>
    private static string With(int index, string field)
    {
        var fields = Example.Split('|');
        fields[index] = field;
        return string.Join('|', fields);
    }

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

            Assert.True(ProvenanceCodec.TryDecode(bytes, out var header, out var reason), $"seed {seed} case {i}: {reason} for '{Encoding.UTF8.GetString(bytes)}'");
            Assert.Equal("", reason);
            Assert.NotNull(header);
            var decoded = header.Provenance;
            Assert.Equal(original.OriginRegion, decoded.OriginRegion);
            Assert.Equal(original.OriginIncarnation, decoded.OriginIncarnation);
            Assert.Equal(original.OriginTopic, decoded.OriginTopic);
            Assert.Equal(original.OriginPartition, decoded.OriginPartition);
            Assert.Equal(original.OriginOffset, decoded.OriginOffset);
            Assert.Equal(original.OriginTimestampMs, decoded.OriginTimestampMs);
            Assert.Equal(original.Hops.ToArray(), decoded.Hops.ToArray());
            Assert.Equal(original, decoded);
            Assert.Null(header.KeyId);
            Assert.Null(header.Mac);
            Assert.Equal(bytes.Length - 2, header.SignedLength);
            Assert.Equal(bytes, ProvenanceCodec.Encode(decoded));
        }
    }

    [Theory]
    [MemberData(nameof(RoundTripSeeds))]
    public void Random_signed_provenance_round_trips_with_its_signature(int seed)
    {
        var random = new Random(seed);
        using var signer = Keys.CreateSigner();
        for (var i = 0; i < 20; i++)
        {
            var original = RandomProvenance(random);
            var bytes = signer.Encode(original, RandomBytes(random), RandomBytes(random));

            Assert.True(ProvenanceCodec.TryDecode(bytes, out var header, out var reason), $"seed {seed} case {i}: {reason}");
            Assert.Equal(original, header!.Provenance);
            Assert.Equal(Keys.SigningKeyId, header.KeyId);
            Assert.Equal(ProvenanceSigner.MacLength, header.Mac!.Length);
            Assert.Equal(Utf8(ProvenanceCodec.EncodeUnsigned(original)).Length, header.SignedLength);
            Assert.Equal((byte)'|', bytes[header.SignedLength]);
        }
    }

    [Theory]
    [InlineData("a", "a", "t", 0, 0L, 0L, new[] { "a" })]
    [InlineData("us-east", "1a2b3c4d", "orders", int.MaxValue, long.MaxValue, long.MaxValue, new[] { "us-east", "eu-west" })]
    [InlineData("us-east", "0", "A.b_c-D", 0, 0L, long.MinValue, new[] { "us-east", "eu-west", "ap-south", "sa-east", "af-1" })]
    [InlineData("r.1_x-2", "abcdefghijklmnopqrstuvwxyz012345", "-", 7, 42L, -1L, new[] { "r.1_x-2", "0", "-", "_", "." })]
    public void Edge_values_round_trip(string origin, string incarnation, string topic, int partition, long offset, long timestamp, string[] hops)
    {
        var original = Prov(origin, incarnation, topic, partition, offset, timestamp, hops);

        Assert.True(ProvenanceCodec.TryDecode(ProvenanceCodec.Encode(original), out var decoded, out var reason), reason);
        Assert.Equal(original, decoded!.Provenance);
    }

    [Fact]
    public void Encodes_the_documented_byte_format()
    {
        var provenance = Prov("us-east", "1a2b3c4d", "orders", 3, 1042, 1732480000000, "us-east", "eu-west");

        Assert.Equal(Utf8(Example), ProvenanceCodec.Encode(provenance));
        Assert.Equal("2|us-east|1a2b3c4d|orders|3|1042|1732480000000|us-east,eu-west", ProvenanceCodec.EncodeUnsigned(provenance));
    }

    [Fact]
    public void Encodes_a_signature_as_key_id_dot_base64url_mac()
    {
        var mac = Enumerable.Range(0, 16).Select(i => (byte)(i * 17 + 250)).ToArray();

        var bytes = ProvenanceCodec.Encode("2|a|1|t|0|5|-1|a,b", "0123abcd", mac);

        var text = Text(bytes);
        Assert.StartsWith("2|a|1|t|0|5|-1|a,b|0123abcd.", text);
        var encodedMac = text["2|a|1|t|0|5|-1|a,b|0123abcd.".Length..];
        Assert.DoesNotContain('=', encodedMac);
        Assert.DoesNotContain('+', encodedMac);
        Assert.DoesNotContain('/', encodedMac);
        Assert.True(ProvenanceCodec.TryDecode(bytes, out var header, out var reason), reason);
        Assert.Equal("0123abcd", header!.KeyId);
        Assert.Equal(mac, header.Mac);
    }

    [Fact]
    public void Encodes_a_negative_timestamp_with_an_ascii_minus_sign()
    {
        var bytes = ProvenanceCodec.Encode(Prov("a", "1", "t", 0, 5, -1732480000000, "a"));

        Assert.Equal("2|a|1|t|0|5|-1732480000000|a|-"u8.ToArray(), bytes);
    }

    [Fact]
    public void Decodes_the_documented_example_into_exact_values()
    {
        Assert.True(ProvenanceCodec.TryDecode(Utf8(Example), out var header, out var reason), reason);

        Assert.NotNull(header);
        var decoded = header.Provenance;
        Assert.Equal("us-east", decoded.OriginRegion);
        Assert.Equal("1a2b3c4d", decoded.OriginIncarnation);
        Assert.Equal("orders", decoded.OriginTopic);
        Assert.Equal(3, decoded.OriginPartition);
        Assert.Equal(1042L, decoded.OriginOffset);
        Assert.Equal(1732480000000L, decoded.OriginTimestampMs);
        Assert.Equal(new[] { "us-east", "eu-west" }, decoded.Hops.ToArray());
        Assert.Null(header.KeyId);
        Assert.Null(header.Mac);
        Assert.Equal(Example.Length - 2, header.SignedLength);
    }

    [Fact]
    public void Header_names_are_stable()
    {
        Assert.Equal("mesh.provenance", ProvenanceCodec.HeaderName);
        Assert.Equal("mesh.provenance.untrusted", ProvenanceCodec.UntrustedHeaderName);
        Assert.Equal("-", ProvenanceCodec.Unsigned);
    }

    [Fact]
    public void Encode_rejects_null()
    {
        Assert.Throws<ArgumentNullException>(() => ProvenanceCodec.Encode(null!));
        Assert.Throws<ArgumentNullException>(() => ProvenanceCodec.EncodeUnsigned(null!));
    }

    public static TheoryData<string, string> MalformedText => new()
    {
        // Version (checked first).
        { "", "unsupported provenance format version '' (this build reads version 2)" },
        { "1", "unsupported provenance format version '1' (this build reads version 2)" },
        { "1|us-east|3|1042|1732480000000|us-east,eu-west", "unsupported provenance format version '1' (this build reads version 2)" },
        { With(0, "1"), "unsupported provenance format version '1' (this build reads version 2)" },
        { With(0, "3"), "unsupported provenance format version '3' (this build reads version 2)" },
        { With(0, "v2"), "unsupported provenance format version 'v2' (this build reads version 2)" },
        { With(0, " 2"), "unsupported provenance format version ' 2' (this build reads version 2)" },
        { With(0, new string('9', 50)), $"unsupported provenance format version '{new string('9', 40)}...' (this build reads version 2)" },
        // Field count.
        { "2", "expected 9 '|'-separated fields, found 1" },
        { "2|us-east|1a2b3c4d|orders|3|1042|1732480000000|us-east,eu-west", "expected 9 '|'-separated fields, found 8" },
        { Example + "|", "expected 9 '|'-separated fields, found 10" },
        { Example + "|x", "expected 9 '|'-separated fields, found 10" },
        // Origin region.
        { With(1, ""), "origin region: a region id must not be empty" },
        { "2|us+east|1a2b3c4d|orders|3|1042|1732480000000|us+east|-", $"origin region: region id 'us+east' contains '+'; {BadCharHint}" },
        { "2|us east|1a2b3c4d|orders|3|1042|1732480000000|us east|-", $"origin region: region id 'us east' contains ' '; {BadCharHint}" },
        { "2|us@east|1a2b3c4d|orders|3|1042|1732480000000|us@east|-", $"origin region: region id 'us@east' contains '@'; {BadCharHint}" },
        { "2|us-éast|1a2b3c4d|orders|3|1042|1732480000000|us-éast|-", $"origin region: region id 'us-éast' contains 'é'; {BadCharHint}" },
        { With(1, new string('a', 65)), $"origin region: a region id is at most 64 characters, '{new string('a', 65)}' has 65" },
        // Origin incarnation.
        { With(2, ""), "origin incarnation: an incarnation must not be empty" },
        { With(2, "1A2B3C4D"), "origin incarnation: incarnation '1A2B3C4D' contains 'A'; it is lower-case letters and digits" },
        { With(2, "1a2b-3c4d"), "origin incarnation: incarnation '1a2b-3c4d' contains '-'; it is lower-case letters and digits" },
        { With(2, "1a@b"), "origin incarnation: incarnation '1a@b' contains '@'; it is lower-case letters and digits" },
        { With(2, new string('a', 33)), $"origin incarnation: an incarnation is at most 32 characters, '{new string('a', 33)}' has 33" },
        // Origin topic.
        { With(3, ""), "origin topic: a topic name must not be empty" },
        { With(3, "or ders"), "origin topic: topic name 'or ders' contains ' '; Kafka allows a-z, A-Z, 0-9, '.', '_' and '-'" },
        { With(3, "orders,x"), "origin topic: topic name 'orders,x' contains ','; Kafka allows a-z, A-Z, 0-9, '.', '_' and '-'" },
        { With(3, "ordérs"), "origin topic: topic name 'ordérs' contains 'é'; Kafka allows a-z, A-Z, 0-9, '.', '_' and '-'" },
        { With(3, new string('t', 250)), "origin topic: a topic name is at most 249 characters" },
        // Origin partition.
        { With(4, ""), "origin partition '' is not a non-negative integer" },
        { With(4, "x"), "origin partition 'x' is not a non-negative integer" },
        { With(4, "-1"), "origin partition '-1' is not a non-negative integer" },
        { With(4, "+1"), "origin partition '+1' is not a non-negative integer" },
        { With(4, " 3"), "origin partition ' 3' is not a non-negative integer" },
        { With(4, "3.0"), "origin partition '3.0' is not a non-negative integer" },
        { With(4, "0x3"), "origin partition '0x3' is not a non-negative integer" },
        { With(4, "2147483648"), "origin partition '2147483648' is not a non-negative integer" },
        // Origin offset.
        { With(5, ""), "origin offset '' is not a non-negative integer" },
        { With(5, "abc"), "origin offset 'abc' is not a non-negative integer" },
        { With(5, "-1"), "origin offset '-1' is not a non-negative integer" },
        { With(5, "1,042"), "origin offset '1,042' is not a non-negative integer" },
        { With(5, "1042 "), "origin offset '1042 ' is not a non-negative integer" },
        { With(5, "9223372036854775808"), "origin offset '9223372036854775808' is not a non-negative integer" },
        // Origin timestamp.
        { With(6, ""), "origin timestamp '' is not an integer" },
        { With(6, "now"), "origin timestamp 'now' is not an integer" },
        { With(6, "1.5"), "origin timestamp '1.5' is not an integer" },
        { With(6, "--5"), "origin timestamp '--5' is not an integer" },
        { With(6, "9223372036854775808"), "origin timestamp '9223372036854775808' is not an integer" },
        // Hops.
        { With(7, ""), "hops: a region id must not be empty" },
        { With(7, "us-east,"), "hops: a region id must not be empty" },
        { With(7, "us-east,,eu-west"), "hops: a region id must not be empty" },
        { With(7, "us-east,eu+west"), $"hops: region id 'eu+west' contains '+'; {BadCharHint}" },
        { With(7, "us-east eu-west"), $"hops: region id 'us-east eu-west' contains ' '; {BadCharHint}" },
        { With(7, "eu-west"), "hops must start at the origin region 'us-east', found 'eu-west'" },
        { With(7, "eu-west,us-east"), "hops must start at the origin region 'us-east', found 'eu-west'" },
        { With(7, "us-east,us-east"), "hops list a region twice (us-east,us-east): the record has looped" },
        { With(7, "us-east,eu-west,us-east,eu-west"), "hops list a region twice (us-east,eu-west,us-east,eu-west): the record has looped" },
        { With(7, "us-east,eu-west,ap-south,eu-west"), "hops list a region twice (us-east,eu-west,ap-south,eu-west): the record has looped" },
        // Signature.
        { With(8, ""), "signature '' is not '-' or '<key id>.<mac>'" },
        { With(8, "--"), "signature '--' is not '-' or '<key id>.<mac>'" },
        { With(8, "0123abcd"), "signature '0123abcd' is not '-' or '<key id>.<mac>'" },
        { With(8, ".AAAAAAAAAAAAAAAAAAAAAA"), "signature '.AAAAAAAAAAAAAAAAAAAAAA' is not '-' or '<key id>.<mac>'" },
        { With(8, "0123abc.AAAAAAAAAAAAAAAAAAAAAA"), "signature '0123abc.AAAAAAAAAAAAAAAAAAAAAA' is not '-' or '<key id>.<mac>'" },
        { With(8, "0123abcde.AAAAAAAAAAAAAAAAAAAAAA"), "signature '0123abcde.AAAAAAAAAAAAAAAAAAAAAA' is not '-' or '<key id>.<mac>'" },
        { With(8, "0123ABCD.AAAAAAAAAAAAAAAAAAAAAA"), "signature '0123ABCD.AAAAAAAAAAAAAAAAAAAAAA' is not '-' or '<key id>.<mac>'" },
        { With(8, "0123abcg.AAAAAAAAAAAAAAAAAAAAAA"), "signature '0123abcg.AAAAAAAAAAAAAAAAAAAAAA' is not '-' or '<key id>.<mac>'" },
        { With(8, "0123abcd.AAAAAAAAAAAAAAAAAAAA!!"), "signature '0123abcd.AAAAAAAAAAAAAAAAAAAA!!' does not carry a base64url MAC" },
        { With(8, "0123abcd.AAAAAAAAAAAAAAAAAAAA+/"), "signature '0123abcd.AAAAAAAAAAAAAAAAAAAA+/' does not carry a base64url MAC" },
        { With(8, "0123abcd."), "signature MAC is 0 bytes, expected 16" },
        { With(8, "0123abcd.AAAA"), "signature MAC is 3 bytes, expected 16" },
        { With(8, "0123abcd.AAAAAAAAAAAAAAAAAAAAAAAA"), "signature MAC is 18 bytes, expected 16" },
        { With(8, "0123abcd." + new string('A', 60)), "signature MAC is 45 bytes, expected 16" },
    };

    [Theory]
    [MemberData(nameof(MalformedText))]
    public void Malformed_text_is_rejected_with_a_reason(string text, string expectedReason)
    {
        var ok = ProvenanceCodec.TryDecode(Utf8(text), out var header, out var reason);

        Assert.False(ok);
        Assert.Null(header);
        Assert.Equal(expectedReason, reason);
    }

    [Fact]
    public void A_well_formed_signature_decodes_to_its_key_id_and_mac()
    {
        Assert.True(ProvenanceCodec.TryDecode(Utf8(With(8, "0123abcd.AAAAAAAAAAAAAAAAAAAAAA")), out var header, out var reason), reason);

        Assert.Equal("0123abcd", header!.KeyId);
        Assert.Equal(new byte[16], header.Mac);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xC3 })] // truncated two-byte sequence
    [InlineData(new byte[] { 0xC0, 0xAF })] // overlong '/'
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // encoded surrogate
    [InlineData(new byte[] { 0x32, 0x7C, 0x75, 0xFE, 0x7C, 0x33 })] // "2|u\xFE|3"
    public void Invalid_utf8_is_rejected(byte[] value)
    {
        var ok = ProvenanceCodec.TryDecode(value, out var header, out var reason);

        Assert.False(ok);
        Assert.Null(header);
        Assert.Equal("header is not valid UTF-8", reason);
    }

    [Fact]
    public void Invalid_utf8_inside_an_otherwise_valid_header_is_rejected()
    {
        var value = Utf8(Example).ToList();
        value.Insert(10, 0xFF);

        Assert.False(ProvenanceCodec.TryDecode(value.ToArray(), out _, out var reason));
        Assert.Equal("header is not valid UTF-8", reason);
    }

    [Fact]
    public void Empty_and_null_values_are_rejected()
    {
        Assert.False(ProvenanceCodec.TryDecode([], out var fromEmpty, out var emptyReason));
        Assert.Null(fromEmpty);
        Assert.Equal("unsupported provenance format version '' (this build reads version 2)", emptyReason);

        byte[]? missing = null;
        Assert.False(ProvenanceCodec.TryDecode(missing, out var fromNull, out var nullReason));
        Assert.Null(fromNull);
        Assert.Equal("unsupported provenance format version '' (this build reads version 2)", nullReason);
    }

    [Fact]
    public void A_byte_order_mark_is_not_skipped()
    {
        var value = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Utf8(Example)).ToArray();

        Assert.False(ProvenanceCodec.TryDecode(value, out _, out var reason));
        Assert.Equal("unsupported provenance format version '\uFEFF2' (this build reads version 2)", reason);
    }
}
