using Mesh.Core.Replication;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

/// <summary>
/// <see cref="ProvenanceTrust.Read"/>: a record read at us-east, topic orders, partition 3. A genuine
/// header there was written by the link ap-south -> us-east.
/// </summary>
public sealed class ProvenanceTrustTests
{
    private const string Here = "us-east";
    private const string Other = "ap-south";
    private const int P = 3;
    private static readonly Provenance Genuine = Prov(Other, Inc2, Topic, P, 41, 77, Other, Here);

    private static ProvenanceReading Read(SourceRecord record, bool signed)
    {
        using var signer = signed ? Keys.CreateSigner() : null;
        return ProvenanceTrust.Read(record, Here, Topic, P, signer);
    }

    private static SourceRecord WithHeaders(params RecordHeader[] headers) => Record(9, headers);

    private static SourceRecord WithText(string text) => Record(9, ProvenanceHeader(text));

    private static readonly MeshKeys Foreign = MeshKeys.Create(OtherKeyText, null)!;

    private const string SignatureMismatch =
        "its signature does not match the record (its key, value or provenance differ from what was signed: a header copied from another record, or altered)";

    private const string NotSigned = "it is not signed, and this region requires signed provenance (Mesh:Provenance:Key is set)";

    private static readonly string ForeignKey = $"it is signed with key {Foreign.SigningKeyId}, which this region does not hold (it accepts {Keys.SigningKeyId})";

    private const string OriginHere = "its header names 'us-east', where it was read, as its origin: the mesh never writes a region's own records back to it";

    private static string TimestampDiffers(long timestamp) =>
        $"its timestamp {timestamp} is not the origin timestamp 77 its header names (a header copied onto another record)";

    /// <summary>(description, record, run signed?, expected reason; null: trusted as <see cref="Genuine"/>).</summary>
    public static TheoryData<string, SourceRecord, bool, string?> Table => new()
    {
        // Trusted.
        { "genuine signed header", SignedRecord(9, Genuine, Keys), true, null },
        { "genuine signed header among application headers", SignedRecord(9, Genuine, Keys, new("a", Utf8("1")), new("b", null)), true, null },
        { "signed header, region without keys (structure only)", SignedRecord(9, Genuine, Keys), false, null },
        { "signed with a foreign key, region without keys", SignedRecord(9, Genuine, Foreign), false, null },
        { "unsigned header, region without keys", WithHeaders(ProvenanceHeader(Genuine)), false, null },
        { "genuine signed header, log append time rewrote the timestamp", SignedRecord(9, Genuine, Keys) with { TimestampMs = 1_732_480_000_000, LogAppendTime = true }, true, null },
        { "unsigned header, log append time rewrote the timestamp, region without keys", WithHeaders(ProvenanceHeader(Genuine)) with { TimestampMs = 5, LogAppendTime = true }, false, null },
        // Count.
        { "two headers", WithHeaders(ProvenanceHeader(Genuine), ProvenanceHeader(Genuine)), false, "it carries more than one 'mesh.provenance' header" },
        { "two signed headers", SignedRecord(9, Genuine, Keys, ProvenanceHeader(Genuine)), true, "it carries more than one 'mesh.provenance' header" },
        { "no value", WithHeaders(new RecordHeader(ProvenanceCodec.HeaderName, null)), false, "its header has no value" },
        // Malformed: one of each codec failure.
        { "invalid UTF-8", WithHeaders(new RecordHeader(ProvenanceCodec.HeaderName, [0xC3])), true, "its header is malformed: header is not valid UTF-8" },
        { "empty value", WithHeaders(new RecordHeader(ProvenanceCodec.HeaderName, [])), true, "its header is malformed: unsupported provenance format version '' (this build reads version 2)" },
        { "version 1", WithText("1|ap-south|3|41|77|ap-south,us-east"), true, "its header is malformed: unsupported provenance format version '1' (this build reads version 2)" },
        { "field count", WithText("2|ap-south|5e1f09aa|orders|3|41|77|ap-south,us-east"), true, "its header is malformed: expected 9 '|'-separated fields, found 8" },
        { "origin region", WithText("2|a+p|5e1f09aa|orders|3|41|77|a+p,us-east|-"), true, "its header is malformed: origin region: region id 'a+p' contains '+'; use letters, digits, '-', '_' or '.'" },
        { "origin incarnation", WithText("2|ap-south||orders|3|41|77|ap-south,us-east|-"), true, "its header is malformed: origin incarnation: an incarnation must not be empty" },
        { "origin topic", WithText("2|ap-south|5e1f09aa|or ders|3|41|77|ap-south,us-east|-"), true, "its header is malformed: origin topic: topic name 'or ders' contains ' '; Kafka allows a-z, A-Z, 0-9, '.', '_' and '-'" },
        { "origin partition", WithText("2|ap-south|5e1f09aa|orders|-3|41|77|ap-south,us-east|-"), true, "its header is malformed: origin partition '-3' is not a non-negative integer" },
        { "origin offset", WithText("2|ap-south|5e1f09aa|orders|3|x|77|ap-south,us-east|-"), true, "its header is malformed: origin offset 'x' is not a non-negative integer" },
        { "origin timestamp", WithText("2|ap-south|5e1f09aa|orders|3|41|t|ap-south,us-east|-"), true, "its header is malformed: origin timestamp 't' is not an integer" },
        { "hops not starting at the origin", WithText("2|ap-south|5e1f09aa|orders|3|41|77|us-east|-"), true, "its header is malformed: hops must start at the origin region 'ap-south', found 'us-east'" },
        { "looped hops", WithText("2|ap-south|5e1f09aa|orders|3|41|77|ap-south,us-east,ap-south,us-east|-"), true, "its header is malformed: hops list a region twice (ap-south,us-east,ap-south,us-east): the record has looped" },
        { "signature shape", WithText("2|ap-south|5e1f09aa|orders|3|41|77|ap-south,us-east|signed"), true, "its header is malformed: signature 'signed' is not '-' or '<key id>.<mac>'" },
        { "signature length", WithText("2|ap-south|5e1f09aa|orders|3|41|77|ap-south,us-east|0123abcd.AAAA"), true, "its header is malformed: signature MAC is 3 bytes, expected 16" },
        // Where it was read.
        { "origin is where it was read", WithHeaders(ProvenanceHeader(Prov(Here, Inc2, Topic, P, 41, 77, Here))), false, OriginHere },
        { "origin is where it was read, unsigned, region with keys", WithHeaders(ProvenanceHeader(Prov(Here, Inc2, Topic, P, 41, 77, Here))), true, OriginHere },
        { "origin is where it was read, signed with the mesh key", SignedRecord(9, Prov(Here, Inc2, Topic, P, 41, 77, Here), Keys), true, OriginHere },
        { "origin is where it was read, signed with a foreign key", SignedRecord(9, Prov(Here, Inc2, Topic, P, 41, 77, Here), Foreign), true, OriginHere },
        { "last hop elsewhere", WithHeaders(ProvenanceHeader(Prov(Other, Inc2, Topic, P, 41, 77, Other))), false, "its header's last hop is 'ap-south', but it was read from 'us-east' (a header copied or forged there)" },
        { "last hop elsewhere, unsigned, region with keys", WithHeaders(ProvenanceHeader(Prov(Other, Inc2, Topic, P, 41, 77, Other))), true, "its header's last hop is 'ap-south', but it was read from 'us-east' (a header copied or forged there)" },
        { "last hop beyond", WithHeaders(ProvenanceHeader(Prov(Other, Inc2, Topic, P, 41, 77, Other, Here, "eu-west"))), false, "its header's last hop is 'eu-west', but it was read from 'us-east' (a header copied or forged there)" },
        { "signed, last hop elsewhere", SignedRecord(9, Prov(Other, Inc2, Topic, P, 41, 77, Other, "eu-west"), Keys), true, "its header's last hop is 'eu-west', but it was read from 'us-east' (a header copied or forged there)" },
        { "topic mismatch", WithHeaders(ProvenanceHeader(Genuine with { OriginTopic = "payments" })), false, "its header names origin topic 'payments', but it was read from topic 'orders'" },
        { "topic differs in case only", SignedRecord(9, Genuine with { OriginTopic = "Orders" }, Keys), true, "its header names origin topic 'Orders', but it was read from topic 'orders'" },
        { "partition mismatch", SignedRecord(9, Genuine with { OriginPartition = 0 }, Keys), true, "its header names origin partition 0, but it was read from partition 3" },
        { "partition mismatch, signed with a foreign key", SignedRecord(9, Genuine with { OriginPartition = 0 }, Foreign), true, "its header names origin partition 0, but it was read from partition 3" },
        // Signature: a key this region holds, and the MAC does not match.
        { "copied onto another value", SignedRecord(9, Genuine, Keys) with { Value = Utf8("something else") }, true, SignatureMismatch },
        { "copied onto another key", SignedRecord(9, Genuine, Keys) with { Key = null }, true, SignatureMismatch },
        { "claims the mesh key id with a made-up MAC", WithHeaders(new RecordHeader(ProvenanceCodec.HeaderName, ProvenanceCodec.Encode(ProvenanceCodec.EncodeUnsigned(Genuine), Keys.SigningKeyId, new byte[ProvenanceSigner.MacLength]))), true, SignatureMismatch },
        // Timestamp: the record's own must be the signed origin timestamp, unless the topic stamps append times.
        { "copied onto another timestamp", SignedRecord(9, Genuine, Keys) with { TimestampMs = 0 }, true, TimestampDiffers(0) },
        { "copied onto a timestamp one later", SignedRecord(9, Genuine, Keys) with { TimestampMs = 78 }, true, TimestampDiffers(78) },
        { "copied onto another timestamp, region without keys", WithHeaders(ProvenanceHeader(Genuine)) with { TimestampMs = 1_700_000_000_009 }, false, TimestampDiffers(1_700_000_000_009) },
        { "copied onto another value and timestamp, log append time", SignedRecord(9, Genuine, Keys) with { Value = Utf8("x"), TimestampMs = 5, LogAppendTime = true }, true, SignatureMismatch },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Read_trusts_only_a_well_formed_verified_header_that_belongs_where_it_was_read(string description, SourceRecord record, bool signed, string? expectedReason)
    {
        var reading = Read(record, signed);

        if (expectedReason is null)
        {
            Assert.True(reading.Verdict == ProvenanceVerdict.Trusted, $"{description}: {reading.Verdict} ({reading.UntrustedReason})");
            Assert.Equal(Genuine, reading.Trusted);
            Assert.Null(reading.UntrustedReason);
        }
        else
        {
            Assert.True(reading.Verdict == ProvenanceVerdict.Untrusted, $"{description}: {reading.Verdict} ({reading.UntrustedReason})");
            Assert.Null(reading.Trusted);
            Assert.Equal(expectedReason, reading.UntrustedReason);
        }
    }

    /// <summary>
    /// Headers a region with keys cannot judge (its keys differ from the writer's), on a record that otherwise
    /// belongs where it was read: neither trusted nor untrusted (re-labelling them local could loop mesh records).
    /// </summary>
    public static TheoryData<string, SourceRecord, string> UnverifiableTable => new()
    {
        { "unsigned, region with keys", WithHeaders(ProvenanceHeader(Genuine)), NotSigned },
        { "foreign key", SignedRecord(9, Genuine, Foreign), ForeignKey },
        { "foreign key, copied onto another value", SignedRecord(9, Genuine, Foreign) with { Value = Utf8("something else") }, ForeignKey },
        { "unsigned, on another timestamp", WithHeaders(ProvenanceHeader(Genuine)) with { TimestampMs = 0 }, NotSigned },
        { "foreign key, with log append time", SignedRecord(9, Genuine, Foreign) with { TimestampMs = 5, LogAppendTime = true }, ForeignKey },
    };

    [Theory]
    [MemberData(nameof(UnverifiableTable))]
    public void A_header_the_region_holds_no_key_for_is_unverifiable(string description, SourceRecord record, string expectedReason)
    {
        var reading = Read(record, signed: true);

        Assert.True(reading.Verdict == ProvenanceVerdict.Unverifiable, $"{description}: {reading.Verdict} ({reading.UntrustedReason})");
        Assert.Null(reading.Trusted);
        Assert.Equal(expectedReason, reading.UntrustedReason);
        Assert.DoesNotContain(KeyText, reading.UntrustedReason);
        Assert.DoesNotContain(OtherKeyText, reading.UntrustedReason);
    }

    [Fact]
    public void A_record_with_log_append_time_and_another_timestamp_is_still_trusted()
    {
        var appended = SignedRecord(9, Genuine, Keys) with { TimestampMs = 1_800_000_000_000, LogAppendTime = true };

        var reading = Read(appended, signed: true);
        var withoutTheFlag = Read(appended with { LogAppendTime = false }, signed: true);

        Assert.Equal(new ProvenanceReading(ProvenanceVerdict.Trusted, Genuine, null), reading);
        Assert.Equal(ProvenanceVerdict.Untrusted, withoutTheFlag.Verdict);
        Assert.Equal(TimestampDiffers(1_800_000_000_000), withoutTheFlag.UntrustedReason);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void No_header_is_a_local_record(bool signed)
    {
        var none = Read(Record(9), signed);
        var otherHeaders = Read(Record(9, new RecordHeader("app", Utf8("x")), new RecordHeader(ProvenanceCodec.UntrustedHeaderName, ProvenanceCodec.Encode(Genuine))), signed);

        Assert.Equal(new ProvenanceReading(ProvenanceVerdict.None, null, null), none);
        Assert.Equal(new ProvenanceReading(ProvenanceVerdict.None, null, null), otherHeaders);
    }

    [Fact]
    public void Header_names_are_matched_exactly()
    {
        var reading = Read(Record(9, new RecordHeader("Mesh.Provenance", ProvenanceCodec.Encode(Genuine)), new RecordHeader("mesh.provenance ", ProvenanceCodec.Encode(Genuine))), false);

        Assert.Equal(ProvenanceVerdict.None, reading.Verdict);
    }

    [Fact]
    public void A_header_signed_for_this_record_by_the_additional_key_is_trusted()
    {
        var record = SignedRecord(9, Genuine, MeshKeys.Create(OtherKeyText, null)!);
        using var signer = MeshKeys.Create(KeyText, OtherKeyText)!.CreateSigner();

        var reading = ProvenanceTrust.Read(record, Here, Topic, P, signer);

        Assert.Equal(ProvenanceVerdict.Trusted, reading.Verdict);
    }
}
