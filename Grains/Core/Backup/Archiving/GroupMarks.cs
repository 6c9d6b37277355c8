using Mesh.Core.Offsets;

namespace Mesh.Core.Backup.Archiving;

/// <summary>A consumer group's committed offset in a region's partition, turned into origin positions.</summary>
public static class GroupMarks
{
    /// <summary>
    /// Per origin stream, the highest origin offset among the records below <paramref name="committed"/>; null
    /// while the index has not read up to it (ask again later). Records below the index's start are not
    /// known: an origin seen only there has no mark.
    /// </summary>
    public static IReadOnlyList<OriginMark>? Of(PartitionIndex index, long committed)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (committed > index.End) return null;
        var highest = new Dictionary<int, long>();
        foreach (var segment in index.SegmentList)
        {
            if (segment.Offset >= committed) break;
            var last = Math.Min(segment.End, committed) - 1 - segment.Offset + segment.OriginOffset;
            highest[segment.Stream] = highest.TryGetValue(segment.Stream, out var was) ? Math.Max(was, last) : last;
        }
        return [.. highest
            .Select(h => (Origin: index.StreamOf(h.Key), Offset: h.Value))
            .OrderBy(h => h.Origin.Region, StringComparer.Ordinal).ThenBy(h => h.Origin.Incarnation, StringComparer.Ordinal)
            .Select(h => new OriginMark(h.Origin.Region, h.Origin.Incarnation, h.Offset))];
    }
}
