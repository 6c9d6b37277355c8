namespace Mesh.Core.Offsets;

/// <summary>A consumer group's position translated from one region's partition to another's.</summary>
/// <param name="Offset">Where the group resumes in the target partition.</param>
/// <param name="Redelivered">
/// The bound: records at or after <paramref name="Offset"/> in the target that the group may already
/// have processed in the source. Exact (every one of them was processed) unless
/// <paramref name="Uncertain"/> is above zero.
/// </param>
/// <param name="Uncertain">
/// Of <paramref name="Redelivered"/>, records whose processing cannot be told because the source's
/// retention removed where they would have been (the group may or may not have seen them there).
/// </param>
public readonly record struct OffsetTranslation(long Offset, long Redelivered, long Uncertain)
{
    /// <summary>Re-delivered records known to have been processed.</summary>
    public long Certain => Redelivered - Uncertain;
}

/// <summary>
/// Translates a consumer group's committed offset in one region's partition to the same partition in
/// another region, by record identity (provenance), without losing a record.
/// <para>
/// The group processed exactly the source's records before its committed offset c. Each origin
/// stream appears in origin order in every partition, so per stream that is a prefix: everything up
/// to the highest origin offset processed, H(s). The translated position is the first record of the
/// target whose origin offset is above H(s) of its stream (a stream the group never saw has none:
/// its first record), or the target's end when there is none. Every record before it was therefore
/// processed (zero loss), and no later position is safe: the record at it was not. What the group
/// gets again is counted by identity: target records at or after the position that were among the
/// source's records before c.
/// </para>
/// <para>
/// When the source's retention removed its head (<see cref="PartitionIndex.Start"/> above 0) the
/// records removed cannot be named. The translation stays safe, since H(s) is taken only from records
/// still there; target records that the removed head may have held (origin offsets below the
/// stream's first one still in the source) are added to the bound as <see cref="OffsetTranslation.Uncertain"/>.
/// </para>
/// </summary>
public static class OffsetTranslator
{
    /// <param name="source">The partition where the group committed; indexed at least up to <paramref name="committed"/>.</param>
    /// <param name="committed">The group's committed offset there (the next record it would read).</param>
    /// <param name="target">The same partition in the region to resume in, indexed to its end.</param>
    public static OffsetTranslation Translate(PartitionIndex source, long committed, PartitionIndex target)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentOutOfRangeException.ThrowIfNegative(committed);
        if (committed > source.End)
            throw new ArgumentOutOfRangeException(nameof(committed), $"committed offset {committed} is beyond the indexed end {source.End} of the source");

        var processed = Processed(source, committed);
        var firstSeen = FirstOrigins(source);
        // Records the source no longer holds were all before its start; those before c were processed.
        var headMayBeProcessed = source.Start > 0 && committed > 0;

        var segments = target.SegmentList;
        var position = target.End;
        var at = segments.Count;
        for (var i = 0; i < segments.Count; i++)
        {
            var segment = segments[i];
            var high = processed.TryGetValue(target.StreamOf(segment.Stream), out var runs) ? runs.High : -1;
            if (segment.OriginOffset > high) { position = segment.Offset; at = i; break; }
            if (segment.OriginEnd - 1 > high) { position = segment.Offset + (high - segment.OriginOffset + 1); at = i; break; }
        }

        long certain = 0, uncertain = 0;
        for (var i = at; i < segments.Count; i++)
        {
            var segment = segments[i];
            var skip = Math.Max(0, position - segment.Offset);
            var from = segment.OriginOffset + skip;
            var to = segment.OriginEnd; // exclusive
            if (from >= to) continue;
            var origin = target.StreamOf(segment.Stream);
            if (processed.TryGetValue(origin, out var runs)) certain += runs.CountWithin(from, to);
            if (headMayBeProcessed)
            {
                var first = firstSeen.TryGetValue(origin, out var f) ? f : long.MaxValue;
                uncertain += Math.Max(0, Math.Min(to, first) - from);
            }
        }
        return new OffsetTranslation(position, certain + uncertain, uncertain);
    }

    /// <summary>Per stream, the origin offsets of the source's records before <paramref name="committed"/>.</summary>
    private static Dictionary<OriginId, OriginRuns> Processed(PartitionIndex source, long committed)
    {
        var processed = new Dictionary<OriginId, OriginRuns>();
        foreach (var segment in source.SegmentList)
        {
            if (segment.Offset >= committed) break;
            var length = Math.Min(segment.Length, committed - segment.Offset);
            var origin = source.StreamOf(segment.Stream);
            if (!processed.TryGetValue(origin, out var runs)) processed[origin] = runs = new OriginRuns();
            runs.Add(segment.OriginOffset, length);
        }
        return processed;
    }

    private static Dictionary<OriginId, long> FirstOrigins(PartitionIndex source)
    {
        var first = new Dictionary<OriginId, long>();
        foreach (var segment in source.SegmentList)
            first.TryAdd(source.StreamOf(segment.Stream), segment.OriginOffset);
        return first;
    }

    /// <summary>One stream's origin offsets as ascending, disjoint runs (a stream is in origin order in every partition).</summary>
    private sealed class OriginRuns
    {
        private readonly List<(long Start, long End)> _runs = []; // End exclusive

        public long High => _runs.Count == 0 ? -1 : _runs[^1].End - 1;

        public void Add(long start, long length)
        {
            var end = start + length;
            if (_runs.Count == 0 || start > _runs[^1].End) { _runs.Add((start, end)); return; }
            // Contiguous, or (not how the mesh writes) a repeat: the runs only ever grow at the top.
            if (end > _runs[^1].End) _runs[^1] = (_runs[^1].Start, end);
        }

        /// <summary>How many origin offsets in [from, to) the runs hold.</summary>
        public long CountWithin(long from, long to)
        {
            // The first run ending after from.
            int low = 0, high = _runs.Count;
            while (low < high)
            {
                var mid = (low + high) / 2;
                if (_runs[mid].End <= from) low = mid + 1; else high = mid;
            }
            long count = 0;
            for (var i = low; i < _runs.Count && _runs[i].Start < to; i++)
                count += Math.Min(to, _runs[i].End) - Math.Max(from, _runs[i].Start);
            return count;
        }
    }
}
