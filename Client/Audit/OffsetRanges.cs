namespace Mesh.Client.Audit;

/// <summary>An inclusive range of offsets.</summary>
public readonly record struct OffsetRange(long First, long Last)
{
    public long Count => Last - First + 1;

    public override string ToString() => Count switch
    {
        1 => $"{First}",
        2 => $"{First}, {Last}",
        _ => $"{First}-{Last}",
    };
}

/// <summary>
/// Sets of offsets as sorted, disjoint, non-adjacent ranges: the shape origin offsets take in a
/// partition (long contiguous stretches, broken where other origins' records sit), so a set of a
/// million offsets is usually a handful of ranges.
/// </summary>
public static class OffsetRanges
{
    /// <summary>Sorts and merges overlapping or adjacent ranges.</summary>
    public static List<OffsetRange> Normalize(IEnumerable<OffsetRange> ranges)
    {
        var merged = new List<OffsetRange>();
        foreach (var range in ranges.OrderBy(r => r.First))
        {
            if (merged.Count > 0 && range.First <= merged[^1].Last + 1)
            {
                if (range.Last > merged[^1].Last) merged[^1] = merged[^1] with { Last = range.Last };
            }
            else merged.Add(range);
        }
        return merged;
    }

    public static List<OffsetRange> Union(IEnumerable<IReadOnlyList<OffsetRange>> sets) => Normalize(sets.SelectMany(s => s));

    /// <summary>The offsets of <paramref name="all"/> that <paramref name="held"/> lacks; both normalized.</summary>
    public static List<OffsetRange> Except(IReadOnlyList<OffsetRange> all, IReadOnlyList<OffsetRange> held)
    {
        var missing = new List<OffsetRange>();
        var h = 0;
        foreach (var range in all)
        {
            var next = range.First;
            while (h < held.Count && held[h].Last < next) h++;
            for (var i = h; i < held.Count && held[i].First <= range.Last; i++)
            {
                if (held[i].First > next) missing.Add(new OffsetRange(next, held[i].First - 1));
                next = Math.Max(next, held[i].Last + 1);
            }
            if (next <= range.Last) missing.Add(new OffsetRange(next, range.Last));
        }
        return missing;
    }

    /// <summary>The part of <paramref name="ranges"/> at or above <paramref name="from"/>.</summary>
    public static List<OffsetRange> From(IReadOnlyList<OffsetRange> ranges, long from) =>
        [.. ranges.Where(r => r.Last >= from).Select(r => r.First >= from ? r : r with { First = from })];

    public static long Count(IEnumerable<OffsetRange> ranges) => ranges.Sum(r => r.Count);

    /// <summary>The first <paramref name="limit"/> offsets, one by one.</summary>
    public static List<long> FirstOffsets(IEnumerable<OffsetRange> ranges, int limit)
    {
        var offsets = new List<long>(limit);
        foreach (var range in ranges)
            for (var o = range.First; o <= range.Last && offsets.Count < limit; o++) offsets.Add(o);
        return offsets;
    }

    /// <summary>"120, 121, 407" or "0-999, 1200-1299, ..." for people: at most <paramref name="limit"/> ranges.</summary>
    public static string Describe(IReadOnlyList<OffsetRange> ranges, int limit = 5) =>
        string.Join(", ", ranges.Take(limit)) + (ranges.Count > limit ? ", ..." : "");
}
