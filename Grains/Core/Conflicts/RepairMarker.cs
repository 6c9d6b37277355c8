using System.Globalization;
using System.Text;
using Mesh.Core.Replication;

namespace Mesh.Core.Conflicts;

/// <summary>
/// The mark of a repair record: a copy of a key's winning write that a region's repairer wrote after a losing
/// write landed behind it, so that the region's last record for the key is the winner again. It names the write
/// it copies, so the copy counts as that write and no link ever replicates it as a new one. One header,
/// <c>mesh.repair</c>, readable with kcat like the provenance header:
/// <c>1|us-east|1a2b3c4d|1042|9f86d081.q3k...</c> (format version | origin region | origin incarnation, or
/// <c>-</c> for a write of the region the copy is in | origin offset | signature). The signature is
/// <c>keyid.mac</c> with the mesh key (see <see cref="ProvenanceSigner.Sign"/>, under its own domain), over every
/// byte before the last '|' and the record's key and value; <c>-</c> when the mesh runs without a key.
/// </summary>
public sealed record RepairMarker(string OriginRegion, string? OriginIncarnation, long OriginOffset)
{
    public const string HeaderName = "mesh.repair";

    /// <summary>The incarnation field of a copy of the region's own write (the repairer need not know its incarnation).</summary>
    public const string NoIncarnation = "-";

    private const string FormatVersion = "1";
    private const int FieldCount = 5;
    private static readonly byte[] Domain = "mesh.repair/1\0"u8.ToArray();

    public string EncodeUnsigned() =>
        string.Create(CultureInfo.InvariantCulture, $"{FormatVersion}|{OriginRegion}|{OriginIncarnation ?? NoIncarnation}|{OriginOffset}");

    /// <summary>The header value for a repair record with this key and value: signed when <paramref name="signer"/> is given.</summary>
    public byte[] Encode(byte[]? key, byte[]? value, ProvenanceSigner? signer)
    {
        var text = EncodeUnsigned();
        return signer is null
            ? Encoding.UTF8.GetBytes(text + "|" + ProvenanceCodec.Unsigned)
            : signer.Sign(Domain, Encoding.UTF8.GetBytes(text), key, value);
    }

    /// <summary>
    /// The marker <paramref name="record"/> carries, when it decodes and, in a signed mesh
    /// (<paramref name="signer"/> given), verifies for this record's key and value.
    /// </summary>
    public static bool TryRead(SourceRecord record, ProvenanceSigner? signer, out RepairMarker? marker) =>
        TryRead(record, signer, out marker, out _);

    /// <param name="reason">Why a marker the record carries is not valid; empty when it carries none.</param>
    public static bool TryRead(SourceRecord record, ProvenanceSigner? signer, out RepairMarker? marker, out string reason)
    {
        marker = null;
        reason = "";
        var index = -1;
        for (var i = 0; i < record.Headers.Count; i++)
        {
            if (record.Headers[i].Name != HeaderName) continue;
            if (index >= 0)
            {
                reason = $"it carries more than one '{HeaderName}' header";
                return false;
            }
            index = i;
        }
        if (index < 0) return false;
        if (record.Headers[index].Value is not { } value)
        {
            reason = "its repair header has no value";
            return false;
        }
        if (!TryDecode(value, out var decoded, out var keyId, out var mac, out reason)) return false;
        if (signer is not null
            && !signer.Verify(Domain, "repair marker", value.AsSpan(0, value.AsSpan().LastIndexOf((byte)'|')), keyId, mac, record.Key, record.Value, out reason, out _))
            return false;
        marker = decoded;
        return true;
    }

    /// <summary>
    /// A valid marker that also fits where the record was read: a copy of <paramref name="readIn"/>'s own write carries no
    /// trusted provenance and comes after the write it copies; a copy of another region's write carries that write's
    /// provenance header, trusted here. Only such a marker makes the mesh treat a record as a repair: a marker copied
    /// onto another record, or (without a key) written by hand, leaves the record an ordinary write.
    /// </summary>
    internal static bool TryRead(SourceRecord record, string readIn, ProvenanceReading reading, ProvenanceSigner? signer, out RepairMarker? marker)
    {
        if (!TryRead(record, signer, out marker)) return false;
        var fits = marker!.OriginRegion == readIn
            ? reading.Verdict != ProvenanceVerdict.Trusted && marker.OriginIncarnation is null && marker.OriginOffset < record.Offset
            : reading.Verdict == ProvenanceVerdict.Trusted
              && reading.Trusted!.OriginRegion == marker.OriginRegion
              && reading.Trusted.OriginIncarnation == marker.OriginIncarnation
              && reading.Trusted.OriginOffset == marker.OriginOffset;
        if (fits) return true;
        marker = null;
        return false;
    }

    public static bool TryDecode(ReadOnlySpan<byte> value, out RepairMarker? marker, out string? keyId, out byte[]? mac, out string reason)
    {
        marker = null;
        keyId = null;
        mac = null;
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(value);
        }
        catch (DecoderFallbackException)
        {
            reason = "repair header is not valid UTF-8";
            return false;
        }
        var fields = text.Split('|');
        if (fields[0] != FormatVersion)
        {
            reason = $"unsupported repair header format version '{ProvenanceCodec.Truncate(fields[0])}' (this build reads version {FormatVersion})";
            return false;
        }
        if (fields.Length != FieldCount)
        {
            reason = $"expected {FieldCount} '|'-separated fields in the repair header, found {fields.Length}";
            return false;
        }
        if (!RegionIds.IsValid(fields[1], out var regionReason))
        {
            reason = $"origin region: {regionReason}";
            return false;
        }
        string? incarnation = null;
        if (fields[2] != NoIncarnation)
        {
            if (!Incarnations.IsValid(fields[2], out var incarnationReason))
            {
                reason = $"origin incarnation: {incarnationReason}";
                return false;
            }
            incarnation = fields[2];
        }
        if (!long.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            reason = $"origin offset '{ProvenanceCodec.Truncate(fields[3])}' is not a non-negative integer";
            return false;
        }
        if (!ProvenanceCodec.TryDecodeSignature(fields[4], out keyId, out mac, out reason)) return false;
        marker = new RepairMarker(fields[1], incarnation, offset);
        return true;
    }
}
