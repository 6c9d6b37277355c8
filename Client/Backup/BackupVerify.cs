using Mesh.Client.Local;
using Mesh.Core.Backup;
using Mesh.Core.Offsets;
using Mesh.Core.Replication;

namespace Mesh.Client.Backup;

/// <summary>A segment that failed a check: its object, and what is wrong.</summary>
public sealed record BadSegment(string Name, string Stream, long Sequence, string Problem);

public sealed record VerifyReport(string Store, int Segments, long Records, IReadOnlyList<BadSegment> Bad, IReadOnlyList<StoredObject> Orphans,
    bool Decoded, long? Compared, IReadOnlyList<string> Notes)
{
    public bool Sound => Bad.Count == 0;
}

/// <summary>
/// <c>mesh backup verify</c>: every segment against its manifest entry (SHA-256 of the object), its own trailing
/// checksum and header, and its records decoded (when in clear or the key is given); with deep, every record a
/// live region still holds in a covered range compared byte for byte with the backup's.
/// </summary>
public static class BackupVerify
{
    public static async Task<VerifyReport> RunAsync(string storeSpec, string? keyEnv, Func<BackupRegions>? deep, Action<string> progress,
        CancellationToken cancellationToken)
    {
        var store = BackupCommandStore.Open(storeSpec);
        var catalog = await BackupCommandStore.LoadAsync(store, null, cancellationToken);
        var key = BackupCommandStore.SegmentKey(catalog, keyEnv, "--key-env", required: false);
        var encrypted = catalog.Descriptor?.EncryptionKeyId is not null;
        var decode = !encrypted || key is not null;
        var notes = new List<string>();
        if (!decode) notes.Add("the store is encrypted and no key was given (--key-env): checksums and headers checked, records not decrypted");
        var bad = new List<BadSegment>();
        var records = new Dictionary<(string Topic, int Partition, string Region, string Incarnation, long Offset), (BackupRecord Record, string Segment)>();
        int segments = 0;
        long recordCount = 0;
        var total = catalog.Topics.Sum(t => t.Streams.Sum(s => s.Entries.Count));
        foreach (var topic in catalog.Topics)
        foreach (var stream in topic.Streams)
        foreach (var entry in stream.Entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            segments++;
            if (segments % 200 == 0) progress($"checked {segments} of {total} segments");
            var name = BackupLayout.StreamFolder(stream.Stream) + entry.Segment;
            var problem = await CheckAsync(store, stream.Stream, entry, name, decode ? key : null, decode, deep is not null ? records : null, cancellationToken);
            if (problem is not null) bad.Add(new BadSegment(name, stream.Stream.ToString(), entry.Sequence, problem));
            else recordCount += entry.Records;
        }

        long? compared = null;
        if (deep is not null)
        {
            if (!decode) throw new MeshCommandException("--deep compares records: the store is encrypted, give its key with --key-env NAME.", 2);
            compared = Compare(deep, catalog, records, bad, notes, progress, cancellationToken);
        }
        return new VerifyReport(store.Description, segments, recordCount, bad, catalog.Orphans, decode, compared, notes);
    }

    private static async Task<string?> CheckAsync(IBackupStore store, BackupStream stream, ManifestEntry entry, string name, SegmentKey? key, bool decode,
        Dictionary<(string, int, string, string, long), (BackupRecord, string)>? keep, CancellationToken cancellationToken)
    {
        byte[]? bytes;
        try
        {
            bytes = await store.ReadAsync(name, cancellationToken);
        }
        catch (BackupStoreException e)
        {
            throw new MeshCommandException($"Cannot read the backup: {e.Message}", 3);
        }
        if (bytes is null) return "missing: its manifest entry names it, the store does not hold it";
        var sha = SegmentCodec.Sha256Hex(bytes);
        if (sha != entry.Sha256) return $"SHA-256 {sha} differs from its manifest entry's {entry.Sha256} (the object was changed or damaged)";
        try
        {
            var header = SegmentCodec.ReadHeader(bytes);
            if (header.Stream != stream || header.Sequence != entry.Sequence || header.FirstOffset != entry.FirstOffset || header.LastOffset != entry.LastOffset
                || header.RecordCount != entry.Records)
                return $"its header ({header.Stream}, sequence {header.Sequence}, offsets {header.FirstOffset}-{header.LastOffset}, {header.RecordCount} records) " +
                       $"does not match its manifest entry (sequence {entry.Sequence}, offsets {entry.FirstOffset}-{entry.LastOffset}, {entry.Records} records)";
            if (!decode) return null;
            var segment = SegmentCodec.Decode(bytes, key);
            if (segment.Records.Count != entry.Records) return $"holds {segment.Records.Count} records, its entry says {entry.Records}";
            if (keep is not null)
                foreach (var record in segment.Records)
                    keep[(stream.Topic, stream.Partition, stream.OriginRegion, stream.OriginIncarnation, record.OriginOffset)] = (record, name);
            return null;
        }
        catch (SegmentCorruptException e)
        {
            return e.Message;
        }
    }

    private static long Compare(Func<BackupRegions> openRegions, BackupCatalog catalog,
        Dictionary<(string Topic, int Partition, string Region, string Incarnation, long Offset), (BackupRecord Record, string Segment)> records,
        List<BadSegment> bad, List<string> notes, Action<string> progress, CancellationToken cancellationToken)
    {
        using var regions = openRegions();
        using var signer = regions.MeshKey is { } meshKey ? MeshKeys.Create(meshKey, null)!.CreateSigner() : null;
        long compared = 0;
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var region in regions.Regions)
        {
            var (incarnation, topics) = regions.Describe(region);
            using var log = new PartitionLog(region);
            foreach (var topic in catalog.Topics)
            {
                if (!topics.TryGetValue(topic.Topic, out var partitions)) continue;
                progress($"{region.Id}: comparing {topic.Topic}");
                for (var p = 0; p < partitions; p++)
                foreach (var live in log.Read(topic.Topic, p, cancellationToken))
                {
                    var identity = RecordOrigin.Of(live.ToSource(), region.Id, incarnation, topic.Topic, p, signer);
                    if (!records.TryGetValue((topic.Topic, p, identity.Origin.Region, identity.Origin.Incarnation, identity.OriginOffset), out var kept)) continue;
                    compared++;
                    if (Difference(kept.Record, live) is { } difference && reported.Add(kept.Segment))
                        bad.Add(new BadSegment(kept.Segment, $"{topic.Topic}/{p} from {identity.Origin.Region}@{identity.Origin.Incarnation}", -1,
                            $"origin offset {identity.OriginOffset} differs from what {region.Id} holds at {topic.Topic}/{p} offset {live.Offset}: {difference}"));
                }
            }
        }
        if (compared == 0) notes.Add("--deep: no live region holds a record the backup covers");
        return compared;
    }

    private static string? Difference(BackupRecord kept, LoggedRecord live)
    {
        if (!Same(kept.Key, live.Key)) return "key";
        if (!Same(kept.Value, live.Value)) return "value";
        // A topic that stamps append times gives each region its own; otherwise the origin timestamp travels.
        if (!kept.LogAppendTime && !live.LogAppendTime && kept.TimestampMs != live.TimestampMs) return $"timestamp {kept.TimestampMs} vs {live.TimestampMs}";
        var liveHeaders = live.Headers.Where(h => h.Name != ProvenanceCodec.HeaderName).ToList();
        if (liveHeaders.Count != kept.Headers.Count) return "headers";
        for (var i = 0; i < liveHeaders.Count; i++)
            if (liveHeaders[i].Name != kept.Headers[i].Name || !Same(liveHeaders[i].Value, kept.Headers[i].Value)) return $"header '{liveHeaders[i].Name}'";
        return null;
    }

    private static bool Same(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);
}
