namespace Mesh.Grains;

/// <summary>Sums per-key counts (records verified per mesh key id) across partitions, topics or links.</summary>
public static class KeyCounts
{
    public static IReadOnlyDictionary<string, long>? Sum(IEnumerable<IReadOnlyDictionary<string, long>?> counts)
    {
        Dictionary<string, long>? sum = null;
        foreach (var count in counts)
        {
            if (count is null) continue;
            sum ??= new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (key, n) in count) sum[key] = sum.GetValueOrDefault(key) + n;
        }
        return sum;
    }
}
