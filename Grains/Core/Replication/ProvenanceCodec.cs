using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace Mesh.Core.Replication;

/// <summary>
/// Encodes <see cref="Provenance"/> as one Kafka record header. One header rather than five keeps
/// the per-record cost low; plain UTF-8 text keeps it readable with kcat:
/// <c>1|us-east|3|1042|1732480000000|us-east,eu-west</c>
/// (format version | origin region | origin partition | origin offset | origin timestamp ms | hops).
/// </summary>
public static class ProvenanceCodec
{
    public const string HeaderName = "mesh.provenance";
    private const string FormatVersion = "1";

    public static byte[] Encode(Provenance provenance)
    {
        ArgumentNullException.ThrowIfNull(provenance);
        var text = string.Create(CultureInfo.InvariantCulture,
            $"{FormatVersion}|{provenance.OriginRegion}|{provenance.OriginPartition}|{provenance.OriginOffset}|{provenance.OriginTimestampMs}|{string.Join(',', provenance.Hops)}");
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>Decodes a header value; on failure <paramref name="reason"/> says what is wrong with it.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> value, out Provenance? provenance, out string reason)
    {
        provenance = null;
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(value);
        }
        catch (DecoderFallbackException)
        {
            reason = "header is not valid UTF-8";
            return false;
        }

        var fields = text.Split('|');
        if (fields.Length != 6)
        {
            reason = $"expected 6 '|'-separated fields, found {fields.Length}";
            return false;
        }
        if (fields[0] != FormatVersion)
        {
            reason = $"unsupported provenance format version '{fields[0]}' (this build reads version {FormatVersion})";
            return false;
        }
        if (!RegionIds.IsValid(fields[1], out var regionReason))
        {
            reason = $"origin region: {regionReason}";
            return false;
        }
        if (!int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var partition))
        {
            reason = $"origin partition '{fields[2]}' is not a non-negative integer";
            return false;
        }
        if (!long.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            reason = $"origin offset '{fields[3]}' is not a non-negative integer";
            return false;
        }
        if (!long.TryParse(fields[4], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var timestamp))
        {
            reason = $"origin timestamp '{fields[4]}' is not an integer";
            return false;
        }
        var hops = fields[5].Split(',');
        foreach (var hop in hops)
        {
            if (!RegionIds.IsValid(hop, out var hopReason))
            {
                reason = $"hops: {hopReason}";
                return false;
            }
        }
        if (hops[0] != fields[1])
        {
            reason = $"hops must start at the origin region '{fields[1]}', found '{hops[0]}'";
            return false;
        }
        if (hops.Distinct(StringComparer.Ordinal).Count() != hops.Length)
        {
            reason = $"hops list a region twice ({fields[5]}): the record has looped";
            return false;
        }

        provenance = new Provenance(fields[1], partition, offset, timestamp, [.. hops]);
        reason = "";
        return true;
    }
}
