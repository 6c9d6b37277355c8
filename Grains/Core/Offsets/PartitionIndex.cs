namespace Mesh.Core.Offsets;

/// <summary>
/// What a region's partition holds, in log order, as far as offset translation goes: for each record
/// its offset and its identity (origin stream and origin offset), never the record itself. Kept as
/// segments in which the offset and the origin offset both advance by one within one stream, so
/// memory grows with the number of switches between origins, not with the number of records. Filled
/// incrementally: <see cref="Append"/> the records read since the last time, then <see cref="Reach"/>
/// the end offset read to. One thread at a time.
/// </summary>
public sealed class PartitionIndex
{
    internal readonly record struct Segment(long Offset, int Stream, long OriginOffset, long Length)
    {
        public long End => Offset + Length;
        public long OriginEnd => OriginOffset + Length;
    }

    private readonly List<Segment> _segments = [];
    private readonly List<OriginId> _streams = [];
    private readonly Dictionary<OriginId, int> _streamIds = [];

    /// <param name="start">The partition's first offset when reading began: what came before is not known.</param>
    public PartitionIndex(long start = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        Start = start;
        End = start;
    }

    /// <summary>The first offset covered: records before it (removed by retention) are not known.</summary>
    public long Start { get; private set; }

    /// <summary>The offset read to: every record below it and at or above <see cref="Start"/> is indexed.</summary>
    public long End { get; private set; }

    /// <summary>Records indexed.</summary>
    public long Records { get; private set; }

    /// <summary>Segments held (what memory grows with).</summary>
    public int Segments => _segments.Count;

    internal IReadOnlyList<Segment> SegmentList => _segments;

    internal OriginId StreamOf(int id) => _streams[id];

    internal bool TryGetStream(OriginId origin, out int id) => _streamIds.TryGetValue(origin, out id);

    /// <summary>Adds the record at <paramref name="offset"/>; offsets must grow (gaps are allowed: control records, compaction).</summary>
    public void Append(long offset, OriginId origin, long originOffset)
    {
        if (offset < End) throw new ArgumentOutOfRangeException(nameof(offset), $"offset {offset} is below the indexed end {End}: records are appended in log order");
        if (!_streamIds.TryGetValue(origin, out var stream))
        {
            stream = _streams.Count;
            _streams.Add(origin);
            _streamIds[origin] = stream;
        }
        Records++;
        End = offset + 1;
        if (_segments.Count > 0)
        {
            var last = _segments[^1];
            if (last.Stream == stream && last.End == offset && last.OriginEnd == originOffset)
            {
                _segments[^1] = last with { Length = last.Length + 1 };
                return;
            }
        }
        _segments.Add(new Segment(offset, stream, originOffset, 1));
    }

    /// <summary>Everything below <paramref name="end"/> has been read (records past the last one may be control records).</summary>
    public void Reach(long end)
    {
        if (end > End) End = end;
    }

    /// <summary>Forgets what retention removed: records below <paramref name="logStart"/>.</summary>
    public void TrimBefore(long logStart)
    {
        if (logStart <= Start) return;
        var drop = 0;
        while (drop < _segments.Count && _segments[drop].End <= logStart)
        {
            Records -= _segments[drop].Length;
            drop++;
        }
        _segments.RemoveRange(0, drop);
        if (_segments.Count > 0 && _segments[0].Offset < logStart)
        {
            var first = _segments[0];
            var cut = logStart - first.Offset;
            Records -= cut;
            _segments[0] = new Segment(logStart, first.Stream, first.OriginOffset + cut, first.Length - cut);
        }
        Start = logStart;
        if (End < Start) End = Start;
    }
}
