using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;
using Mesh.Core.Replication;

namespace Mesh.Core.Backup;

/// <summary>
/// The header of a segment file, stored in clear in front of its records so that status and verify
/// read it without the key.
/// </summary>
public sealed record SegmentHeader(
    BackupStream Stream,
    long Sequence,
    long FirstOffset,
    long LastOffset,
    long MinTimestampMs,
    long MaxTimestampMs,
    int RecordCount,
    long RawBytes,
    string Writer,
    long WrittenAtMs,
    string? EncryptionKeyId);

/// <summary>A decoded segment: its header and its records in origin order.</summary>
public sealed record DecodedSegment(SegmentHeader Header, IReadOnlyList<BackupRecord> Records);

/// <summary>An encoded segment: the object's bytes, the header written into it, and the lower-case hex SHA-256 of the whole object.</summary>
public readonly record struct EncodedSegment(byte[] Bytes, SegmentHeader Header, string Sha256);

/// <summary>
/// An AES-256-GCM key for encryption at rest: 32 bytes, given base64 in an environment variable the
/// topology names. <see cref="Id"/> (a short fingerprint, never the key) goes into every segment header so
/// that a restore with the wrong key says so rather than failing to decrypt.
/// </summary>
public sealed class SegmentKey
{
    public const int KeyBytes = 32;
    private readonly byte[] _bytes;

    public SegmentKey(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length != KeyBytes)
            throw new ArgumentException($"a backup encryption key is {KeyBytes} bytes (AES-256); this one is {key.Length}", nameof(key));
        _bytes = (byte[])key.Clone();
        // A fingerprint under a fixed label: it names the key in headers and messages without revealing it.
        var label = "mesh-backup-key|"u8;
        var material = new byte[label.Length + KeyBytes];
        label.CopyTo(material);
        _bytes.CopyTo(material, label.Length);
        Id = Convert.ToHexStringLower(SHA256.HashData(material))[..8];
        CryptographicOperations.ZeroMemory(material);
    }

    public string Id { get; }

    internal byte[] Bytes => _bytes;

    /// <summary>Reads the key from <paramref name="variable"/>; a missing or malformed value throws <see cref="ArgumentException"/> naming the variable, never the value.</summary>
    public static SegmentKey FromEnvironment(string variable)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(variable);
        const string how = "set it to 32 random bytes in base64, e.g. `openssl rand -base64 32`";
        var text = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(text))
            throw new ArgumentException($"the backup encryption key variable {variable} is not set (the topology's backup.encryption-key-env names it): {how}");
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            throw new ArgumentException($"the backup encryption key in {variable} is not valid base64: {how}");
        }
        if (bytes.Length != KeyBytes)
            throw new ArgumentException($"the backup encryption key in {variable} decodes to {bytes.Length} bytes; AES-256 needs {KeyBytes}: {how}");
        try
        {
            return new SegmentKey(bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    public override string ToString() => $"backup key {Id}";
}

/// <summary>A segment that does not decode: the message says what is wrong; <see cref="Name"/> is the object when known.</summary>
public sealed class SegmentCorruptException(string message, string? name = null) : Exception(message)
{
    public string? Name { get; } = name;
}

/// <summary>
/// The segment file format (docs/backup.md): magic, a length-prefixed JSON header, the records as one
/// LZ4 frame (K4os.Compression.LZ4), optionally sealed with AES-256-GCM, and a trailing SHA-256 over
/// everything before it (the segment's own checksum; the manifest entry also holds the SHA-256 of the
/// whole object).
/// <code>
/// "MESHSEG1" | int32 LE header length | header (UTF-8 JSON) | payload | SHA-256 of all the above
/// payload   = LZ4 frame of the record encoding, or with a key: nonce (12) | AES-256-GCM(frame) | tag (16),
///             the header bytes as associated data
/// record    = flags (1: log-append time, 2: null key, 4: null value) | varint offset delta
///             | zigzag varint timestamp delta | [varint length, key] | [varint length, value]
///             | varint header count | per header: varint name length, UTF-8 name, varint (value length + 1, 0 = null), value
/// </code>
/// Deltas run from the header's first offset and minimum timestamp, then from the record before.
/// </summary>
public static class SegmentCodec
{
    public const int Format = 1;
    private static ReadOnlySpan<byte> Magic => "MESHSEG1"u8;
    private const int PrefixBytes = 12;
    private const int ChecksumBytes = 32;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private const int MaxHeaderBytes = 1 << 20;
    private const int MinimumSegmentBytes = PrefixBytes + 2 + ChecksumBytes;
    private const byte FlagLogAppendTime = 1, FlagNullKey = 2, FlagNullValue = 4, KnownFlags = 7;
    private const string Compression = "lz4-frame";
    private const string Encryption = "aes-256-gcm";

    private static readonly LZ4EncoderSettings FrameSettings = new()
    {
        CompressionLevel = LZ4Level.L00_FAST,
        ContentChecksum = true,
        // 1 MB blocks (the frame format's default is 64 KB): a segment of a few MB is then a few blocks, and the encoder's
        // per-block work (stash, dictionary copy between linked blocks) stops costing as much as the compression itself did
        // in a profile of an archiving silo. Same ratio; readers take the block size from each frame's header.
        BlockSize = 1024 * 1024,
    };

    /// <summary>Encodes <paramref name="records"/> (origin order, non-empty) with the header fields computed from them.</summary>
    public static byte[] Encode(BackupStream stream, long sequence, IReadOnlyList<BackupRecord> records, string writer, long writtenAtMs, SegmentKey? key) =>
        EncodeSegment(stream, sequence, records, writer, writtenAtMs, key).Bytes;

    /// <summary>
    /// As <see cref="Encode"/>, also giving the header written and the SHA-256 of the whole object
    /// (for its manifest entry), computed in the same pass as the segment's own checksum.
    /// </summary>
    public static EncodedSegment EncodeSegment(BackupStream stream, long sequence, IReadOnlyList<BackupRecord> records, string writer, long writtenAtMs, SegmentKey? key)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentException.ThrowIfNullOrWhiteSpace(writer);
        if (records.Count == 0) throw new ArgumentException("a segment holds at least one record", nameof(records));
        if (sequence < 0) throw new ArgumentOutOfRangeException(nameof(sequence), sequence, "a segment's sequence number is 0 or more");

        long minTs = long.MaxValue, maxTs = long.MinValue, previous = long.MinValue;
        long estimate = 0;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i] ?? throw new ArgumentException($"record {i} is null", nameof(records));
            if (i > 0 && record.OriginOffset <= previous)
                throw new ArgumentException($"records must be in strictly increasing origin order: record {i} has origin offset {record.OriginOffset} after {previous}", nameof(records));
            if (record.OriginOffset < 0)
                throw new ArgumentException($"record {i} has a negative origin offset ({record.OriginOffset})", nameof(records));
            previous = record.OriginOffset;
            minTs = Math.Min(minTs, record.TimestampMs);
            maxTs = Math.Max(maxTs, record.TimestampMs);
            estimate += 24 + (record.Key?.Length ?? 0) + (record.Value?.Length ?? 0) + record.Headers.Count * 24;
        }
        var first = records[0].OriginOffset;
        var last = records[^1].OriginOffset;

        using var raw = new PooledBuffer((int)Math.Min(estimate + 64, Array.MaxLength));
        EncodeRecords(records, first, minTs, raw);

        using var frame = new PooledBuffer(raw.Length / 2 + 1024);
        LZ4Frame.Encode(raw.WrittenSpan, frame, FrameSettings);

        var header = new SegmentHeader(stream, sequence, first, last, minTs, maxTs, records.Count, raw.Length, writer, writtenAtMs, key?.Id);
        long payloadLength = key is null ? frame.Length : NonceBytes + frame.Length + TagBytes;
        using var headerJson = new PooledBuffer(1024);
        WriteHeader(header, payloadLength, headerJson);
        var headerBytes = headerJson.WrittenSpan;

        var total = PrefixBytes + headerBytes.Length + payloadLength + ChecksumBytes;
        if (total > Array.MaxLength) throw new ArgumentException($"a segment of {records.Count} records would be {total} bytes, more than one object can hold; use a smaller segment size", nameof(records));
        var segment = new byte[total];
        var span = segment.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], headerBytes.Length);
        headerBytes.CopyTo(span[PrefixBytes..]);
        var payload = span.Slice(PrefixBytes + headerBytes.Length, (int)payloadLength);
        if (key is null)
        {
            frame.WrittenSpan.CopyTo(payload);
        }
        else
        {
            var nonce = payload[..NonceBytes];
            RandomNumberGenerator.Fill(nonce);
            using var aes = new AesGcm(key.Bytes, TagBytes);
            aes.Encrypt(nonce, frame.WrittenSpan, payload.Slice(NonceBytes, frame.Length), payload[^TagBytes..], headerBytes);
        }
        // The trailing checksum covers everything before it; the object's SHA-256 continues over it.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(span[..^ChecksumBytes]);
        hash.GetCurrentHash(span[^ChecksumBytes..]);
        hash.AppendData(span[^ChecksumBytes..]);
        Span<byte> whole = stackalloc byte[ChecksumBytes];
        hash.GetHashAndReset(whole);
        return new EncodedSegment(segment, header, Convert.ToHexStringLower(whole));
    }

    /// <summary>
    /// In one pass: the lower-case hex SHA-256 of the whole object (as its manifest entry holds it) and
    /// whether the segment's trailing checksum matches what it follows.
    /// </summary>
    public static (string ObjectSha256, bool ChecksumHolds) Digest(ReadOnlySpan<byte> segment)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (segment.Length < ChecksumBytes)
        {
            hash.AppendData(segment);
            return (Convert.ToHexStringLower(hash.GetHashAndReset()), false);
        }
        Span<byte> body = stackalloc byte[ChecksumBytes];
        Span<byte> whole = stackalloc byte[ChecksumBytes];
        hash.AppendData(segment[..^ChecksumBytes]);
        hash.GetCurrentHash(body);
        hash.AppendData(segment[^ChecksumBytes..]);
        hash.GetHashAndReset(whole);
        return (Convert.ToHexStringLower(whole), body.SequenceEqual(segment[^ChecksumBytes..]));
    }

    /// <summary>The header alone, after checking the trailing checksum; throws <see cref="SegmentCorruptException"/>.</summary>
    public static SegmentHeader ReadHeader(ReadOnlySpan<byte> segment) => Check(segment, checksumVerified: false).Header;

    /// <summary>Header and records; throws <see cref="SegmentCorruptException"/> (bad checksum, truncated, wrong or missing key).</summary>
    public static DecodedSegment Decode(ReadOnlySpan<byte> segment, SegmentKey? key) => Decode(segment, key, checksumVerified: false);

    /// <summary>As <see cref="Decode(ReadOnlySpan{byte}, SegmentKey?)"/>; <paramref name="checksumVerified"/> skips hashing again when <see cref="Digest"/> said the checksum holds.</summary>
    public static DecodedSegment Decode(ReadOnlySpan<byte> segment, SegmentKey? key, bool checksumVerified)
    {
        var layout = Check(segment, checksumVerified);
        var header = layout.Header;
        var headerBytes = segment.Slice(PrefixBytes, layout.HeaderLength);
        var payload = segment.Slice(PrefixBytes + layout.HeaderLength, (int)layout.PayloadLength);

        using var decrypted = header.EncryptionKeyId is null ? null : new PooledBuffer(Math.Max(payload.Length, 256));
        var frame = payload;
        if (header.EncryptionKeyId is not null)
        {
            if (key is null)
                throw new SegmentCorruptException($"segment {header.Stream} #{header.Sequence} is encrypted with key id {header.EncryptionKeyId}; no key given (the topology's backup.encryption-key-env names the environment variable)");
            if (key.Id != header.EncryptionKeyId)
                throw new SegmentCorruptException($"segment {header.Stream} #{header.Sequence} is encrypted with key id {header.EncryptionKeyId}, the given key is {key.Id}");
            if (payload.Length < NonceBytes + TagBytes)
                throw new SegmentCorruptException($"segment {header.Stream} #{header.Sequence}: decrypt failed: the encrypted payload is {payload.Length} bytes, shorter than a nonce and a tag");
            var plain = decrypted!.GetSpan(payload.Length)[..(payload.Length - NonceBytes - TagBytes)];
            try
            {
                using var aes = new AesGcm(key.Bytes, TagBytes);
                aes.Decrypt(payload[..NonceBytes], payload[NonceBytes..^TagBytes], payload[^TagBytes..], plain, headerBytes);
            }
            catch (AuthenticationTagMismatchException)
            {
                throw new SegmentCorruptException($"segment {header.Stream} #{header.Sequence}: decrypt failed: the AES-GCM tag does not match (the segment or its header was altered after it was written)");
            }
            decrypted.Advance(plain.Length);
            frame = decrypted.WrittenSpan;
        }

        if (header.RawBytes > Array.MaxLength)
            throw new SegmentCorruptException($"segment {header.Stream} #{header.Sequence}: its header claims {header.RawBytes} raw bytes, more than a segment can hold");
        using var raw = new PooledBuffer((int)Math.Max(header.RawBytes, 256));
        try
        {
            LZ4Frame.Decode(frame, raw);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException or InvalidOperationException or NotSupportedException)
        {
            throw new SegmentCorruptException($"segment {header.Stream} #{header.Sequence}: the LZ4 frame does not decompress: {e.Message}");
        }
        if (raw.Length != header.RawBytes)
            throw new SegmentCorruptException($"segment {header.Stream} #{header.Sequence}: the records decompress to {raw.Length} bytes, the header says {header.RawBytes}");
        return new DecodedSegment(header, DecodeRecords(raw.WrittenSpan, header));
    }

    /// <summary>Lower-case hex SHA-256 of an object's bytes, as manifest entries hold it.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private readonly record struct Layout(SegmentHeader Header, int HeaderLength, long PayloadLength);

    /// <summary>Finds out whether a segment is whole and intact, naming the first thing wrong in the way most useful to an operator.</summary>
    private static Layout Check(ReadOnlySpan<byte> segment, bool checksumVerified)
    {
        var length = segment.Length;
        var magicSeen = segment[..Math.Min(length, Magic.Length)];
        if (!Magic.StartsWith(magicSeen))
            throw new SegmentCorruptException($"bad magic: not a Mesh backup segment (it starts with {Convert.ToHexStringLower(magicSeen)}, a segment starts with \"MESHSEG1\")");
        if (length < PrefixBytes)
            throw new SegmentCorruptException($"segment truncated at {length} of at least {MinimumSegmentBytes} bytes");

        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(segment[8..]);
        var headerLengthPlausible = headerLength is >= 2 and <= MaxHeaderBytes;
        SegmentHeader? header = null;
        long payloadLength = 0;
        string? headerProblem = null;
        if (!headerLengthPlausible)
        {
            headerProblem = $"header length {headerLength} is not plausible";
        }
        else if (length < PrefixBytes + headerLength)
        {
            throw new SegmentCorruptException($"segment truncated at {length} of at least {PrefixBytes + headerLength + ChecksumBytes} bytes (the header alone is {headerLength} bytes)");
        }
        else
        {
            (header, payloadLength, headerProblem) = ParseHeader(segment.Slice(PrefixBytes, headerLength));
        }

        var expected = header is null ? -1 : PrefixBytes + headerLength + payloadLength + ChecksumBytes;
        if (header is not null && length < expected)
            throw new SegmentCorruptException($"segment truncated at {length} of {expected} bytes");
        if (length < MinimumSegmentBytes)
            throw new SegmentCorruptException($"segment truncated at {length} of at least {MinimumSegmentBytes} bytes");

        Span<byte> computed = stackalloc byte[ChecksumBytes];
        var stored = segment[^ChecksumBytes..];
        if (checksumVerified) stored.CopyTo(computed);
        else SHA256.HashData(segment[..^ChecksumBytes], computed);
        if (!computed.SequenceEqual(stored))
        {
            var extra = header is not null && length > expected ? $"; it is {length} bytes where its header says {expected}" : "";
            throw new SegmentCorruptException($"checksum mismatch: the segment's trailing SHA-256 is {Convert.ToHexStringLower(stored)}, its content hashes to {Convert.ToHexStringLower(computed)}{extra}");
        }
        // The checksum holds from here on: what is still wrong was written that way.
        if (header is null) throw new SegmentCorruptException($"segment header unreadable: {headerProblem}");
        if (length != expected)
            throw new SegmentCorruptException($"segment is {length} bytes, its header says {expected}");
        return new Layout(header, headerLength, payloadLength);
    }

    private static void WriteHeader(SegmentHeader header, long payloadLength, PooledBuffer target)
    {
        using var json = new Utf8JsonWriter(target);
        json.WriteStartObject();
        json.WriteNumber("format", Format);
        json.WriteString("topic", header.Stream.Topic);
        json.WriteNumber("partition", header.Stream.Partition);
        json.WriteString("originRegion", header.Stream.OriginRegion);
        json.WriteString("originIncarnation", header.Stream.OriginIncarnation);
        json.WriteNumber("sequence", header.Sequence);
        json.WriteNumber("firstOffset", header.FirstOffset);
        json.WriteNumber("lastOffset", header.LastOffset);
        json.WriteNumber("minTimestampMs", header.MinTimestampMs);
        json.WriteNumber("maxTimestampMs", header.MaxTimestampMs);
        json.WriteNumber("recordCount", header.RecordCount);
        json.WriteNumber("rawBytes", header.RawBytes);
        json.WriteString("writer", header.Writer);
        json.WriteNumber("writtenAtMs", header.WrittenAtMs);
        json.WriteString("compression", Compression);
        if (header.EncryptionKeyId is null)
        {
            json.WriteNull("encryption");
            json.WriteNull("encryptionKeyId");
        }
        else
        {
            json.WriteString("encryption", Encryption);
            json.WriteString("encryptionKeyId", header.EncryptionKeyId);
        }
        json.WriteNumber("payloadLength", payloadLength);
        json.WriteEndObject();
    }

    private static (SegmentHeader? Header, long PayloadLength, string? Problem) ParseHeader(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, 0, "the header is not a JSON object");
            var format = root.GetProperty("format").GetInt32();
            if (format != Format) return (null, 0, $"segment format {format}; this version reads format {Format}");
            var compression = root.GetProperty("compression").GetString();
            if (compression != Compression) return (null, 0, $"compression \"{compression}\" is not known (expected \"{Compression}\")");
            var keyId = root.TryGetProperty("encryptionKeyId", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
            var encryption = root.TryGetProperty("encryption", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            if ((keyId is null) != (encryption is null) || (encryption is not null && encryption != Encryption))
                return (null, 0, $"encryption \"{encryption}\" with key id \"{keyId}\" is not a known combination");
            var header = new SegmentHeader(
                new BackupStream(
                    Required(root, "topic"),
                    root.GetProperty("partition").GetInt32(),
                    Required(root, "originRegion"),
                    Required(root, "originIncarnation")),
                root.GetProperty("sequence").GetInt64(),
                root.GetProperty("firstOffset").GetInt64(),
                root.GetProperty("lastOffset").GetInt64(),
                root.GetProperty("minTimestampMs").GetInt64(),
                root.GetProperty("maxTimestampMs").GetInt64(),
                root.GetProperty("recordCount").GetInt32(),
                root.GetProperty("rawBytes").GetInt64(),
                Required(root, "writer"),
                root.GetProperty("writtenAtMs").GetInt64(),
                keyId);
            var payloadLength = root.GetProperty("payloadLength").GetInt64();
            if (payloadLength < 0 || header.RecordCount < 1 || header.RawBytes < 0 || header.LastOffset < header.FirstOffset)
                return (null, 0, "its numbers are out of range (payload length, record count, raw bytes or offsets)");
            return (header, payloadLength, null);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or FormatException or InvalidOperationException or ArgumentException)
        {
            return (null, 0, ex.Message);
        }
    }

    private static string Required(JsonElement root, string name) =>
        root.GetProperty(name).GetString() is { Length: > 0 } value ? value : throw new FormatException($"\"{name}\" is empty");

    private static void EncodeRecords(IReadOnlyList<BackupRecord> records, long firstOffset, long minTimestamp, PooledBuffer target)
    {
        var previousOffset = firstOffset;
        var previousTimestamp = minTimestamp;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            var flags = (byte)((record.LogAppendTime ? FlagLogAppendTime : 0) | (record.Key is null ? FlagNullKey : 0) | (record.Value is null ? FlagNullValue : 0));
            target.WriteByte(flags);
            target.WriteVarint((ulong)(record.OriginOffset - previousOffset));
            target.WriteVarint(ZigZag(unchecked(record.TimestampMs - previousTimestamp)));
            previousOffset = record.OriginOffset;
            previousTimestamp = record.TimestampMs;
            if (record.Key is not null)
            {
                target.WriteVarint((ulong)record.Key.Length);
                target.Write(record.Key);
            }
            if (record.Value is not null)
            {
                target.WriteVarint((ulong)record.Value.Length);
                target.Write(record.Value);
            }
            var headers = record.Headers;
            target.WriteVarint((ulong)headers.Count);
            for (var h = 0; h < headers.Count; h++)
            {
                var header = headers[h];
                var name = header.Name ?? throw new ArgumentException($"record at origin offset {record.OriginOffset} has a header with no name", nameof(records));
                var nameBytes = Encoding.UTF8.GetByteCount(name);
                target.WriteVarint((ulong)nameBytes);
                var span = target.GetSpan(nameBytes);
                target.Advance(Encoding.UTF8.GetBytes(name, span));
                if (header.Value is null)
                {
                    target.WriteVarint(0);
                }
                else
                {
                    target.WriteVarint((ulong)header.Value.Length + 1);
                    target.Write(header.Value);
                }
            }
        }
    }

    private static List<BackupRecord> DecodeRecords(ReadOnlySpan<byte> raw, SegmentHeader header)
    {
        var records = new List<BackupRecord>(header.RecordCount);
        var reader = new RecordReader(raw, header);
        var offset = header.FirstOffset;
        var timestamp = header.MinTimestampMs;
        long minTs = long.MaxValue, maxTs = long.MinValue;
        // Header names repeat from record to record: one string per distinct name, not one per header.
        var names = new Dictionary<int, string>();
        for (var i = 0; i < header.RecordCount; i++)
        {
            var flags = reader.Byte();
            if ((flags & ~KnownFlags) != 0) throw reader.Corrupt($"record {i} has unknown flags {flags:x2}");
            var delta = reader.Varint();
            if (i == 0 && delta != 0) throw reader.Corrupt($"the first record is at origin offset {header.FirstOffset + (long)delta}, the header says {header.FirstOffset}");
            if (i > 0 && delta == 0) throw reader.Corrupt($"record {i} repeats origin offset {offset}");
            offset = checked(offset + (long)delta);
            timestamp = unchecked(timestamp + UnZigZag(reader.Varint()));
            minTs = Math.Min(minTs, timestamp);
            maxTs = Math.Max(maxTs, timestamp);
            var key = (flags & FlagNullKey) != 0 ? null : reader.Bytes(reader.Length());
            var value = (flags & FlagNullValue) != 0 ? null : reader.Bytes(reader.Length());
            var headerCount = reader.Length();
            RecordHeader[] headers = headerCount == 0 ? [] : new RecordHeader[headerCount];
            for (var h = 0; h < headerCount; h++)
            {
                var nameBytes = reader.Span(reader.Length());
                var name = Name(names, nameBytes);
                var valueLength = reader.Varint();
                if (valueLength > (ulong)reader.Remaining + 1) throw reader.Corrupt($"a header value of {valueLength - 1} bytes runs past the end of the record encoding");
                var headerValue = valueLength == 0 ? null : reader.Bytes((int)(valueLength - 1));
                headers[h] = new RecordHeader(name, headerValue);
            }
            records.Add(new BackupRecord(offset, timestamp, (flags & FlagLogAppendTime) != 0, key, value, headers));
        }
        if (!reader.AtEnd) throw reader.Corrupt($"{reader.Remaining} bytes follow the last of {header.RecordCount} records");
        if (offset != header.LastOffset) throw reader.Corrupt($"the records end at origin offset {offset}, the header says {header.LastOffset}");
        if (minTs != header.MinTimestampMs || maxTs != header.MaxTimestampMs)
            throw reader.Corrupt($"the records' timestamps span {minTs}..{maxTs}, the header says {header.MinTimestampMs}..{header.MaxTimestampMs}");
        return records;
    }

    private static string Name(Dictionary<int, string> names, ReadOnlySpan<byte> bytes)
    {
        var hash = new HashCode();
        hash.AddBytes(bytes);
        var code = hash.ToHashCode();
        if (names.TryGetValue(code, out var known) && Encoding.UTF8.GetByteCount(known) == bytes.Length && Matches(known, bytes)) return known;
        var name = Encoding.UTF8.GetString(bytes);
        names[code] = name;
        return name;
    }

    private static bool Matches(string known, ReadOnlySpan<byte> bytes)
    {
        Span<byte> buffer = bytes.Length <= 256 ? stackalloc byte[bytes.Length] : new byte[bytes.Length];
        return Encoding.UTF8.GetBytes(known, buffer) == bytes.Length && buffer.SequenceEqual(bytes);
    }

    private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    private static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);

    private ref struct RecordReader(ReadOnlySpan<byte> raw, SegmentHeader header)
    {
        private readonly ReadOnlySpan<byte> _raw = raw;
        private int _position;

        public readonly bool AtEnd => _position == _raw.Length;

        public readonly int Remaining => _raw.Length - _position;

        public byte Byte()
        {
            if (_position >= _raw.Length) throw Corrupt("the record encoding ends early");
            return _raw[_position++];
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                var b = Byte();
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80) return value;
            }
            throw Corrupt("a varint runs past 64 bits");
        }

        public int Length()
        {
            var value = Varint();
            if (value > (ulong)Remaining) throw Corrupt($"a length of {value} runs past the end of the record encoding ({Remaining} bytes left)");
            return (int)value;
        }

        public ReadOnlySpan<byte> Span(int length)
        {
            if (length < 0 || length > Remaining) throw Corrupt($"a length of {length} runs past the end of the record encoding ({Remaining} bytes left)");
            var span = _raw.Slice(_position, length);
            _position += length;
            return span;
        }

        public byte[] Bytes(int length) => length == 0 ? [] : Span(length).ToArray();

        public readonly SegmentCorruptException Corrupt(string what) =>
            new($"segment {header.Stream} #{header.Sequence}: the record encoding is malformed at byte {_position}: {what}");
    }
}
