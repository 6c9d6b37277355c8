namespace Mesh.Core.Conflicts;

/// <summary>
/// The version of one write to a key of an lww topic; every region computes the same version for the same
/// write, and the greater version wins. The order, here and nowhere else: <see cref="Value"/> (the origin
/// timestamp, or the application's version, see <see cref="LwwRule"/>), then <see cref="OriginRegion"/>
/// (ordinal), then <see cref="OriginOffset"/>. Two writes have equal versions only when they are the same write
/// (a repair copy of it, or a duplicate delivery); a tombstone is a write like any other.
/// </summary>
/// <param name="OriginRegion">The region the write was produced in.</param>
/// <param name="OriginOffset">Its offset there: the last tie-break, between writes of one region with one value.</param>
public readonly record struct RecordVersion(long Value, string OriginRegion, long OriginOffset) : IComparable<RecordVersion>
{
    public int CompareTo(RecordVersion other)
    {
        var byValue = Value.CompareTo(other.Value);
        if (byValue != 0) return byValue;
        var byRegion = string.CompareOrdinal(OriginRegion, other.OriginRegion);
        if (byRegion != 0) return Math.Sign(byRegion);
        return OriginOffset.CompareTo(other.OriginOffset);
    }

    public static bool operator >(RecordVersion left, RecordVersion right) => left.CompareTo(right) > 0;
    public static bool operator <(RecordVersion left, RecordVersion right) => left.CompareTo(right) < 0;
    public static bool operator >=(RecordVersion left, RecordVersion right) => left.CompareTo(right) >= 0;
    public static bool operator <=(RecordVersion left, RecordVersion right) => left.CompareTo(right) <= 0;

    /// <summary><c>1732480000000@us-east/1042</c>: value, origin region, origin offset.</summary>
    public override string ToString() => $"{Value}@{OriginRegion}/{OriginOffset}";
}
