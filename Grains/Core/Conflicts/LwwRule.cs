using System.Buffers.Binary;
using System.Globalization;
using Mesh.Core.Replication;
using Mesh.Core.Topology;

namespace Mesh.Core.Conflicts;

/// <summary>
/// How an lww topic orders its writes: by origin timestamp, or by a 64-bit version the application puts in a
/// record header. A version header's value is read as
/// <list type="bullet">
/// <item>decimal text (ASCII/UTF-8 digits, an optional leading '-'), whatever its length;</item>
/// <item>otherwise, when it is exactly 8 bytes, a big-endian signed 64-bit integer.</item>
/// </list>
/// Text goes first because an application counting in text passes 8 digits (10000000) long before a binary
/// version has all eight bytes in '0'..'9'; read as binary, that one write would outrank everything after it.
/// A record whose header is missing, empty or neither (not digits, or out of range) is still a write: it is
/// ordered by its origin timestamp instead, and reported as a bad version. Every region applies the same rule
/// to the same bytes, so every region computes the same <see cref="RecordVersion"/>.
/// </summary>
public sealed class LwwRule
{
    /// <param name="versionHeader">The header carrying the application's version; null orders writes by origin timestamp.</param>
    public LwwRule(string? versionHeader)
    {
        if (versionHeader is { Length: 0 }) throw new ArgumentException("a version header needs a name; pass null to order writes by timestamp", nameof(versionHeader));
        VersionHeader = versionHeader;
    }

    /// <summary>The rule a topology's conflict rule names.</summary>
    public static LwwRule For(ConflictRule rule) => new(rule.VersionHeader);

    /// <summary>Null: writes are ordered by origin timestamp.</summary>
    public string? VersionHeader { get; }

    /// <summary>
    /// The version of <paramref name="record"/>, a write produced at <paramref name="originRegion"/>'s offset
    /// <paramref name="originOffset"/> with timestamp <paramref name="originTimestampMs"/> there.
    /// </summary>
    /// <param name="badVersion">The topic orders by a version header and this record's is missing or unreadable: it is ordered by timestamp.</param>
    public RecordVersion VersionOf(SourceRecord record, string originRegion, long originOffset, long originTimestampMs, out bool badVersion) =>
        VersionOf(record.Headers, originRegion, originOffset, originTimestampMs, out badVersion);

    /// <summary>The version of a record a link is about to write: its identity is the provenance it will carry.</summary>
    public RecordVersion VersionOf(OutboundRecord outbound, out bool badVersion) =>
        VersionOf(outbound.Headers, outbound.Provenance.OriginRegion, outbound.Provenance.OriginOffset, outbound.Provenance.OriginTimestampMs, out badVersion);

    public RecordVersion VersionOf(OutboundRecord outbound) => VersionOf(outbound, out _);

    private RecordVersion VersionOf(IReadOnlyList<RecordHeader> headers, string originRegion, long originOffset, long originTimestampMs, out bool badVersion)
    {
        badVersion = false;
        if (VersionHeader is null) return new RecordVersion(originTimestampMs, originRegion, originOffset);
        // Kafka allows a header name more than once; as its clients' lastHeader does, the last one counts.
        byte[]? value = null;
        for (var i = headers.Count - 1; i >= 0; i--)
        {
            if (headers[i].Name != VersionHeader) continue;
            value = headers[i].Value;
            break;
        }
        if (value is not null && TryReadVersion(value, out var version)) return new RecordVersion(version, originRegion, originOffset);
        badVersion = true;
        return new RecordVersion(originTimestampMs, originRegion, originOffset);
    }

    /// <summary>A version header's value as a 64-bit version (see the class summary); false when it is not one.</summary>
    public static bool TryReadVersion(ReadOnlySpan<byte> value, out long version)
    {
        if (IsDecimal(value))
            return long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out version);
        if (value.Length == sizeof(long))
        {
            version = BinaryPrimitives.ReadInt64BigEndian(value);
            return true;
        }
        version = 0;
        return false;
    }

    // Digits with an optional leading '-': no '+', no white space, no separators, so that one value has one reading.
    private static bool IsDecimal(ReadOnlySpan<byte> value)
    {
        var digits = value.Length > 0 && value[0] == (byte)'-' ? value[1..] : value;
        if (digits.IsEmpty) return false;
        foreach (var b in digits)
        {
            if (b is < (byte)'0' or > (byte)'9') return false;
        }
        return true;
    }
}
