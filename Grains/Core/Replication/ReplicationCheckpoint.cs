using System.Globalization;

namespace Mesh.Core.Replication;

/// <summary>
/// What one (link, topic, partition) replicator needs to resume: the next source offset to read
/// and the source incarnation it belongs to, the destination's origin vector, the destination
/// partition's end offset when the checkpoint was taken and the destination incarnation it belongs
/// to, and the gaps counted so far. Records written after <see cref="DestinationEndOffset"/> are found
/// again by scanning the destination from it, so a crash between writing records and writing the
/// checkpoint duplicates nothing; a destination that no longer reaches it has lost data.
/// </summary>
/// <param name="RecordsQuarantined">Records of this partition sent to the quarantine so far.</param>
/// <param name="RecordsExpired">Records the source dropped (retention) before this link replicated them.</param>
public sealed record ReplicationCheckpoint(
    long NextSourceOffset,
    OriginVector Vector,
    long DestinationEndOffset,
    string SourceIncarnation,
    string DestinationIncarnation,
    long RecordsQuarantined,
    long RecordsExpired)
{
    private const string FormatVersion = "2";

    /// <summary>A link's first checkpoint: where it starts in the source, and the whole destination to read back.</summary>
    public static ReplicationCheckpoint Start(long sourceStart, string sourceIncarnation, string destinationIncarnation) =>
        new(sourceStart, new OriginVector(), 0, sourceIncarnation, destinationIncarnation, 0, 0);

    /// <summary><c>2;next=120;dest=4411;src=1a2b3c4d;dst=5e1f09aa;quarantined=0;expired=0;vector=us-east@1a2b3c4d:119</c></summary>
    public string Encode() => string.Create(CultureInfo.InvariantCulture,
        $"{FormatVersion};next={NextSourceOffset};dest={DestinationEndOffset};src={SourceIncarnation};dst={DestinationIncarnation};quarantined={RecordsQuarantined};expired={RecordsExpired};vector={Vector}");

    public static bool TryDecode(string text, out ReplicationCheckpoint? checkpoint, out string reason)
    {
        checkpoint = null;
        var fields = text.Split(';');
        if (fields.Length != 8 || fields[0] != FormatVersion)
        {
            reason = $"checkpoint '{(text.Length > 80 ? text[..80] + "..." : text)}' is not in format version {FormatVersion} ('2;next=N;dest=N;src=I;dst=I;quarantined=N;expired=N;vector=...')";
            return false;
        }
        if (!TryNumber(fields[1], "next", out var next, out reason)
            || !TryNumber(fields[2], "dest", out var dest, out reason)
            || !TryText(fields[3], "src", out var src, out reason)
            || !TryText(fields[4], "dst", out var dst, out reason)
            || !TryNumber(fields[5], "quarantined", out var quarantined, out reason)
            || !TryNumber(fields[6], "expired", out var expired, out reason)
            || !TryText(fields[7], "vector", out var vectorText, out reason, allowEmpty: true))
            return false;
        if (!Incarnations.IsValid(src, out reason) || !Incarnations.IsValid(dst, out reason)) return false;
        if (!OriginVector.TryParse(vectorText, out var vector, out reason)) return false;
        checkpoint = new ReplicationCheckpoint(next, vector, dest, src, dst, quarantined, expired);
        return true;
    }

    private static bool TryNumber(string field, string name, out long value, out string reason)
    {
        value = 0;
        if (!TryText(field, name, out var text, out reason)) return false;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value))
        {
            reason = $"checkpoint field '{field}' should be '{name}=<non-negative integer>'";
            return false;
        }
        return true;
    }

    private static bool TryText(string field, string name, out string value, out string reason, bool allowEmpty = false)
    {
        var prefix = name + "=";
        value = field.StartsWith(prefix, StringComparison.Ordinal) ? field[prefix.Length..] : "";
        if (!field.StartsWith(prefix, StringComparison.Ordinal) || (!allowEmpty && value.Length == 0))
        {
            reason = $"checkpoint field '{field}' should be '{name}=...'";
            return false;
        }
        reason = "";
        return true;
    }
}
