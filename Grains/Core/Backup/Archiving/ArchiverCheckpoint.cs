using System.Globalization;
using System.Text;
using Mesh.Core.Offsets;

namespace Mesh.Core.Backup.Archiving;

/// <summary>
/// What a partition's archiver keeps across restarts (in the region's checkpoint topic, key
/// <see cref="Key"/>): the local offset to read again from, below which every record is either in its
/// stream's chain or was covered by it, and per other origin the first local offset its chain had not
/// covered yet. Positions belong to one incarnation of the region's Kafka: another incarnation starts afresh.
/// </summary>
public sealed record ArchiverCheckpoint(string Incarnation, long Resume, IReadOnlyDictionary<OriginId, long> Uncovered)
{
    private const string FormatVersion = "1";

    public static string Key(string topic, int partition) => string.Create(CultureInfo.InvariantCulture, $"backup|{topic}|{partition}");

    /// <summary>Whether a checkpoint-topic key is an archiver's (the replicators' checkpoint reader skips them).</summary>
    public static bool IsKey(string key) => key.StartsWith("backup|", StringComparison.Ordinal);

    /// <summary><c>1;inc=I;resume=N;uncovered=region/incarnation:N,...</c></summary>
    public string Encode()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{FormatVersion};inc={Incarnation};resume={Resume};uncovered=");
        text.AppendJoin(',', Uncovered.OrderBy(u => u.Key.Region, StringComparer.Ordinal).ThenBy(u => u.Key.Incarnation, StringComparer.Ordinal)
            .Select(u => string.Create(CultureInfo.InvariantCulture, $"{u.Key.Region}/{u.Key.Incarnation}:{u.Value}")));
        return text.ToString();
    }

    public static bool TryDecode(string text, out ArchiverCheckpoint? checkpoint, out string reason)
    {
        checkpoint = null;
        var parts = text.Split(';');
        if (parts.Length != 4 || parts[0] != FormatVersion)
        {
            reason = $"expected '{FormatVersion};inc=I;resume=N;uncovered=...', found '{text}'";
            return false;
        }
        if (!parts[1].StartsWith("inc=", StringComparison.Ordinal) || parts[1].Length == 4)
        {
            reason = $"no incarnation in '{text}'";
            return false;
        }
        if (!parts[2].StartsWith("resume=", StringComparison.Ordinal)
            || !long.TryParse(parts[2].AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out var resume))
        {
            reason = $"no resume offset in '{text}'";
            return false;
        }
        if (!parts[3].StartsWith("uncovered=", StringComparison.Ordinal))
        {
            reason = $"no uncovered list in '{text}'";
            return false;
        }
        var uncovered = new Dictionary<OriginId, long>();
        var list = parts[3][10..];
        if (list.Length > 0)
        {
            foreach (var entry in list.Split(','))
            {
                var slash = entry.IndexOf('/');
                var colon = entry.LastIndexOf(':');
                if (slash <= 0 || colon <= slash + 1
                    || !long.TryParse(entry.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
                {
                    reason = $"bad uncovered entry '{entry}' (expected region/incarnation:offset)";
                    return false;
                }
                uncovered[new OriginId(entry[..slash], entry[(slash + 1)..colon])] = offset;
            }
        }
        checkpoint = new ArchiverCheckpoint(parts[1][4..], resume, uncovered);
        reason = "";
        return true;
    }
}
