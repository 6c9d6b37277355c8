namespace Mesh.Core.Replication;

/// <summary>
/// The origins whose records a link carries: a finite set of regions, or every origin (prefix
/// naming, where a topic's name already says where its records came from). Immutable, compared by
/// value; the finite form keeps its regions sorted ordinal so that equal sets encode alike.
/// </summary>
public sealed class OriginSet : IEquatable<OriginSet>
{
    private const string AllText = "*";

    private readonly string[] _regions;

    private OriginSet(bool isAll, string[] regions)
    {
        IsAll = isAll;
        _regions = regions;
    }

    /// <summary>Every origin: a prefix-named link carries whatever its source topic holds.</summary>
    public static OriginSet All { get; } = new(true, []);

    public static OriginSet None { get; } = new(false, []);

    /// <summary>Exactly <paramref name="regions"/> (duplicates folded); throws on an invalid region id.</summary>
    public static OriginSet Of(IEnumerable<string> regions)
    {
        var sorted = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var region in regions)
        {
            if (!RegionIds.IsValid(region, out var reason)) throw new ArgumentException(reason, nameof(regions));
            sorted.Add(region);
        }
        return sorted.Count == 0 ? None : new OriginSet(false, [.. sorted]);
    }

    public bool IsAll { get; }

    /// <summary>The regions, sorted ordinal; empty for <see cref="All"/> (which names none of them).</summary>
    public IReadOnlyList<string> Regions => _regions;

    public bool IsEmpty => !IsAll && _regions.Length == 0;

    public bool Contains(string region) => IsAll || Array.BinarySearch(_regions, region, StringComparer.Ordinal) >= 0;

    /// <summary>
    /// The origins of this set that <paramref name="other"/> does not carry. Every origin less a finite
    /// set has no finite answer; it would mean a link moved from identity to prefix naming, which the
    /// topology refuses before a checkpoint is reassigned.
    /// </summary>
    public OriginSet Except(OriginSet other)
    {
        if (other.IsAll) return None;
        if (other.IsEmpty) return this;
        if (IsAll)
            throw new InvalidOperationException(
                $"every origin except {other} is not a finite set: a link changed from identity to prefix naming, and naming changes are refused before this point");
        return Of(_regions.Where(r => !other.Contains(r)));
    }

    public OriginSet Union(OriginSet other) => IsAll || other.IsAll ? All : Of(_regions.Concat(other._regions));

    public OriginSet Intersect(OriginSet other)
    {
        if (IsAll) return other;
        if (other.IsAll) return this;
        return Of(_regions.Where(other.Contains));
    }

    /// <summary><c>*</c> for every origin, <c>ap-south,us-east</c> (sorted), empty for none.</summary>
    public string Encode() => IsAll ? AllText : string.Join(',', _regions);

    /// <summary>Reads what <see cref="Encode"/> writes (the regions in any order, each once).</summary>
    public static bool TryParse(string text, out OriginSet set, out string reason)
    {
        set = None;
        reason = "";
        if (text.Length == 0) return true;
        if (text == AllText)
        {
            set = All;
            return true;
        }
        var regions = text.Split(',');
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var region in regions)
        {
            if (!RegionIds.IsValid(region, out var invalid))
            {
                reason = $"origin set '{text}': {invalid}";
                return false;
            }
            if (!seen.Add(region))
            {
                reason = $"origin set '{text}' names '{region}' twice";
                return false;
            }
        }
        set = Of(regions);
        return true;
    }

    public bool Equals(OriginSet? other) =>
        other is not null && IsAll == other.IsAll && _regions.AsSpan().SequenceEqual(other._regions);

    public override bool Equals(object? obj) => Equals(obj as OriginSet);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(IsAll);
        foreach (var region in _regions) hash.Add(region, StringComparer.Ordinal);
        return hash.ToHashCode();
    }

    public override string ToString() => IsEmpty ? "(none)" : Encode();
}
