using Mesh.Core.Replication;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Conflicts;

/// <summary>Records of one lww partition as a region holds them: its own writes, replicated ones, repairs.</summary>
internal static class ConflictData
{
    public const int P = 3;

    /// <summary>A write produced in the region itself.</summary>
    public static SourceRecord Local(long offset, string key, string? value, long timestampMs, params RecordHeader[] headers) =>
        new(offset, Utf8(key), value is null ? null : Utf8(value), timestampMs, headers);

    /// <summary>A write of <paramref name="origin"/> as the mesh wrote it into <paramref name="region"/>: provenance (signed when a signer is given), the origin timestamp.</summary>
    public static SourceRecord Replicated(long offset, string region, string key, string? value, string origin, long originOffset, long timestampMs,
        ProvenanceSigner? signer, params RecordHeader[] headers)
    {
        var provenance = Prov(origin, Inc, Topic, P, originOffset, timestampMs, origin, region);
        var keyBytes = Utf8(key);
        var valueBytes = value is null ? null : Utf8(value);
        var header = signer is null ? ProvenanceCodec.Encode(provenance) : signer.Encode(provenance, keyBytes, valueBytes);
        return new SourceRecord(offset, keyBytes, valueBytes, timestampMs, [.. headers, new RecordHeader(ProvenanceCodec.HeaderName, header)]);
    }

    /// <summary>An outbound record as the partition holds it once written at <paramref name="offset"/>.</summary>
    public static SourceRecord At(this OutboundRecord outbound, long offset) =>
        new(offset, outbound.Key, outbound.Value, outbound.TimestampMs, outbound.Headers);
}
