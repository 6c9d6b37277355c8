namespace Mesh.Client.Audit;

/// <summary>One origin record held more than once in a partition: its origin offset and every offset it sits at.</summary>
public sealed record DuplicateRecord(long OriginOffset, IReadOnlyList<long> Offsets);

/// <summary>
/// The records of one origin stream that one region's partition holds, by origin offset. Kept as
/// runs in which the origin offset and the offset in this partition both advance by one, so the
/// offset a record sits at can still be told (for duplicates) while memory grows with the number of
/// breaks, not of records. The mesh writes an origin's records in origin order, so nearly every
/// record extends the last run; anything else is looked up.
/// </summary>
public sealed class OriginOffsets(int duplicateExamples = 5)
{
    private readonly record struct Run(long OriginStart, long LocalStart, long Length)
    {
        public long OriginEnd => OriginStart + Length;
    }

    private readonly List<Run> _runs = []; // by origin offset, disjoint
    private readonly List<(long OriginOffset, List<long> Offsets)> _duplicates = [];

    /// <summary>Distinct origin offsets held.</summary>
    public long Count { get; private set; }

    /// <summary>Records beyond the first copy of their origin offset.</summary>
    public long DuplicateCount { get; private set; }

    /// <summary>The first few duplicated origin offsets (in the order found) with every offset each sits at.</summary>
    public IReadOnlyList<DuplicateRecord> Duplicates => [.. _duplicates.Select(d => new DuplicateRecord(d.OriginOffset, d.Offsets))];

    public long? FirstOriginOffset => _runs.Count == 0 ? null : _runs[0].OriginStart;

    /// <param name="originOffset">The record's offset in its origin partition.</param>
    /// <param name="offset">Where it sits in this partition.</param>
    public void Add(long originOffset, long offset)
    {
        if (_runs.Count > 0)
        {
            var last = _runs[^1];
            if (originOffset == last.OriginEnd && offset == last.LocalStart + last.Length)
            {
                _runs[^1] = last with { Length = last.Length + 1 };
                Count++;
                return;
            }
            if (originOffset < last.OriginEnd)
            {
                var at = Find(originOffset);
                if (at >= 0 && originOffset < _runs[at].OriginEnd)
                {
                    var run = _runs[at];
                    NoteDuplicate(originOffset, run.LocalStart + (originOffset - run.OriginStart), offset);
                    return;
                }
                // Out of origin order (not how the mesh writes, but possible): keep the runs sorted.
                _runs.Insert(at + 1, new Run(originOffset, offset, 1));
                Count++;
                return;
            }
        }
        _runs.Add(new Run(originOffset, offset, 1));
        Count++;
    }

    /// <summary>The origin offsets held, as ranges.</summary>
    public List<OffsetRange> Ranges() =>
        OffsetRanges.Normalize(_runs.Select(r => new OffsetRange(r.OriginStart, r.OriginEnd - 1)));

    // The index of the last run starting at or before originOffset; -1 when none does.
    private int Find(long originOffset)
    {
        int low = 0, high = _runs.Count - 1, found = -1;
        while (low <= high)
        {
            var mid = (low + high) / 2;
            if (_runs[mid].OriginStart <= originOffset) { found = mid; low = mid + 1; }
            else high = mid - 1;
        }
        return found;
    }

    private void NoteDuplicate(long originOffset, long firstOffset, long offset)
    {
        DuplicateCount++;
        var known = _duplicates.FindIndex(d => d.OriginOffset == originOffset);
        if (known >= 0) _duplicates[known].Offsets.Add(offset);
        else if (_duplicates.Count < duplicateExamples) _duplicates.Add((originOffset, [firstOffset, offset]));
    }
}
