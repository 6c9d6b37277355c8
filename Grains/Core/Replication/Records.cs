namespace Mesh.Core.Replication;

/// <summary>A record header as Kafka carries it: a name and raw bytes (null allowed).</summary>
public readonly record struct RecordHeader(string Name, byte[]? Value);

/// <summary>A record read from the source partition, as plain values.</summary>
public sealed record SourceRecord(
    long Offset,
    byte[]? Key,
    byte[]? Value,
    long TimestampMs,
    IReadOnlyList<RecordHeader> Headers);

/// <summary>A record to write to the destination partition: the source record's key, value,
/// timestamp and application headers unchanged, with the provenance header set.</summary>
public sealed record OutboundRecord(
    byte[]? Key,
    byte[]? Value,
    long TimestampMs,
    IReadOnlyList<RecordHeader> Headers,
    Provenance Provenance,
    long SourceOffset);
