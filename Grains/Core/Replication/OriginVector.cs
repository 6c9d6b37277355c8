using System.Globalization;
using System.Text;

namespace Mesh.Core.Replication;

/// <summary>
/// For one destination partition: the highest origin offset applied, per origin stream (an origin
/// region's incarnation, keyed <c>region@incarnation</c>, see <see cref="Key"/>).
/// A record at or below its origin's entry has been applied already and is never applied twice,
/// which is what makes restarts and route changes duplicate-free. Entries only move forward.
/// </summary>
public sealed class OriginVector : IEquatable<OriginVector>
{
    private readonly SortedDictionary<string, long> _highest = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, long> Entries => _highest;

    /// <summary>The key of one origin stream: <c>us-east@1a2b3c4d</c>.</summary>
    public static string Key(string region, string incarnation) => region + "@" + incarnation;

    /// <summary>Whether <paramref name="key"/> is a valid <c>region@incarnation</c> key; otherwise why not.</summary>
    public static bool IsValidKey(string key, out string reason)
    {
        var at = key.IndexOf('@');
        if (at <= 0)
        {
            reason = $"origin '{key}' is not 'region@incarnation'";
            return false;
        }
        if (!RegionIds.IsValid(key[..at], out reason)) return false;
        return Incarnations.IsValid(key[(at + 1)..], out reason);
    }

    /// <summary>Highest applied origin offset for <paramref name="origin"/>, or -1 when none.</summary>
    public long HighestFor(string origin) => _highest.TryGetValue(origin, out var offset) ? offset : -1;

    public bool HasApplied(string origin, long originOffset) => originOffset <= HighestFor(origin);

    /// <summary>Records that <paramref name="originOffset"/> of <paramref name="origin"/> is applied; never moves an entry back.</summary>
    /// <returns>True when the entry moved forward.</returns>
    public bool Advance(string origin, long originOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(originOffset);
        if (originOffset <= HighestFor(origin)) return false;
        _highest[origin] = originOffset;
        return true;
    }

    /// <summary>Takes, per origin, the higher of the two entries.</summary>
    public void MergeFrom(OriginVector other)
    {
        foreach (var (origin, offset) in other._highest) Advance(origin, offset);
    }

    public OriginVector Clone()
    {
        var copy = new OriginVector();
        copy.MergeFrom(this);
        return copy;
    }

    /// <summary><c>eu-west@5e1f09aa:41,us-east@1a2b3c4d:1200</c>; empty for an empty vector.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var (origin, offset) in _highest)
        {
            if (sb.Length > 0) sb.Append(',');
            sb.Append(origin).Append(':').Append(offset.ToString(CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    public static bool TryParse(string text, out OriginVector vector, out string reason)
    {
        vector = new OriginVector();
        reason = "";
        if (text.Length == 0) return true;
        foreach (var entry in text.Split(','))
        {
            var colon = entry.LastIndexOf(':');
            if (colon <= 0)
            {
                reason = $"origin vector entry '{entry}' is not 'region:offset'";
                return false;
            }
            var origin = entry[..colon];
            if (!IsValidKey(origin, out var keyReason))
            {
                reason = $"origin vector entry '{entry}': {keyReason}";
                return false;
            }
            if (!long.TryParse(entry.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            {
                reason = $"origin vector entry '{entry}': offset is not a non-negative integer";
                return false;
            }
            if (vector._highest.ContainsKey(origin))
            {
                reason = $"origin vector names '{origin}' twice";
                return false;
            }
            vector._highest[origin] = offset;
        }
        return true;
    }

    public bool Equals(OriginVector? other) =>
        other is not null && _highest.Count == other._highest.Count
        && _highest.All(e => other._highest.TryGetValue(e.Key, out var o) && o == e.Value);

    public override bool Equals(object? obj) => Equals(obj as OriginVector);

    public override int GetHashCode() => _highest.Count;
}
