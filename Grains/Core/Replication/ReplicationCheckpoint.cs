using System.Globalization;

namespace Mesh.Core.Replication;

/// <summary>
/// What one (link, topic, partition) replicator needs to resume: the next source offset to read,
/// the destination's origin vector, and the destination partition's end offset when the checkpoint
/// was taken. Records written after that offset are found again by scanning the destination from it,
/// so a crash between writing records and writing the checkpoint duplicates nothing.
/// </summary>
public sealed record ReplicationCheckpoint(long NextSourceOffset, OriginVector Vector, long DestinationEndOffset)
{
    private const string FormatVersion = "1";

    /// <summary>
    /// <see cref="NextSourceOffset"/> of a replicator that has read nothing yet: start wherever the
    /// source's log starts now. Any real offset is resumed exactly, and its absence is an error.
    /// </summary>
    public const long FromSourceStart = -1;

    /// <summary>Where a new replicator starts: the source's start, and the whole destination to read back.</summary>
    public static ReplicationCheckpoint Initial => new(FromSourceStart, new OriginVector(), 0);

    /// <summary><c>1;next=120;dest=4411;vector=us-east:119</c></summary>
    public string Encode() => string.Create(CultureInfo.InvariantCulture,
        $"{FormatVersion};next={NextSourceOffset};dest={DestinationEndOffset};vector={Vector}");

    public static bool TryDecode(string text, out ReplicationCheckpoint? checkpoint, out string reason)
    {
        checkpoint = null;
        var fields = text.Split(';');
        if (fields.Length != 4 || fields[0] != FormatVersion)
        {
            reason = $"checkpoint '{text}' is not in format version {FormatVersion} ('1;next=N;dest=N;vector=...')";
            return false;
        }
        long next = FromSourceStart;
        reason = "";
        if (fields[1] != $"next={FromSourceStart}" && !TryField(fields[1], "next", out next, out reason))
            return false;
        if (!TryField(fields[2], "dest", out var dest, out reason))
            return false;
        if (!fields[3].StartsWith("vector=", StringComparison.Ordinal))
        {
            reason = $"checkpoint field '{fields[3]}' should start with 'vector='";
            return false;
        }
        if (!OriginVector.TryParse(fields[3]["vector=".Length..], out var vector, out reason)) return false;
        checkpoint = new ReplicationCheckpoint(next, vector, dest);
        return true;
    }

    private static bool TryField(string field, string name, out long value, out string reason)
    {
        value = 0;
        var prefix = name + "=";
        if (!field.StartsWith(prefix, StringComparison.Ordinal)
            || !long.TryParse(field.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out value))
        {
            reason = $"checkpoint field '{field}' should be '{name}=<non-negative integer>'";
            return false;
        }
        reason = "";
        return true;
    }
}
