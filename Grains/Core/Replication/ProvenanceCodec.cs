using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Mesh.Core.Replication;

/// <summary>
/// A provenance header as read: what it says, and the signature it carries (if any).
/// <see cref="SignedLength"/> is how many leading bytes of the header value the signature covers.
/// </summary>
public sealed record ProvenanceHeader(Provenance Provenance, string? KeyId, byte[]? Mac, int SignedLength);

/// <summary>
/// Encodes <see cref="Provenance"/> as one Kafka record header. One header rather than several keeps
/// the per-record cost low; plain UTF-8 text keeps it readable with kcat:
/// <c>2|us-east|1a2b3c4d|orders|3|1042|1732480000000|us-east,eu-west|9f86d081.q3k...</c>
/// (format version | origin region | origin incarnation | origin topic | origin partition | origin
/// offset | origin timestamp ms | hops | signature). The signature is <c>keyid.mac</c> (see
/// <see cref="ProvenanceSigner"/>), or <c>-</c> when the mesh runs without a key; it covers every
/// byte before the last '|'.
/// </summary>
public static class ProvenanceCodec
{
    public const string HeaderName = "mesh.provenance";

    /// <summary>Where a header the mesh did not trust is kept, as an ordinary application header it never reads.</summary>
    public const string UntrustedHeaderName = "mesh.provenance.untrusted";

    public const string Unsigned = "-";
    private const string FormatVersion = "2";
    private const int FieldCount = 9;

    /// <summary>The header text before its signature field (what a signature covers).</summary>
    public static string EncodeUnsigned(Provenance provenance)
    {
        ArgumentNullException.ThrowIfNull(provenance);
        return string.Create(CultureInfo.InvariantCulture,
            $"{FormatVersion}|{provenance.OriginRegion}|{provenance.OriginIncarnation}|{provenance.OriginTopic}|{provenance.OriginPartition}|{provenance.OriginOffset}|{provenance.OriginTimestampMs}|{string.Join(',', provenance.Hops)}");
    }

    /// <summary>An unsigned header: for a mesh that runs without a key.</summary>
    public static byte[] Encode(Provenance provenance) => Encoding.UTF8.GetBytes(EncodeUnsigned(provenance) + "|" + Unsigned);

    /// <summary>Joins an unsigned header text and its signature into the header value.</summary>
    public static byte[] Encode(string unsignedText, string keyId, ReadOnlySpan<byte> mac) =>
        Encode(Encoding.UTF8.GetBytes(unsignedText), keyId, mac);

    /// <summary>The same from the unsigned header's bytes: one allocation, on the per-record path.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> unsignedHeader, string keyId, ReadOnlySpan<byte> mac)
    {
        var value = new byte[unsignedHeader.Length + 1 + keyId.Length + 1 + Base64Url.GetEncodedLength(mac.Length)];
        unsignedHeader.CopyTo(value);
        var at = unsignedHeader.Length;
        value[at++] = (byte)'|';
        at += Encoding.ASCII.GetBytes(keyId, value.AsSpan(at));
        value[at++] = (byte)'.';
        Base64Url.EncodeToUtf8(mac, value.AsSpan(at));
        return value;
    }

    /// <summary>Decodes a header value; on failure <paramref name="reason"/> says what is wrong with it.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> value, out ProvenanceHeader? header, out string reason)
    {
        header = null;
        string text;
        try
        {
            text = StrictUtf8.GetString(value);
        }
        catch (DecoderFallbackException)
        {
            reason = "header is not valid UTF-8";
            return false;
        }

        var fields = text.Split('|');
        if (fields[0] != FormatVersion)
        {
            reason = $"unsupported provenance format version '{Truncate(fields[0])}' (this build reads version {FormatVersion})";
            return false;
        }
        if (fields.Length != FieldCount)
        {
            reason = $"expected {FieldCount} '|'-separated fields, found {fields.Length}";
            return false;
        }
        if (!RegionIds.IsValid(fields[1], out var regionReason))
        {
            reason = $"origin region: {regionReason}";
            return false;
        }
        if (!Incarnations.IsValid(fields[2], out var incarnationReason))
        {
            reason = $"origin incarnation: {incarnationReason}";
            return false;
        }
        if (!TopicNames.IsValid(fields[3], out var topicReason))
        {
            reason = $"origin topic: {topicReason}";
            return false;
        }
        if (!int.TryParse(fields[4], NumberStyles.None, CultureInfo.InvariantCulture, out var partition))
        {
            reason = $"origin partition '{Truncate(fields[4])}' is not a non-negative integer";
            return false;
        }
        if (!long.TryParse(fields[5], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            reason = $"origin offset '{Truncate(fields[5])}' is not a non-negative integer";
            return false;
        }
        if (!long.TryParse(fields[6], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var timestamp))
        {
            reason = $"origin timestamp '{Truncate(fields[6])}' is not an integer";
            return false;
        }
        var hops = fields[7].Split(',');
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
        // The origin comes again when a rebuild wrote the record back into it (its Kafka was lost);
        // any other region twice is a loop.
        if (HopsRepeat(hops, fields[1]))
        {
            reason = $"hops list a region twice ({fields[7]}): the record has looped";
            return false;
        }

        if (!TryDecodeSignature(fields[8], out var keyId, out var mac, out reason)) return false;

        // The signature covers the value's bytes up to (not including) the last '|'.
        var signedLength = value.LastIndexOf((byte)'|');
        header = new ProvenanceHeader(new Provenance(fields[1], fields[2], fields[3], partition, offset, timestamp, [.. hops]), keyId, mac, signedLength);
        reason = "";
        return true;
    }

    // Decoding refuses bad UTF-8 rather than replacing it; one instance serves every record.
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    // A region other than the origin twice, or any region twice in a row, is a loop (hops are a handful: no set needed).
    private static bool HopsRepeat(string[] hops, string origin)
    {
        for (var i = 1; i < hops.Length; i++)
        {
            if (hops[i] == hops[i - 1]) return true;
            if (hops[i] == origin) continue;
            for (var j = 0; j < i; j++)
                if (hops[j] == hops[i]) return true;
        }
        return false;
    }

    /// <summary>
    /// Reads a signature field, the last of a mesh header: <see cref="Unsigned"/> (<paramref name="keyId"/> and
    /// <paramref name="mac"/> null) or <c>keyid.mac</c> with a base64url MAC of <see cref="ProvenanceSigner.MacLength"/> bytes.
    /// </summary>
    public static bool TryDecodeSignature(string signature, out string? keyId, out byte[]? mac, out string reason)
    {
        keyId = null;
        mac = null;
        reason = "";
        if (signature == Unsigned) return true;
        var dot = signature.IndexOf('.');
        if (dot <= 0 || !ProvenanceSigner.IsKeyId(signature.AsSpan(0, dot)))
        {
            reason = $"signature '{Truncate(signature)}' is not '-' or '<key id>.<mac>'";
            return false;
        }
        try
        {
            mac = Base64Url.DecodeFromChars(signature.AsSpan(dot + 1));
        }
        catch (FormatException)
        {
            mac = null;
            reason = $"signature '{Truncate(signature)}' does not carry a base64url MAC";
            return false;
        }
        if (mac.Length != ProvenanceSigner.MacLength)
        {
            reason = $"signature MAC is {mac.Length} bytes, expected {ProvenanceSigner.MacLength}";
            mac = null;
            return false;
        }
        keyId = signature[..dot];
        return true;
    }

    internal static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
