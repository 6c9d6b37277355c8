using Mesh.Core.Offsets;

namespace Mesh.Core.Backup.Archiving;

/// <summary>
/// What a consumer group's committed offset in a region's partition means as origin positions: per origin
/// stream, the highest origin offset among the records below it. Fed in log order as the archiver reads;
/// what lies below the offsets still asked about is folded into one highest offset per origin, so memory
/// stays bounded by what is between the groups' positions and the read position.
/// </summary>
public sealed class OriginPositions
{
    private PartitionIndex _index;
    // The highest origin offset per origin among the records folded away (below the index's start).
    private readonly Dictionary<OriginId, long> _below = [];

    /// <param name="start">The partition offset reading begins at: records before it are not known.</param>
    public OriginPositions(long start = 0) => _index = new PartitionIndex(start);

    /// <summary>The first offset known: a committed offset below it cannot be answered.</summary>
    public long Start => _index.Start;

    /// <summary>The offset read to.</summary>
    public long End => _index.End;

    /// <summary>Index segments held (what memory grows with).</summary>
    public int Segments => _index.Segments;

    /// <summary>Adds the record at <paramref name="offset"/>; records at or below what is known are ignored (read again after a rewind).</summary>
    public void Append(long offset, OriginId origin, long originOffset)
    {
        if (offset >= _index.End) _index.Append(offset, origin, originOffset);
    }

    public void Reach(long end) => _index.Reach(end);

    /// <summary>Retention removed everything below <paramref name="logStart"/>; the positions of what it removed are not known any more.</summary>
    public void Removed(long logStart)
    {
        _index.Reach(logStart);
        Forget(logStart);
    }

    /// <summary>Nothing below <paramref name="before"/> will be asked about separately: it is folded into one position per origin.</summary>
    public void Forget(long before)
    {
        before = Math.Min(before, _index.End);
        if (before <= _index.Start) return;
        foreach (var segment in _index.SegmentList)
        {
            if (segment.Offset >= before) break;
            var last = Math.Min(segment.End, before) - 1 - segment.Offset + segment.OriginOffset;
            var origin = _index.StreamOf(segment.Stream);
            _below[origin] = _below.TryGetValue(origin, out var was) ? Math.Max(was, last) : last;
        }
        _index.TrimBefore(before);
    }

    /// <summary>
    /// The marks of a committed offset: per origin the highest origin offset among the records below
    /// <paramref name="committed"/>, in origin order; null while reading has not reached it, or when it is below
    /// what is still known (folded away), so the caller asks again later or skips it.
    /// </summary>
    public IReadOnlyList<OriginMark>? MarksBelow(long committed)
    {
        if (committed > _index.End || committed < _index.Start) return null;
        var highest = new Dictionary<OriginId, long>(_below);
        foreach (var segment in _index.SegmentList)
        {
            if (segment.Offset >= committed) break;
            var last = Math.Min(segment.End, committed) - 1 - segment.Offset + segment.OriginOffset;
            var origin = _index.StreamOf(segment.Stream);
            highest[origin] = highest.TryGetValue(origin, out var was) ? Math.Max(was, last) : last;
        }
        return [.. highest
            .OrderBy(h => h.Key.Region, StringComparer.Ordinal).ThenBy(h => h.Key.Incarnation, StringComparer.Ordinal)
            .Select(h => new OriginMark(h.Key.Region, h.Key.Incarnation, h.Value))];
    }
}
