using System.Text;
using Mesh.Core.Replication;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

public sealed class ProvenanceSignerTests
{
    private static readonly Provenance Original = Prov("us-east", Inc, Topic, 3, 1042, 1732480000000, "us-east", "eu-west");
    private static readonly byte[] Key = Utf8("k");
    private static readonly byte[] Value = Utf8("v");
    // The record's timestamp is the signed origin timestamp; ProvenanceTrust holds a record to it.
    private const long Timestamp = 1732480000000;

    /// <summary>
    /// Whether <see cref="ProvenanceTrust.Read"/> trusts <paramref name="header"/> on a record with this key, value
    /// and timestamp, read where the header says it was last written (so only the signature and the record's
    /// timestamp, which must be the signed origin timestamp, can fail); otherwise why not.
    /// </summary>
    private static bool Verifies(MeshKeys keys, byte[] header, byte[]? key, byte[]? value, long timestamp, out string reason, bool logAppendTime = false)
    {
        Assert.True(ProvenanceCodec.TryDecode(header, out var decoded, out reason), reason);
        var provenance = decoded!.Provenance;
        Assert.NotEqual(provenance.OriginRegion, provenance.LastHop); // read where it was replicated to, not at its origin
        using var signer = keys.CreateSigner();
        var record = new SourceRecord(0, key, value, timestamp, [new RecordHeader(ProvenanceCodec.HeaderName, header)], logAppendTime);
        var reading = ProvenanceTrust.Read(record, provenance.LastHop, provenance.OriginTopic, provenance.OriginPartition, signer);
        reason = reading.UntrustedReason ?? "";
        return reading.Verdict == ProvenanceVerdict.Trusted;
    }

    private static byte[] Sign(MeshKeys keys, Provenance provenance, byte[]? key, byte[]? value, long timestamp)
    {
        Assert.Equal(provenance.OriginTimestampMs, timestamp);
        using var signer = keys.CreateSigner();
        return signer.Encode(provenance, key, value);
    }

    [Fact]
    public void A_signed_header_verifies_for_exactly_its_record()
    {
        var header = Sign(Keys, Original, Key, Value, Timestamp);

        Assert.True(Verifies(Keys, header, Key, Value, Timestamp, out var reason), reason);
        Assert.Equal("", reason);
        Assert.StartsWith(ProvenanceCodec.EncodeUnsigned(Original) + "|" + Keys.SigningKeyId + ".", Text(header));
    }

    public static IEnumerable<object[]> Seeds40 => Seeds(40);

    [Theory]
    [MemberData(nameof(Seeds40))]
    public void Random_signed_records_verify_and_are_deterministic(int seed)
    {
        var random = new Random(seed);
        using var signer = Keys.CreateSigner();
        for (var i = 0; i < 20; i++)
        {
            var provenance = RandomProvenance(random);
            if (provenance.Hops.Length == 1) // give it a hop, as every header the mesh writes has
                provenance = provenance.ArrivedAt(provenance.HasVisited("next-region") ? "other-region" : "next-region");
            var (key, value, timestamp) = (RandomBytes(random), RandomBytes(random), provenance.OriginTimestampMs);

            var header = signer.Encode(provenance, key, value);

            Assert.Equal(header, signer.Encode(provenance, key, value)); // the signer keeps no state between records
            Assert.True(ProvenanceCodec.TryDecode(header, out var decoded, out var reason), reason);
            Assert.True(Verifies(Keys, header, key, value, timestamp, out reason), $"seed {seed} case {i}: {reason}");
            Assert.False(Verifies(Keys, header, key, value, timestamp ^ 1, out reason));
            Assert.StartsWith($"its timestamp {timestamp ^ 1} is not the origin timestamp", reason);
            Assert.True(Verifies(Keys, header, key, value, timestamp ^ 1, out reason, logAppendTime: true), $"seed {seed} case {i}: {reason}");
        }
    }

    public static TheoryData<string, byte[]?, byte[]?, long> RecordTampering => new()
    {
        { "key changed", Utf8("K"), Utf8("v"), Timestamp },
        { "key longer", Utf8("kk"), Utf8("v"), Timestamp },
        { "key null", null, Utf8("v"), Timestamp },
        { "key empty", [], Utf8("v"), Timestamp },
        { "value changed", Utf8("k"), Utf8("w"), Timestamp },
        { "value null", Utf8("k"), null, Timestamp },
        { "value empty", Utf8("k"), [], Timestamp },
        { "key and value swapped", Utf8("v"), Utf8("k"), Timestamp },
        { "key and value joined", Utf8("kv"), [], Timestamp },
        { "key changed, log append time", Utf8("K"), Utf8("v"), Timestamp + 1 },
    };

    [Theory]
    [MemberData(nameof(RecordTampering))]
    public void A_header_on_a_different_record_does_not_verify(string description, byte[]? key, byte[]? value, long timestamp)
    {
        var header = Sign(Keys, Original, Key, Value, Timestamp);

        Assert.False(Verifies(Keys, header, key, value, timestamp, out var reason, logAppendTime: timestamp != Timestamp), description);
        Assert.StartsWith("its signature does not match the record", reason);
    }

    /// <summary>The timestamp is not signed, but the trust rule holds the record's timestamp to the signed origin timestamp.</summary>
    public static TheoryData<string, long> TimestampTampering => new()
    {
        { "timestamp + 1", Timestamp + 1 },
        { "timestamp - 1", Timestamp - 1 },
        { "timestamp negated", -Timestamp },
        { "timestamp zero", 0 },
        { "timestamp maximum", long.MaxValue },
    };

    [Theory]
    [MemberData(nameof(TimestampTampering))]
    public void A_header_on_a_record_with_another_timestamp_is_not_trusted(string description, long timestamp)
    {
        var header = Sign(Keys, Original, Key, Value, Timestamp);

        Assert.False(Verifies(Keys, header, Key, Value, timestamp, out var reason), description);
        Assert.Equal($"its timestamp {timestamp} is not the origin timestamp {Timestamp} its header names (a header copied onto another record)", reason);
    }

    [Theory]
    [MemberData(nameof(TimestampTampering))]
    public void A_header_on_a_log_append_time_record_is_trusted_whatever_its_timestamp(string description, long timestamp)
    {
        var header = Sign(Keys, Original, Key, Value, Timestamp);

        Assert.True(Verifies(Keys, header, Key, Value, timestamp, out var reason, logAppendTime: true), $"{description}: {reason}");
    }

    [Fact]
    public void The_signature_does_not_cover_the_record_timestamp()
    {
        using var signer = Keys.CreateSigner();
        var header = signer.Encode(Original, Key, Value);
        Assert.True(ProvenanceCodec.TryDecode(header, out var decoded, out var reason), reason);

        // The signer alone knows nothing of the record's timestamp: a header verifies for its key and value.
        Assert.True(signer.Verify(header, decoded!, Key, Value, out reason, out var keysDiffer), reason);
        Assert.False(keysDiffer);
        // The origin timestamp is signed: altering it in the header breaks the signature.
        var altered = Utf8(Text(header).Replace("|1732480000000|", "|1732480000001|"));
        Assert.True(ProvenanceCodec.TryDecode(altered, out var decodedAltered, out reason), reason);
        Assert.False(signer.Verify(altered, decodedAltered!, Key, Value, out reason, out keysDiffer));
        Assert.False(keysDiffer);
    }

    [Fact]
    public void Null_and_empty_keys_and_values_are_different_records()
    {
        byte[]?[] variants = [null, []];
        foreach (var signedKey in variants)
        foreach (var signedValue in variants)
        {
            var header = Sign(Keys, Original, signedKey, signedValue, Timestamp);
            foreach (var key in variants)
            foreach (var value in variants)
            {
                var same = (signedKey is null) == (key is null) && (signedValue is null) == (value is null);
                Assert.True(same == Verifies(Keys, header, key, value, Timestamp, out _),
                    $"signed key {(signedKey is null ? "null" : "empty")} value {(signedValue is null ? "null" : "empty")}, verified key {(key is null ? "null" : "empty")} value {(value is null ? "null" : "empty")}");
            }
        }
    }

    /// <summary>Each provenance field of the signed text, altered in place (a forger editing a genuine header).</summary>
    public static TheoryData<string, int, string> FieldTampering => new()
    {
        { "origin region", 1, "ap-south" },
        { "origin incarnation", 2, "5e1f09aa" },
        { "origin topic", 3, "payments" },
        { "origin partition", 4, "4" },
        { "origin offset", 5, "1043" },
        { "origin offset, huge", 5, "9223372036854775807" },
        { "origin timestamp", 6, "1732480000001" },
        { "hops extended", 7, "us-east,eu-west,ap-south" },
        { "hops reordered", 7, "us-east,ap-south" },
    };

    [Theory]
    [MemberData(nameof(FieldTampering))]
    public void Altering_any_provenance_field_breaks_the_signature(string description, int field, string replacement)
    {
        var fields = Text(Sign(Keys, Original, Key, Value, Timestamp)).Split('|');
        fields[field] = replacement;
        if (field == 1) fields[7] = replacement + ",eu-west"; // keep the hops well formed
        var tampered = Utf8(string.Join('|', fields));

        Assert.False(Verifies(Keys, tampered, Key, Value, Timestamp, out var reason), description);
        Assert.StartsWith("its signature does not match the record", reason);
    }

    [Fact]
    public void Flipping_any_bit_of_the_mac_breaks_the_signature()
    {
        var header = Sign(Keys, Original, Key, Value, Timestamp);
        Assert.True(ProvenanceCodec.TryDecode(header, out var decoded, out _));
        var text = Text(header);
        var prefix = text[..(text.LastIndexOf('.') + 1)];
        for (var bit = 0; bit < ProvenanceSigner.MacLength * 8; bit++)
        {
            var mac = decoded!.Mac!.ToArray();
            mac[bit / 8] ^= (byte)(1 << (bit % 8));
            var tampered = Utf8(prefix + System.Buffers.Text.Base64Url.EncodeToString(mac));

            Assert.False(Verifies(Keys, tampered, Key, Value, Timestamp, out var reason), $"bit {bit}");
            Assert.StartsWith("its signature does not match the record", reason);
        }
    }

    [Fact]
    public void An_unsigned_header_does_not_verify_when_the_region_has_a_key()
    {
        var header = ProvenanceCodec.Encode(Original);

        Assert.False(Verifies(Keys, header, Key, Value, Timestamp, out var reason));
        Assert.Equal("it is not signed, and this region requires signed provenance (Mesh:Provenance:Key is set)", reason);
        Assert.True(ProvenanceCodec.TryDecode(header, out var decoded, out _));
        using var signer = Keys.CreateSigner();
        Assert.False(signer.Verify(header, decoded!, Key, Value, out _, out var keysDiffer));
        Assert.True(keysDiffer); // the regions' keys differ: unverifiable, not a copied header
    }

    [Fact]
    public void A_header_signed_with_a_key_the_region_does_not_hold_names_the_key_id_but_never_the_key()
    {
        var foreign = MeshKeys.Create(OtherKeyText, null)!;
        var header = Sign(foreign, Original, Key, Value, Timestamp);

        Assert.False(Verifies(Keys, header, Key, Value, Timestamp, out var reason));
        Assert.Equal($"it is signed with key {foreign.SigningKeyId}, which this region does not hold (it accepts {Keys.SigningKeyId})", reason);
        Assert.DoesNotContain(KeyText, reason);
        Assert.DoesNotContain(OtherKeyText, reason);
        Assert.True(ProvenanceCodec.TryDecode(header, out var decoded, out _));
        using var signer = Keys.CreateSigner();
        Assert.False(signer.Verify(header, decoded!, Key, Value, out _, out var keysDiffer));
        Assert.True(keysDiffer);
    }

    [Fact]
    public void A_header_claiming_a_held_key_id_with_a_forged_mac_does_not_verify()
    {
        var forged = ProvenanceCodec.Encode(ProvenanceCodec.EncodeUnsigned(Original), Keys.SigningKeyId, new byte[ProvenanceSigner.MacLength]);

        Assert.False(Verifies(Keys, forged, Key, Value, Timestamp, out var reason));
        Assert.StartsWith("its signature does not match the record", reason);
        Assert.True(ProvenanceCodec.TryDecode(forged, out var decoded, out _));
        using var signer = Keys.CreateSigner();
        Assert.False(signer.Verify(forged, decoded!, Key, Value, out _, out var keysDiffer));
        Assert.False(keysDiffer); // a key this region holds: a copied or altered header, not a key mismatch
    }

    [Fact]
    public void No_reason_ever_contains_a_key()
    {
        var rotating = MeshKeys.Create(KeyText, OtherKeyText)!;
        var third = MeshKeys.Create("third-key-00000000000000000000000000000000000000", null)!;
        byte[][] headers =
        [
            ProvenanceCodec.Encode(Original),
            Sign(third, Original, Key, Value, Timestamp),
            Sign(Keys, Original with { OriginTimestampMs = Timestamp + 1 }, Key, Value, Timestamp + 1), // read on a record with another timestamp
            ProvenanceCodec.Encode(ProvenanceCodec.EncodeUnsigned(Original), Keys.SigningKeyId, new byte[16]),
        ];
        foreach (var header in headers)
        {
            Assert.False(Verifies(rotating, header, Key, Value, Timestamp, out var reason));
            Assert.DoesNotContain(KeyText, reason);
            Assert.DoesNotContain(OtherKeyText, reason);
            Assert.DoesNotContain(Convert.ToBase64String(Utf8(KeyText)), reason);
        }
        Assert.DoesNotContain(KeyText, rotating.ToString());
        Assert.DoesNotContain(OtherKeyText, rotating.ToString());
        Assert.Equal($"mesh keys (signing {rotating.SigningKeyId}, accepting {Keys.SigningKeyId}, {MeshKeys.Create(OtherKeyText, null)!.SigningKeyId})", rotating.ToString());
    }

    // ---------------------------------------------------------------- keys and rotation

    [Fact]
    public void The_additional_key_verifies_but_never_signs()
    {
        var rotating = MeshKeys.Create(KeyText, OtherKeyText)!;
        var other = MeshKeys.Create(OtherKeyText, null)!;

        var signedByRotating = Sign(rotating, Original, Key, Value, Timestamp);

        Assert.Equal(Keys.SigningKeyId, rotating.SigningKeyId);
        Assert.Equal([Keys.SigningKeyId, other.SigningKeyId], rotating.AcceptedKeyIds);
        Assert.Equal(Sign(Keys, Original, Key, Value, Timestamp), signedByRotating); // signed with the signing key only
        Assert.True(ProvenanceCodec.TryDecode(signedByRotating, out var decoded, out _));
        Assert.Equal(Keys.SigningKeyId, decoded!.KeyId);
        Assert.True(Verifies(rotating, Sign(other, Original, Key, Value, Timestamp), Key, Value, Timestamp, out var reason), reason);
        Assert.False(Verifies(other, signedByRotating, Key, Value, Timestamp, out _));
    }

    [Fact]
    public void An_additional_key_equal_to_the_signing_key_is_accepted_once()
    {
        var keys = MeshKeys.Create(KeyText, KeyText)!;

        Assert.Equal([Keys.SigningKeyId], keys.AcceptedKeyIds);
    }

    [Fact]
    public void Rotation_end_to_end_never_leaves_a_record_unverifiable()
    {
        const string oldKey = KeyText;
        const string newKey = OtherKeyText;
        var record = (Key: Utf8("k"), Value: Utf8("v"), Timestamp: 5L);
        var fromA = Original with { OriginTimestampMs = record.Timestamp };
        var fromB = Prov("eu-west", Inc, Topic, 3, 7, 5, "eu-west", "us-east");

        // Step 0: both regions hold only the old key.
        var a = MeshKeys.Create(oldKey, null)!;
        var b = MeshKeys.Create(oldKey, null)!;
        AssertBothWays();

        // Step 1: B accepts the new key as well (still signs with the old one).
        b = MeshKeys.Create(oldKey, newKey)!;
        AssertBothWays();

        // Step 2: A signs with the new key and accepts the old one.
        a = MeshKeys.Create(newKey, oldKey)!;
        AssertBothWays();

        // Step 3: B signs with the new key too, still accepting the old one (records in flight).
        b = MeshKeys.Create(newKey, oldKey)!;
        AssertBothWays();
        var oldSigned = Sign(MeshKeys.Create(oldKey, null)!, fromB, record.Key, record.Value, record.Timestamp);
        Assert.True(Verifies(a, oldSigned, record.Key, record.Value, record.Timestamp, out var reason), reason);

        // Step 4: both drop the old key; records signed with it no longer verify, new ones do.
        a = MeshKeys.Create(newKey, null)!;
        b = MeshKeys.Create(newKey, null)!;
        AssertBothWays();
        Assert.False(Verifies(a, oldSigned, record.Key, record.Value, record.Timestamp, out reason));
        Assert.Contains(MeshKeys.Create(oldKey, null)!.SigningKeyId, reason);

        void AssertBothWays()
        {
            var aToB = Sign(a, fromA, record.Key, record.Value, record.Timestamp);
            var bToA = Sign(b, fromB, record.Key, record.Value, record.Timestamp);
            Assert.True(Verifies(b, aToB, record.Key, record.Value, record.Timestamp, out var r1), $"B rejects A: {r1}");
            Assert.True(Verifies(a, bToA, record.Key, record.Value, record.Timestamp, out var r2), $"A rejects B: {r2}");
        }
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, false)]
    [InlineData(31, false)]
    [InlineData(32, true)]
    [InlineData(33, true)]
    [InlineData(200, true)]
    public void IsValidKey_requires_at_least_32_characters(int length, bool expected)
    {
        var key = new string('#', length);

        Assert.Equal(expected, MeshKeys.IsValidKey(key, out var reason));
        if (expected) Assert.Equal("", reason);
        else
        {
            Assert.Equal($"is {length} characters long; a mesh key needs at least 32", reason);
            if (length > 0) Assert.DoesNotContain(key, reason);
        }
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("\t")]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\u00A0")]
    public void IsValidKey_rejects_surrounding_white_space(string space)
    {
        var key = new string('k', 40);

        foreach (var candidate in new[] { space + key, key + space, space + key + space })
        {
            Assert.False(MeshKeys.IsValidKey(candidate, out var reason), $"'{candidate}'");
            Assert.Equal("starts or ends with white space (a copy-paste slip?)", reason);
        }
        Assert.True(MeshKeys.IsValidKey(key[..20] + space + key[20..], out _)); // inside is fine
    }

    [Fact]
    public void Create_without_a_signing_key_runs_unsigned_and_rejects_bad_keys_without_echoing_them()
    {
        Assert.Null(MeshKeys.Create(null, null));
        Assert.Null(MeshKeys.Create("", OtherKeyText));

        var shortKey = "secret-but-short";
        var error = Assert.Throws<ArgumentException>(() => MeshKeys.Create(shortKey, null));
        Assert.Equal("signingKey", error.ParamName);
        Assert.DoesNotContain(shortKey, error.Message);

        var padded = " " + OtherKeyText;
        error = Assert.Throws<ArgumentException>(() => MeshKeys.Create(KeyText, padded));
        Assert.Equal("additionalKey", error.ParamName);
        Assert.DoesNotContain(OtherKeyText, error.Message);
    }

    [Fact]
    public void Key_ids_are_eight_lower_hex_digits_and_differ_per_key()
    {
        var ids = new HashSet<string>();
        for (var i = 0; i < 50; i++)
        {
            var keys = MeshKeys.Create(MeshKeys.Generate(), null)!;
            Assert.Matches("^[0-9a-f]{8}$", keys.SigningKeyId);
            Assert.True(ProvenanceSigner.IsKeyId(keys.SigningKeyId));
            ids.Add(keys.SigningKeyId);
        }
        Assert.Equal(50, ids.Count);
        Assert.Equal(ProvenanceSigner.KeyIdOf(Encoding.UTF8.GetBytes(KeyText)), Keys.SigningKeyId);
        Assert.Equal(Keys.SigningKeyId, MeshKeys.Create(KeyText, null)!.SigningKeyId); // stable
    }

    [Theory]
    [InlineData("0123abcd", true)]
    [InlineData("ffffffff", true)]
    [InlineData("0123ABCD", false)]
    [InlineData("0123abc", false)]
    [InlineData("0123abcde", false)]
    [InlineData("0123abcg", false)]
    [InlineData("", false)]
    public void IsKeyId_is_eight_lower_hex_digits(string text, bool expected) => Assert.Equal(expected, ProvenanceSigner.IsKeyId(text));

    [Fact]
    public void Generated_keys_are_valid_and_random()
    {
        var a = MeshKeys.Generate();
        Assert.True(MeshKeys.IsValidKey(a, out var reason), reason);
        Assert.NotEqual(a, MeshKeys.Generate());
    }
}
