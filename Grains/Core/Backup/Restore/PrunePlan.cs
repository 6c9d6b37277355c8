using System.Globalization;

namespace Mesh.Core.Backup.Restore;

/// <summary>A segment prune removes, and why no restore at or after the cut-off needs it.</summary>
public sealed record PruneSegment(BackupStream Stream, ManifestEntry Entry, string Reason);

/// <summary>
/// What <c>mesh backup prune --older-than D</c> removes: whole segments from the start of each stream (never a
/// stream's last segment, which tells writers where the stream ends), and orphan segments below a stream's first
/// kept entry (left by a prune or a writer that stopped between its two steps).
/// </summary>
public sealed record PrunePlan(long CutoffMs, IReadOnlyList<PruneSegment> Segments, IReadOnlyList<StoredObject> Orphans, IReadOnlyList<string> Notes)
{
    public long Bytes => Segments.Sum(s => s.Entry.StoredBytes) + Orphans.Sum(o => o.Size);
}

/// <summary>
/// Decides which segments no restore at a moment at or after the cut-off (now - D) needs. A topic that deletes
/// by age under every configuration in force from the cut-off on: a segment whose newest record is at or before
/// (cut-off - the longest such retention), since a restore at TIME takes only records newer than TIME - retention.
/// Any other topic (compacted, or kept for ever): a segment each of whose records is superseded, within its own
/// origin stream (the order every restore keeps), by a later record with the same key at or before the cut-off;
/// a compacted topic keeps only the last record per key, and that later record is in every such restore.
/// Only a stream's leading segments go (removing one from the middle would leave a hole a reader cannot tell
/// from loss), and never its last. Manifest entries go before their segments: a crash between the two leaves an
/// orphan segment, which readers ignore and the next prune removes, never an entry without its segment.
/// </summary>
public static class PrunePlanner
{
    /// <param name="readSegment">Reads one segment's records (only called for topics pruned by key).</param>
    public static async Task<PrunePlan> PlanAsync(IReadOnlyList<CatalogTopic> topics, IReadOnlyList<StoredObject> orphans, long cutoffMs,
        Func<BackupStream, ManifestEntry, CancellationToken, Task<IReadOnlyList<BackupRecord>>> readSegment, CancellationToken cancellationToken)
    {
        var segments = new List<PruneSegment>();
        var notes = new List<string>();
        var firstKept = new Dictionary<BackupStream, long>();
        foreach (var topic in topics)
        {
            var retention = RetentionFrom(topic.Configs, cutoffMs);
            if (retention is { } ms)
            {
                var before = cutoffMs - ms;
                notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{topic.Topic}: deletes by age (retention.ms {ms}); segments whose newest record is at or before {RestoreInput.Format(before)} go"));
                foreach (var stream in topic.Streams)
                    firstKept[stream.Stream] = Prefix(stream, e => e.MaxTimestampMs <= before, $"its newest record is at or before {RestoreInput.Format(before)}", segments);
                continue;
            }
            notes.Add($"{topic.Topic}: compacted or kept for ever; segments go only when every record is superseded by a later one with the same key at or before {RestoreInput.Format(cutoffMs)}");
            foreach (var stream in topic.Streams)
                firstKept[stream.Stream] = await SupersededPrefixAsync(stream, cutoffMs, readSegment, segments, cancellationToken);
        }

        var orphansToRemove = new List<StoredObject>();
        foreach (var orphan in orphans)
        {
            if (SegmentSequence(orphan.Name) is not { } sequence) continue;
            var folder = orphan.Name[..(orphan.Name.IndexOf("/segments/", StringComparison.Ordinal) + 1)];
            if (BackupLayout.ParseStreamFolder(folder) is not { } stream) continue;
            // Below the first kept entry no writer appends (they append after the tip), so it is no append in flight.
            if (firstKept.TryGetValue(stream, out var first) && sequence < first) orphansToRemove.Add(orphan);
        }
        return new PrunePlan(cutoffMs, segments, orphansToRemove, notes);
    }

    /// <summary>
    /// The longest retention among the configurations in force at the cut-off or later, when every one of them
    /// deletes by age; null when one does not (or there is no snapshot: nothing is known, so prune by key).
    /// </summary>
    public static long? RetentionFrom(IReadOnlyList<TopicConfigSnapshot> configs, long cutoffMs)
    {
        var inForce = RestoreSelection.ConfigAt(configs, cutoffMs);
        if (inForce is null) return null;
        long longest = 0;
        foreach (var config in configs.Where(c => c == inForce || c.TakenAtMs > cutoffMs))
        {
            if (RestoreSelection.RetentionMs(config) is not { } ms) return null;
            longest = Math.Max(longest, ms);
        }
        return longest;
    }

    /// <summary>The sequence number of a segment object's name (<c>.../segments/{sequence}-...seg</c>); null when it is not one.</summary>
    public static long? SegmentSequence(string name)
    {
        var at = name.LastIndexOf("/segments/", StringComparison.Ordinal);
        if (at < 0 || !name.EndsWith(".seg", StringComparison.Ordinal)) return null;
        var file = name[(at + "/segments/".Length)..];
        var dash = file.IndexOf('-');
        return dash > 0 && long.TryParse(file[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) ? sequence : null;
    }

    // Returns the sequence of the first entry kept.
    private static long Prefix(CatalogStream stream, Func<ManifestEntry, bool> removable, string reason, List<PruneSegment> into)
    {
        var entries = stream.Entries;
        for (var i = 0; i < entries.Count - 1; i++)
        {
            if (!removable(entries[i])) return entries[i].Sequence;
            into.Add(new PruneSegment(stream.Stream, entries[i], reason));
        }
        return entries.Count > 0 ? entries[^1].Sequence : 0;
    }

    private static async Task<long> SupersededPrefixAsync(CatalogStream stream, long cutoffMs,
        Func<BackupStream, ManifestEntry, CancellationToken, Task<IReadOnlyList<BackupRecord>>> readSegment, List<PruneSegment> into, CancellationToken cancellationToken)
    {
        var entries = stream.Entries;
        if (entries.Count < 2) return entries.Count > 0 ? entries[0].Sequence : 0;
        // The newest origin offset at or before the cut-off per key, over the stream's segments that may hold one.
        var latest = new Dictionary<string, long>(StringComparer.Ordinal);
        var decoded = new Dictionary<long, IReadOnlyList<BackupRecord>>();
        foreach (var entry in entries)
        {
            if (entry.MinTimestampMs > cutoffMs) continue;
            var records = await readSegment(stream.Stream, entry, cancellationToken);
            decoded[entry.Sequence] = records;
            foreach (var record in records)
                if (record.Key is not null && record.TimestampMs <= cutoffMs)
                    latest[Convert.ToBase64String(record.Key)] = Math.Max(record.OriginOffset, latest.GetValueOrDefault(Convert.ToBase64String(record.Key), -1));
        }
        var reason = $"every record is superseded by a later one with its key at or before {RestoreInput.Format(cutoffMs)}";
        for (var i = 0; i < entries.Count - 1; i++)
        {
            var entry = entries[i];
            if (!decoded.TryGetValue(entry.Sequence, out var records)) return entry.Sequence;
            // A record with no key is never superseded: a restore writes it whatever comes later.
            var superseded = records.All(r => r.Key is not null && latest.TryGetValue(Convert.ToBase64String(r.Key), out var newer) && newer > r.OriginOffset);
            if (!superseded) return entry.Sequence;
            into.Add(new PruneSegment(stream.Stream, entry, reason));
        }
        return entries[^1].Sequence;
    }
}
