namespace Mesh.Core.Replication;

/// <summary>A record header as Kafka carries it: a name and raw bytes (null allowed).</summary>
public readonly record struct RecordHeader(string Name, byte[]? Value);

/// <summary>A record read from the source partition, as plain values.</summary>
/// <param name="LogAppendTime">The timestamp is the broker's append time (the topic rewrites producers' timestamps).</param>
public sealed record SourceRecord(
    long Offset,
    byte[]? Key,
    byte[]? Value,
    long TimestampMs,
    IReadOnlyList<RecordHeader> Headers,
    bool LogAppendTime = false);

/// <summary>A record to write to the destination partition: the source record's key, value,
/// timestamp and application headers unchanged, with the provenance header set.</summary>
public sealed record OutboundRecord(
    byte[]? Key,
    byte[]? Value,
    long TimestampMs,
    IReadOnlyList<RecordHeader> Headers,
    Provenance Provenance,
    long SourceOffset)
{
    /// <summary>
    /// The outbound form of <paramref name="record"/> arriving with <paramref name="arrived"/>: every
    /// application header unchanged, any provenance header it carried replaced by the signed one. A
    /// header the mesh did not trust (<paramref name="untrusted"/>) is kept under
    /// <see cref="ProvenanceCodec.UntrustedHeaderName"/> or dropped.
    /// </summary>
    public static OutboundRecord From(SourceRecord record, Provenance arrived, bool untrusted, bool keepUntrusted, ProvenanceSigner? signer)
    {
        var headers = new List<RecordHeader>(record.Headers.Count + 1);
        foreach (var header in record.Headers)
        {
            if (header.Name != ProvenanceCodec.HeaderName) headers.Add(header);
            else if (untrusted && keepUntrusted) headers.Add(new RecordHeader(ProvenanceCodec.UntrustedHeaderName, header.Value));
        }
        var value = signer is null
            ? ProvenanceCodec.Encode(arrived)
            : signer.Encode(arrived, record.Key, record.Value);
        headers.Add(new RecordHeader(ProvenanceCodec.HeaderName, value));
        // The origin timestamp, not the record's: a topic on the way that stamps append times must not
        // change the timestamp the next region checks the signed header against.
        return new OutboundRecord(record.Key, record.Value, arrived.OriginTimestampMs, headers, arrived, record.Offset);
    }
}
