using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Text;
using Mesh.Core.Conflicts;
using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Conflicts;

public sealed class LwwRuleTests
{
    private const long Timestamp = 1_700_000_000_123;

    private static byte[] BigEndian(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    private static SourceRecord WithHeaders(params RecordHeader[] headers) =>
        new(12, "k"u8.ToArray(), "v"u8.ToArray(), Timestamp, headers);

    public static TheoryData<string, byte[]?, bool, long> HeaderValues => new()
    {
        // case, the header's value (null: no header at all), bad version, expected version value
        { "8 bytes big-endian", BigEndian(0x0102030405060708), false, 0x0102030405060708 },
        { "8 bytes negative", BigEndian(-2), false, -2 },
        { "8 bytes minimum", BigEndian(long.MinValue), false, long.MinValue },
        { "8 bytes maximum", BigEndian(long.MaxValue), false, long.MaxValue },
        { "8 zero bytes", new byte[8], false, 0 },
        { "decimal text", "42"u8.ToArray(), false, 42 },
        { "one digit", "7"u8.ToArray(), false, 7 },
        { "negative decimal text", "-42"u8.ToArray(), false, -42 },
        { "leading zeros", "0007"u8.ToArray(), false, 7 },
        { "decimal maximum", "9223372036854775807"u8.ToArray(), false, long.MaxValue },
        { "decimal minimum", "-9223372036854775808"u8.ToArray(), false, long.MinValue },
        // Eight digits read as text, not as the binary 0x3130303030303030: a text counter passing 10000000 must not jump.
        { "eight digits are text", "10000000"u8.ToArray(), false, 10_000_000 },
        { "minus and seven digits are text", "-1000000"u8.ToArray(), false, -1_000_000 },
        { "missing", null, true, Timestamp },
        { "empty", [], true, Timestamp },
        { "garbage", "v1.2"u8.ToArray(), true, Timestamp },
        { "a plus sign", "+5"u8.ToArray(), true, Timestamp },
        { "white space", " 5"u8.ToArray(), true, Timestamp },
        { "trailing white space", "5\n"u8.ToArray(), true, Timestamp },
        { "minus alone", "-"u8.ToArray(), true, Timestamp },
        { "a decimal point", "5.0"u8.ToArray(), true, Timestamp },
        { "decimal overflow", "9223372036854775808"u8.ToArray(), true, Timestamp },
        { "decimal underflow", "-9223372036854775809"u8.ToArray(), true, Timestamp },
        { "far too many digits", Encoding.ASCII.GetBytes(new string('9', 40)), true, Timestamp },
        { "4 bytes of binary", [0, 0, 1, 0], true, Timestamp },
        { "9 bytes of binary", [0, 0, 0, 0, 0, 0, 0, 1, 0], true, Timestamp },
        { "other digits (Arabic-Indic)", Encoding.UTF8.GetBytes("\u0664\u0662"), true, Timestamp },
    };

    [Theory]
    [MemberData(nameof(HeaderValues))]
    public void A_version_header_reads_as_binary_or_decimal_and_anything_else_falls_back_to_the_timestamp(string name, byte[]? value, bool bad, long expected)
    {
        var rule = new LwwRule("app-version");
        var record = value is null
            ? WithHeaders(new RecordHeader("other", "1"u8.ToArray()))
            : WithHeaders(new RecordHeader("other", "1"u8.ToArray()), new RecordHeader("app-version", value));

        var version = rule.VersionOf(record, "us-east", 12, Timestamp, out var badVersion);

        Assert.True(bad == badVersion, $"{name}: bad version {badVersion}");
        Assert.Equal(new RecordVersion(expected, "us-east", 12), version);
    }

    [Fact]
    public void A_header_without_a_value_is_a_bad_version()
    {
        var version = new LwwRule("app-version").VersionOf(WithHeaders(new RecordHeader("app-version", null)), "a", 1, Timestamp, out var bad);

        Assert.True(bad);
        Assert.Equal(Timestamp, version.Value);
    }

    [Fact]
    public void The_last_of_several_version_headers_counts()
    {
        var record = WithHeaders(new RecordHeader("app-version", "5"u8.ToArray()), new RecordHeader("app-version", "9"u8.ToArray()));

        Assert.Equal(9, new LwwRule("app-version").VersionOf(record, "a", 1, Timestamp, out _).Value);
    }

    [Fact]
    public void Header_names_match_exactly()
    {
        var record = WithHeaders(new RecordHeader("App-Version", "5"u8.ToArray()));

        new LwwRule("app-version").VersionOf(record, "a", 1, Timestamp, out var bad);

        Assert.True(bad);
    }

    [Fact]
    public void Without_a_version_header_the_origin_timestamp_is_the_version_and_never_bad()
    {
        var record = WithHeaders(new RecordHeader("app-version", "5"u8.ToArray())) with { TimestampMs = 1 };

        var version = new LwwRule(null).VersionOf(record, "eu-west", 3, -77, out var bad);

        Assert.False(bad);
        Assert.Equal(new RecordVersion(-77, "eu-west", 3), version);
    }

    [Fact]
    public void An_outbound_record_is_versioned_by_the_identity_its_provenance_names()
    {
        var provenance = new Provenance("ap-south", "1a2b3c4d", "profiles", 0, 41, 555, ImmutableArray.Create("ap-south", "us-east"));
        var outbound = new OutboundRecord("k"u8.ToArray(), null, 999, [new RecordHeader("app-version", BigEndian(3))], provenance, 7);

        Assert.Equal(new RecordVersion(555, "ap-south", 41), new LwwRule(null).VersionOf(outbound));
        Assert.Equal(new RecordVersion(3, "ap-south", 41), new LwwRule("app-version").VersionOf(outbound, out var bad));
        Assert.False(bad);
    }

    [Fact]
    public void A_rule_needs_a_header_name_or_none()
    {
        Assert.Throws<ArgumentException>(() => new LwwRule(""));
        Assert.Null(LwwRule.For(new Mesh.Core.Topology.ConflictRule("t", Mesh.Core.Topology.ConflictPolicy.Lww)).VersionHeader);
        Assert.Equal("v", LwwRule.For(new Mesh.Core.Topology.ConflictRule("t", Mesh.Core.Topology.ConflictPolicy.Lww) { VersionHeader = "v" }).VersionHeader);
    }
}
