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

/// <summary>
/// An AES-256-GCM key for encryption at rest: 32 bytes, given base64 in an environment variable the
/// topology names. <see cref="Id"/> (a short fingerprint, never the key) goes into every segment header so
/// that a restore with the wrong key says so rather than failing to decrypt.
/// </summary>
public sealed class SegmentKey
{
    public SegmentKey(byte[] key) => throw new NotImplementedException();

    public string Id => throw new NotImplementedException();

    internal byte[] Bytes => throw new NotImplementedException();

    /// <summary>Reads the key from <paramref name="variable"/>; a missing or malformed value throws <see cref="ArgumentException"/> naming the variable, never the value.</summary>
    public static SegmentKey FromEnvironment(string variable) => throw new NotImplementedException();
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
/// </summary>
public static class SegmentCodec
{
    /// <summary>Encodes <paramref name="records"/> (origin order, non-empty) with the header fields computed from them.</summary>
    public static byte[] Encode(BackupStream stream, long sequence, IReadOnlyList<BackupRecord> records, string writer, long writtenAtMs, SegmentKey? key) =>
        throw new NotImplementedException();

    /// <summary>The header alone, after checking the trailing checksum; throws <see cref="SegmentCorruptException"/>.</summary>
    public static SegmentHeader ReadHeader(ReadOnlySpan<byte> segment) => throw new NotImplementedException();

    /// <summary>Header and records; throws <see cref="SegmentCorruptException"/> (bad checksum, truncated, wrong or missing key).</summary>
    public static DecodedSegment Decode(ReadOnlySpan<byte> segment, SegmentKey? key) => throw new NotImplementedException();

    /// <summary>Lower-case hex SHA-256 of an object's bytes, as manifest entries hold it.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => throw new NotImplementedException();
}
