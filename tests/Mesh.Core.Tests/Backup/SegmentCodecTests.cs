using System.Security.Cryptography;
using System.Text;
using Mesh.Core.Backup;
using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Backup;

public class SegmentCodecTests
{
    private static readonly BackupStream Stream = new("orders", 3, "eu-west", "0a1b2c3d");

    internal static BackupRecord Record(long offset, string? key, string? value, long timestamp = 1_700_000_000_000, params RecordHeader[] headers) =>
        new(offset, timestamp, false, key is null ? null : Encoding.UTF8.GetBytes(key), value is null ? null : Encoding.UTF8.GetBytes(value), headers);

    internal static void AssertSameRecords(IReadOnlyList<BackupRecord> expected, IReadOnlyList<BackupRecord> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var (e, a) = (expected[i], actual[i]);
            Assert.Equal(e.OriginOffset, a.OriginOffset);
            Assert.Equal(e.TimestampMs, a.TimestampMs);
            Assert.Equal(e.LogAppendTime, a.LogAppendTime);
            AssertSameBytes(e.Key, a.Key, $"key of record {i}");
            AssertSameBytes(e.Value, a.Value, $"value of record {i}");
            Assert.Equal(e.Headers.Count, a.Headers.Count);
            for (var h = 0; h < e.Headers.Count; h++)
            {
                Assert.Equal(e.Headers[h].Name, a.Headers[h].Name);
                AssertSameBytes(e.Headers[h].Value, a.Headers[h].Value, $"header {h} ({e.Headers[h].Name}) of record {i}");
            }
        }
    }

    private static void AssertSameBytes(byte[]? expected, byte[]? actual, string what)
    {
        if (expected is null)
        {
            Assert.True(actual is null, $"{what}: expected null, got {actual?.Length} bytes");
            return;
        }
        Assert.True(actual is not null, $"{what}: expected {expected.Length} bytes, got null");
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"{what}: bytes differ");
    }

    private static List<BackupRecord> Awkward()
    {
        var big = new byte[1 << 20];
        new Random(7).NextBytes(big);
        var many = Enumerable.Range(0, 40).Select(i => new RecordHeader($"h{i}", i % 3 == 0 ? null : Encoding.UTF8.GetBytes(new string('x', i)))).ToArray();
        return
        [
            Record(10, null, null),
            Record(11, "", ""),
            Record(12, "k", null, 1_700_000_000_500, new RecordHeader("empty", []), new RecordHeader("null", null)),
            Record(15, null, "v", 1_699_999_999_000, new RecordHeader("schlüssel-名前-ключ-🔑", Encoding.UTF8.GetBytes("wert-値"))),
            new BackupRecord(16, 1_700_000_001_000, true, [1, 2, 3], big, []),
            new BackupRecord(17, -1, false, [], [0], many),
            new BackupRecord(1_000_000_000_000, long.MaxValue, true, null, [], [new RecordHeader("", [])]),
        ];
    }

    [Fact]
    public void Round_trip_keeps_every_byte_and_null_apart_from_empty()
    {
        var records = Awkward();
        var segment = SegmentCodec.Encode(Stream, 4, records, "eu-central", 1_765_000_000_000, key: null);

        var decoded = SegmentCodec.Decode(segment, key: null);

        AssertSameRecords(records, decoded.Records);
        var header = decoded.Header;
        Assert.Equal(Stream, header.Stream);
        Assert.Equal(4, header.Sequence);
        Assert.Equal(10, header.FirstOffset);
        Assert.Equal(1_000_000_000_000, header.LastOffset);
        Assert.Equal(-1, header.MinTimestampMs);
        Assert.Equal(long.MaxValue, header.MaxTimestampMs);
        Assert.Equal(records.Count, header.RecordCount);
        Assert.Equal("eu-central", header.Writer);
        Assert.Equal(1_765_000_000_000, header.WrittenAtMs);
        Assert.Null(header.EncryptionKeyId);
        Assert.True(header.RawBytes > 1 << 20, $"raw bytes {header.RawBytes} should count the 1 MiB value");
        Assert.Equal(header, SegmentCodec.ReadHeader(segment));
    }

    [Fact]
    public void A_segment_starts_with_its_magic_and_a_readable_json_header()
    {
        var segment = SegmentCodec.Encode(Stream, 0, [Record(0, "k", "v")], "eu-west", 1, null);
        Assert.Equal("MESHSEG1", Encoding.ASCII.GetString(segment, 0, 8));
        var headerLength = BitConverter.ToInt32(segment, 8);
        var json = Encoding.UTF8.GetString(segment, 12, headerLength);
        Assert.Contains("\"topic\":\"orders\"", json);
        Assert.Contains("\"originIncarnation\":\"0a1b2c3d\"", json);
        Assert.Contains("\"compression\":\"lz4-frame\"", json);
        Assert.Contains("\"payloadLength\":", json);
        Assert.Equal(SHA256.HashData(segment.AsSpan(0, segment.Length - 32)), segment[^32..]);
    }

    [Fact]
    public void Every_flipped_byte_is_detected()
    {
        var records = new[] { Record(0, "a", "one", 5, new RecordHeader("h", [9])), Record(1, null, "two", 6) };
        var segment = SegmentCodec.Encode(Stream, 0, records, "eu-west", 1, null);
        for (var i = 0; i < segment.Length; i++)
        {
            var damaged = (byte[])segment.Clone();
            damaged[i] ^= 0x01;
            var e = Assert.Throws<SegmentCorruptException>(() => SegmentCodec.Decode(damaged, null));
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
            Assert.Throws<SegmentCorruptException>(() => SegmentCodec.ReadHeader(damaged));
        }
    }

    [Fact]
    public void A_flipped_payload_byte_reports_both_checksums()
    {
        var segment = SegmentCodec.Encode(Stream, 0, [Record(0, "a", "one")], "eu-west", 1, null);
        var stored = Convert.ToHexStringLower(segment.AsSpan(segment.Length - 32));
        segment[segment.Length - 40] ^= 0x10;
        var computed = Convert.ToHexStringLower(SHA256.HashData(segment.AsSpan(0, segment.Length - 32)));

        var e = Assert.Throws<SegmentCorruptException>(() => SegmentCodec.Decode(segment, null));

        Assert.Equal($"checksum mismatch: the segment's trailing SHA-256 is {stored}, its content hashes to {computed}", e.Message);
    }

    [Fact]
    public void A_damaged_magic_says_it_is_not_a_segment()
    {
        var segment = SegmentCodec.Encode(Stream, 0, [Record(0, "a", "one")], "eu-west", 1, null);
        segment[0] = (byte)'X';
        var e = Assert.Throws<SegmentCorruptException>(() => SegmentCodec.Decode(segment, null));
        Assert.StartsWith("bad magic", e.Message);
        Assert.Throws<SegmentCorruptException>(() => SegmentCodec.Decode("{\"not\":\"a segment\"}"u8, null));
    }

    [Fact]
    public void Truncation_at_every_length_is_detected_as_truncation()
    {
        var segment = SegmentCodec.Encode(Stream, 0, [Record(0, "a", "one"), Record(1, "b", "two")], "eu-west", 1, null);
        for (var length = 0; length < segment.Length; length++)
        {
            var e = Assert.Throws<SegmentCorruptException>(() => SegmentCodec.Decode(segment.AsSpan(0, length), null));
            Assert.Contains($"truncated at {length} of", e.Message);
        }
        var cut = Assert.Throws<SegmentCorruptException>(() => SegmentCodec.Decode(segment.AsSpan(0, segment.Length - 1), null));
        Assert.Equal($"segment truncated at {segment.Length - 1} of {segment.Length} bytes", cut.Message);
    }

    [Fact]
    public void Bytes_after_the_checksum_are_reported()
    {
        var segment = SegmentCodec.Encode(Stream, 0, [Record(0, "a", "one")], "eu-west", 1, null);
        var longer = segment.Concat(new byte[] { 0 }).ToArray();
        var e = Assert.Throws<SegmentCorruptException>(() => SegmentCodec.Decode(longer, null));
        Assert.Contains($"it is {longer.Length} bytes where its header says {segment.Length}", e.Message);
    }

    [Fact]
    public void Encrypted_segments_round_trip_and_name_their_key()
    {
        var key = new SegmentKey(RandomNumberGenerator.GetBytes(32));
        var records = Awkward();
        var segment = SegmentCodec.Encode(Stream, 1, records, "eu-west", 1, key);

        var header = SegmentCodec.ReadHeader(segment);
        var decoded = SegmentCodec.Decode(segment, key);

        Assert.Equal(key.Id, header.EncryptionKeyId);
        AssertSameRecords(records, decoded.Records);
        // The records are not in clear anywhere in the file.
        Assert.Equal(-1, segment.AsSpan().IndexOf("schlüssel"u8));
        Assert.Equal(-1, segment.AsSpan().IndexOf(records[4].Value.AsSpan(1000, 64)));
    }

    [Fact]
    public void The_same_records_encrypt_differently_each_time()
    {
        var key = new SegmentKey(new byte[32]);
        var a = SegmentCodec.Encode(Stream, 0, [Record(0, "a", "one")], "eu-west", 1, key);
        var b = SegmentCodec.Encode(Stream, 0, [Record(0, "a", "one")], "eu-west", 1, key);
        Assert.False(a.AsSpan().SequenceEqual(b), "a fresh nonce per segment");
    }

    [Fact]
    public void A_wrong_or_missing_key_says_which_key_the_segment_needs()
    {
        var key = new SegmentKey(Enumerable.Repeat((byte)1, 32).ToArray());
        var other = new SegmentKey(Enumerable.Repeat((byte)2, 32).ToArray());
        var segment = SegmentCodec.Encode(Stream, 2, [Record(0, "a", "one")], "eu-west", 1, key);

        var missing = Assert.Throws<SegmentCorruptException>(() => SegmentCodec.Decode(segment, null));
        var wrong = Assert.Throws<SegmentCorruptException>(() => SegmentCodec.Decode(segment, other));

        Assert.Equal($"segment {Stream} #2 is encrypted with key id {key.Id}; no key given (the topology's backup.encryption-key-env names the environment variable)", missing.Message);
        Assert.Equal($"segment {Stream} #2 is encrypted with key id {key.Id}, the given key is {other.Id}", wrong.Message);
        Assert.NotEqual(key.Id, other.Id);
    }

    [Fact]
    public void Ciphertext_or_header_altered_under_a_recomputed_checksum_fails_to_decrypt()
    {
        var key = new SegmentKey(RandomNumberGenerator.GetBytes(32));
        var segment = SegmentCodec.Encode(Stream, 0, [Record(0, "a", "one"), Record(1, "b", "two")], "eu-west", 1, key);
        var headerLength = BitConverter.ToInt32(segment, 8);

        foreach (var index in new[] { 12 + headerLength + 20, 12 + headerLength - 3 })
        {
            var forged = (byte[])segment.Clone();
            if (index < 12 + headerLength)
            {
                // Change a digit of the header (writtenAtMs and the like): still valid JSON, still the same length.
                var json = Encoding.UTF8.GetString(forged, 12, headerLength);
                var at = json.IndexOf("\"writtenAtMs\":1", StringComparison.Ordinal) + "\"writtenAtMs\":".Length;
                forged[12 + at] = (byte)'2';
            }
            else
            {
                forged[index] ^= 0x40;
            }
            SHA256.HashData(forged.AsSpan(0, forged.Length - 32), forged.AsSpan(forged.Length - 32));

            var e = Assert.Throws<SegmentCorruptException>(() => SegmentCodec.Decode(forged, key));
            Assert.Contains("decrypt failed", e.Message);
        }
    }

    [Fact]
    public void Repetitive_records_compress()
    {
        var records = Enumerable.Range(0, 2000)
            .Select(i => Record(i, $"customer-{i % 50}", $"{{\"order\":{i},\"status\":\"shipped\",\"warehouse\":\"eu-west-1\",\"items\":[1,2,3]}}", 1_700_000_000_000 + i,
                new RecordHeader("content-type", "application/json"u8.ToArray())))
            .ToList();
        var segment = SegmentCodec.Encode(Stream, 0, records, "eu-west", 1, null);
        var raw = SegmentCodec.ReadHeader(segment).RawBytes;
        Assert.True(segment.Length * 4 < raw, $"{raw} raw bytes stored in {segment.Length}: expected at least 4x compression");
        AssertSameRecords(records, SegmentCodec.Decode(segment, null).Records);
    }

    [Fact]
    public void Encode_refuses_records_out_of_order_or_none()
    {
        Assert.Throws<ArgumentException>(() => SegmentCodec.Encode(Stream, 0, [], "eu-west", 1, null));
        var e = Assert.Throws<ArgumentException>(() => SegmentCodec.Encode(Stream, 0, [Record(5, "a", "b"), Record(5, "a", "b")], "eu-west", 1, null));
        Assert.Contains("record 1 has origin offset 5 after 5", e.Message);
    }

    /// <summary>
    /// A segment written by this version, kept as bytes: later versions must keep reading it (the
    /// format is versioned; a change that breaks this test needs a new format number and a reader for 1).
    /// </summary>
    [Fact]
    public void Reads_a_format_1_segment_written_earlier()
    {
        var bytes = Convert.FromBase64String(FormatOneSegment);
        var decoded = SegmentCodec.Decode(bytes, null);
        Assert.Equal(new BackupStream("orders", 3, "eu-west", "0a1b2c3d"), decoded.Header.Stream);
        AssertSameRecords(FormatOneRecords(), decoded.Records);
    }

    internal static List<BackupRecord> FormatOneRecords() =>
    [
        Record(7, null, "", 1_765_000_000_000, new RecordHeader("trace", null)),
        new BackupRecord(9, 1_765_000_000_005, true, "k"u8.ToArray(), null, [new RecordHeader("é", [0, 255])]),
    ];

    internal const string FormatOneSegment =
        "TUVTSFNFRzFwAQAAeyJmb3JtYXQiOjEsInRvcGljIjoib3JkZXJzIiwicGFydGl0aW9uIjozLCJvcmlnaW5SZWdpb24iOiJldS13ZXN0Iiwib3JpZ2luSW5j" +
        "YXJuYXRpb24iOiIwYTFiMmMzZCIsInNlcXVlbmNlIjowLCJmaXJzdE9mZnNldCI6NywibGFzdE9mZnNldCI6OSwibWluVGltZXN0YW1wTXMiOjE3NjUwMDAw" +
        "MDAwMDAsIm1heFRpbWVzdGFtcE1zIjoxNzY1MDAwMDAwMDA1LCJyZWNvcmRDb3VudCI6MiwicmF3Qnl0ZXMiOjI0LCJ3cml0ZXIiOiJldS13ZXN0Iiwid3Jp" +
        "dHRlbkF0TXMiOjE3NjUwMDAwMDAxMDAsImNvbXByZXNzaW9uIjoibHo0LWZyYW1lIiwiZW5jcnlwdGlvbiI6bnVsbCwiZW5jcnlwdGlvbktleUlkIjpudWxs" +
        "LCJwYXlsb2FkTGVuZ3RoIjo0M30EIk0YREBeGAAAgAIAAAABBXRyYWNlAAUCCgFrAQLDqQMA/wAAAACenuimHhGR4YEIDhn3tfSUhOCTKEQSAT1pjqyB6jZW" +
        "s7C9e+Y=";
}

public class SegmentKeyTests
{
    [Fact]
    public void The_id_is_a_stable_fingerprint_of_the_key()
    {
        var bytes = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var expected = Convert.ToHexStringLower(SHA256.HashData([.. "mesh-backup-key|"u8.ToArray(), .. bytes]))[..8];
        Assert.Equal(expected, new SegmentKey(bytes).Id);
        Assert.Equal(8, expected.Length);
        Assert.Throws<ArgumentException>(() => new SegmentKey(new byte[16]));
    }

    [Fact]
    public void A_key_comes_from_an_environment_variable_and_bad_values_are_named_not_shown()
    {
        var variable = $"MESH_TEST_BACKUP_KEY_{Guid.NewGuid():N}";
        try
        {
            var missing = Assert.Throws<ArgumentException>(() => SegmentKey.FromEnvironment(variable));
            Assert.Contains($"{variable} is not set", missing.Message);

            Environment.SetEnvironmentVariable(variable, "not*base64*secret");
            var garbled = Assert.Throws<ArgumentException>(() => SegmentKey.FromEnvironment(variable));
            Assert.Contains($"{variable} is not valid base64", garbled.Message);
            Assert.DoesNotContain("secret", garbled.Message);

            var shortKey = Convert.ToBase64String(new byte[16]);
            Environment.SetEnvironmentVariable(variable, shortKey);
            var tooShort = Assert.Throws<ArgumentException>(() => SegmentKey.FromEnvironment(variable));
            Assert.Contains($"{variable} decodes to 16 bytes; AES-256 needs 32", tooShort.Message);
            Assert.DoesNotContain(shortKey, tooShort.Message);

            var key = RandomNumberGenerator.GetBytes(32);
            Environment.SetEnvironmentVariable(variable, Convert.ToBase64String(key));
            Assert.Equal(new SegmentKey(key).Id, SegmentKey.FromEnvironment(variable).Id);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }
}
