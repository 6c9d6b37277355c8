using System.Text;
using Mesh.Core.Conflicts;
using Mesh.Core.Replication;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Conflicts;

public sealed class RepairMarkerTests
{
    private static readonly byte[] Key = Utf8("profile-7");
    private static readonly byte[] Value = Utf8("{\"name\":\"Ada\"}");
    private static readonly RepairMarker Remote = new("us-east", Inc, 1042);
    private static readonly RepairMarker Local = new("eu-west", null, 7);

    private static SourceRecord Carrying(params RecordHeader[] headers) => new(20, Key, Value, 1, headers);

    private static RecordHeader Header(byte[]? value) => new(RepairMarker.HeaderName, value);

    private static RecordHeader Header(string text) => Header(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void Unsigned_markers_read_back_and_are_plain_text()
    {
        Assert.Equal("1|us-east|1a2b3c4d|1042|-", Encoding.UTF8.GetString(Remote.Encode(Key, Value, null)));
        Assert.Equal("1|eu-west|-|7|-", Encoding.UTF8.GetString(Local.Encode(Key, Value, null)));

        foreach (var marker in new[] { Remote, Local })
        {
            Assert.True(RepairMarker.TryRead(Carrying(Header(marker.Encode(Key, Value, null))), null, out var read));
            Assert.Equal(marker, read);
        }
    }

    [Fact]
    public void Signed_markers_verify_for_their_record_and_name_the_key()
    {
        using var signer = Keys.CreateSigner();
        var value = Remote.Encode(Key, Value, signer);

        Assert.StartsWith($"1|us-east|1a2b3c4d|1042|{Keys.SigningKeyId}.", Encoding.UTF8.GetString(value));
        Assert.True(RepairMarker.TryRead(Carrying(new RecordHeader("app", [1]), Header(value)), signer, out var read, out var reason), reason);
        Assert.Equal(Remote, read);
        // A region without a key reads the structure only.
        Assert.True(RepairMarker.TryRead(Carrying(Header(value)), null, out _));
    }

    [Fact]
    public void Tombstones_and_null_keys_sign_and_verify()
    {
        using var signer = Keys.CreateSigner();
        var tombstone = new SourceRecord(3, Key, null, 1, [Header(Local.Encode(Key, null, signer))]);
        Assert.True(RepairMarker.TryRead(tombstone, signer, out _));
        // Null and empty differ: a marker made for an empty value does not verify on a tombstone.
        Assert.False(RepairMarker.TryRead(tombstone with { Headers = [Header(Local.Encode(Key, [], signer))] }, signer, out _));
    }

    [Fact]
    public void A_marker_signed_with_the_additional_key_of_a_rotation_verifies()
    {
        var old = MeshKeys.Create(OtherKeyText, null)!;
        using var oldSigner = old.CreateSigner();
        using var rotating = MeshKeys.Create(KeyText, OtherKeyText)!.CreateSigner();

        Assert.True(RepairMarker.TryRead(Carrying(Header(Remote.Encode(Key, Value, oldSigner))), rotating, out var read));
        Assert.Equal(Remote, read);
    }

    public static TheoryData<string, Func<ProvenanceSigner, SourceRecord>, string> Forgeries
    {
        get
        {
            var foreign = MeshKeys.Create(OtherKeyText, null)!;
            return new()
            {
                { "copied onto another value", s => Carrying(Header(Remote.Encode(Key, Utf8("other"), s))), "its signature does not match the record" },
                { "copied onto another key", s => Carrying(Header(Remote.Encode(Utf8("other"), Value, s))), "its signature does not match the record" },
                { "made for a tombstone", s => Carrying(Header(Remote.Encode(Key, null, s))), "its signature does not match the record" },
                { "another offset under the same MAC", s => Carrying(Header(Encoding.UTF8.GetString(Remote.Encode(Key, Value, s)).Replace("|1042|", "|1043|", StringComparison.Ordinal))),
                    "its signature does not match the record" },
                { "another origin under the same MAC", s => Carrying(Header(Encoding.UTF8.GetString(Remote.Encode(Key, Value, s)).Replace("us-east", "us-west", StringComparison.Ordinal))),
                    "its signature does not match the record" },
                { "a provenance MAC over the same text", s => Carrying(Header(s.Sign("mesh.provenance/2\0"u8, Encoding.UTF8.GetBytes(Remote.EncodeUnsigned()), Key, Value))),
                    "its signature does not match the record" },
                { "unsigned", _ => Carrying(Header(Remote.Encode(Key, Value, null))), "it is not signed, and this region requires signed repair marker" },
                { "signed with a foreign key", _ => Carrying(Header(Remote.Encode(Key, Value, foreign.CreateSigner()))), "which this region does not hold" },
                { "the mesh key id with a made-up MAC", _ => Carrying(Header(ProvenanceCodec.Encode(Remote.EncodeUnsigned(), Keys.SigningKeyId, new byte[16]))),
                    "its signature does not match the record" },
                { "two markers", s => Carrying(Header(Remote.Encode(Key, Value, s)), Header(Remote.Encode(Key, Value, s))), "more than one 'mesh.repair' header" },
                { "no value", _ => Carrying(Header((byte[]?)null)), "has no value" },
            };
        }
    }

    [Theory]
    [MemberData(nameof(Forgeries))]
    public void A_signed_mesh_rejects_markers_that_do_not_verify_for_the_record(string name, Func<ProvenanceSigner, SourceRecord> make, string expected)
    {
        using var signer = Keys.CreateSigner();

        var valid = RepairMarker.TryRead(make(signer), signer, out var marker, out var reason);

        Assert.False(valid, name);
        Assert.Null(marker);
        Assert.Contains(expected, reason, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Malformed => new()
    {
        { "garbage", "unsupported repair header format version 'garbage'" },
        { "2|us-east|-|7|-", "unsupported repair header format version '2'" },
        { "1|us-east|-|7", "expected 5 '|'-separated fields in the repair header, found 4" },
        { "1|us-east|-|7|-|x", "expected 5 '|'-separated fields in the repair header, found 6" },
        { "1|us+east|-|7|-", "origin region: region id 'us+east' contains '+'" },
        { "1||-|7|-", "origin region: a region id must not be empty" },
        { "1|us-east|ABC|7|-", "origin incarnation: incarnation 'ABC' contains 'A'" },
        { "1|us-east||7|-", "origin incarnation: an incarnation must not be empty" },
        { "1|us-east|-|-7|-", "origin offset '-7' is not a non-negative integer" },
        { "1|us-east|-|x|-", "origin offset 'x' is not a non-negative integer" },
        { "1|us-east|-|99999999999999999999|-", "origin offset '99999999999999999999' is not a non-negative integer" },
        { "1|us-east|-|7|signed", "signature 'signed' is not '-' or '<key id>.<mac>'" },
        { "1|us-east|-|7|0123abcd.AAAA", "signature MAC is 3 bytes, expected 16" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_markers_are_not_markers_signed_mesh_or_not(string text, string expected)
    {
        using var signer = Keys.CreateSigner();
        foreach (var verifier in new[] { null, signer })
        {
            Assert.False(RepairMarker.TryRead(Carrying(Header(text)), verifier, out var marker, out var reason));
            Assert.Null(marker);
            Assert.StartsWith(expected, reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Invalid_utf8_is_not_a_marker()
    {
        Assert.False(RepairMarker.TryRead(Carrying(Header(new byte[] { (byte)'1', (byte)'|', 0xff })), null, out _, out var reason));
        Assert.Equal("repair header is not valid UTF-8", reason);
    }

    [Fact]
    public void A_record_without_a_marker_has_none_and_no_reason()
    {
        Assert.False(RepairMarker.TryRead(Carrying(new RecordHeader("mesh.repaired", [1])), null, out var marker, out var reason));
        Assert.Null(marker);
        Assert.Equal("", reason);
    }
}
