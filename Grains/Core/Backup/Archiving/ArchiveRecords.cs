using Mesh.Core.Offsets;
using Mesh.Core.Replication;

namespace Mesh.Core.Backup.Archiving;

/// <summary>A record read from a region's partition as the backup keeps it.</summary>
public static class ArchiveRecords
{
    /// <summary>
    /// The backup's copy of <paramref name="record"/> with identity <paramref name="identity"/>: key, value,
    /// timestamp and headers as written. The mesh's provenance header goes only where the mesh put it (a
    /// trusted one, which the stream itself replaces); a header the mesh did not trust is the application's and stays.
    /// </summary>
    public static BackupRecord From(SourceRecord record, RecordIdentity identity)
    {
        IReadOnlyList<RecordHeader> headers = record.Headers;
        if (identity.Verdict == ProvenanceVerdict.Trusted && record.Headers.Any(h => h.Name == ProvenanceCodec.HeaderName))
            headers = [.. record.Headers.Where(h => h.Name != ProvenanceCodec.HeaderName)];
        return new BackupRecord(identity.OriginOffset, record.TimestampMs, record.LogAppendTime, record.Key, record.Value, headers);
    }

    /// <summary>The bytes a record adds to a segment before compression: what segment-bytes counts.</summary>
    public static long RawSize(BackupRecord record)
    {
        long size = 8 + 8 + 1 + (record.Key?.Length ?? 0) + (record.Value?.Length ?? 0);
        foreach (var header in record.Headers) size += header.Name.Length + (header.Value?.Length ?? 0) + 8;
        return size;
    }
}
