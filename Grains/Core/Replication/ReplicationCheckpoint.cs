using System.Globalization;

namespace Mesh.Core.Replication;

/// <summary>
/// What one (link, topic, partition) replicator needs to resume: the next source offset to read
/// and the source incarnation it belongs to, the destination's origin vector, the destination
/// partition's end offset when the checkpoint was taken and the destination incarnation it belongs
/// to, the gaps counted so far, the origins the link carries and a catch-up after a route change.
/// Records written after <see cref="DestinationEndOffset"/> are found again by scanning the
/// destination from it, so a crash between writing records and writing the checkpoint duplicates
/// nothing; a destination that no longer reaches it has lost data.
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
    private const string FormatVersion = "3";
    private const string UncarriedFormatVersion = "2";
    private const string FormatShape = "'3;next=N;dest=N;src=I;dst=I;quarantined=N;expired=N;carried=O;catchup=U:O;vector=...'";
    private const string UncarriedFormatShape = "'2;next=N;dest=N;src=I;dst=I;quarantined=N;expired=N;vector=...'";

    /// <summary>
    /// The origins the link carried when the checkpoint was taken; null when unknown (a version 2
    /// checkpoint, written before routes could change). <see cref="Reassign"/> sets it.
    /// </summary>
    public OriginSet? Carried { get; init; }

    /// <summary>What is left to catch up after the link gained origins; null when nothing is.</summary>
    public CatchUp? CatchUp { get; init; }

    /// <summary>A link's first checkpoint: where it starts in the source, and the whole destination to read back.</summary>
    public static ReplicationCheckpoint Start(long sourceStart, string sourceIncarnation, string destinationIncarnation, OriginSet carried) =>
        new(sourceStart, new OriginVector(), 0, sourceIncarnation, destinationIncarnation, 0, 0) { Carried = carried };

    /// <summary>
    /// The checkpoint of the same link once it carries <paramref name="carried"/>. Origins it gains
    /// (<paramref name="gained"/>) may have records in the source that the link skipped as off its
    /// route: it goes back to <paramref name="sourceLowWatermark"/> and, up to where it had read,
    /// forwards only the gained origins' records (what else is there was handled the first time). The
    /// caller must fold the destination's records of the gained origins into the vector (they arrived
    /// over the old route) before any record is planned, and must have stopped the old carrier.
    /// </summary>
    public ReplicationCheckpoint Reassign(OriginSet carried, string source, long sourceLowWatermark, out OriginSet gained)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sourceLowWatermark);
        gained = OriginSet.None;
        // A version 2 checkpoint predates route changes: what it carried is what it carries now.
        if (Carried is null) return this with { Carried = carried };

        // A link always carries its source's own records, so they are never caught up.
        gained = carried.Except(Carried).Except(OriginSet.Of([source]));
        // A catch-up goes on for the origins the link still carries.
        CatchUp? kept = null;
        if (CatchUp is { } existing && existing.Origins.Intersect(carried) is { IsEmpty: false } still) kept = existing with { Origins = still };
        if (gained.IsEmpty) return this with { Carried = carried, CatchUp = kept };

        var catchUp = new CatchUp(Math.Max(NextSourceOffset, CatchUp?.Until ?? 0), kept is null ? gained : gained.Union(kept.Origins));
        return this with
        {
            NextSourceOffset = Math.Min(NextSourceOffset, sourceLowWatermark),
            Carried = carried,
            CatchUp = catchUp,
        };
    }

    /// <summary>
    /// <c>3;next=120;dest=4411;src=1a2b3c4d;dst=5e1f09aa;quarantined=0;expired=0;carried=ap-south,us-east;catchup=100:ap-south;vector=us-east@1a2b3c4d:119</c>;
    /// <c>catchup=</c> is empty when there is none. A checkpoint that does not know what it carries
    /// is written as version 2 again, so that it stays unknown.
    /// </summary>
    public string Encode()
    {
        if (Carried is null)
        {
            if (CatchUp is not null) throw new InvalidOperationException("a checkpoint with a catch-up must say which origins its link carries");
            return string.Create(CultureInfo.InvariantCulture,
                $"{UncarriedFormatVersion};next={NextSourceOffset};dest={DestinationEndOffset};src={SourceIncarnation};dst={DestinationIncarnation};quarantined={RecordsQuarantined};expired={RecordsExpired};vector={Vector}");
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"{FormatVersion};next={NextSourceOffset};dest={DestinationEndOffset};src={SourceIncarnation};dst={DestinationIncarnation};quarantined={RecordsQuarantined};expired={RecordsExpired};carried={Carried.Encode()};catchup={CatchUp?.Encode()};vector={Vector}");
    }

    public static bool TryDecode(string text, out ReplicationCheckpoint? checkpoint, out string reason)
    {
        checkpoint = null;
        var fields = text.Split(';');
        var carriesOrigins = fields.Length == 10 && fields[0] == FormatVersion;
        if (!carriesOrigins && !(fields.Length == 8 && fields[0] == UncarriedFormatVersion))
        {
            reason = $"checkpoint '{(text.Length > 80 ? text[..80] + "..." : text)}' is not in format version {FormatVersion} ({FormatShape}) or {UncarriedFormatVersion} ({UncarriedFormatShape})";
            return false;
        }
        if (!TryNumber(fields[1], "next", out var next, out reason)
            || !TryNumber(fields[2], "dest", out var dest, out reason)
            || !TryText(fields[3], "src", out var src, out reason)
            || !TryText(fields[4], "dst", out var dst, out reason)
            || !TryNumber(fields[5], "quarantined", out var quarantined, out reason)
            || !TryNumber(fields[6], "expired", out var expired, out reason))
            return false;
        if (!Incarnations.IsValid(src, out reason) || !Incarnations.IsValid(dst, out reason)) return false;
        OriginSet? carried = null;
        CatchUp? catchUp = null;
        if (carriesOrigins)
        {
            if (!TryText(fields[7], "carried", out var carriedText, out reason, allowEmpty: true)) return false;
            if (!OriginSet.TryParse(carriedText, out var parsed, out var invalid))
            {
                reason = $"checkpoint field '{fields[7]}': {invalid}";
                return false;
            }
            carried = parsed;
            if (!TryText(fields[8], "catchup", out var catchUpText, out reason, allowEmpty: true)) return false;
            if (catchUpText.Length > 0 && !CatchUp.TryParse(catchUpText, out catchUp, out var malformed))
            {
                reason = $"checkpoint field '{fields[8]}': {malformed}";
                return false;
            }
        }
        if (!TryText(fields[^1], "vector", out var vectorText, out reason, allowEmpty: true)) return false;
        if (!OriginVector.TryParse(vectorText, out var vector, out reason)) return false;
        checkpoint = new ReplicationCheckpoint(next, vector, dest, src, dst, quarantined, expired) { Carried = carried, CatchUp = catchUp };
        return true;
    }

    private static bool TryNumber(string field, string name, out long value, out string reason)
    {
        value = 0;
        if (!TryText(field, name, out var text, out reason)) return false;
        if (!TryParseOffset(text, out value))
        {
            reason = $"checkpoint field '{field}' should be '{name}=<non-negative integer>'";
            return false;
        }
        return true;
    }

    internal static bool TryParseOffset(string text, out long value) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);

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

/// <summary>
/// A link's catch-up after it gained origins: source records at offsets below <paramref name="Until"/>
/// were read before the route change, so only those whose trusted origin is in
/// <paramref name="Origins"/> are forwarded again; everything else there was handled already.
/// </summary>
public sealed record CatchUp(long Until, OriginSet Origins)
{
    /// <summary><c>120:ap-south,eu-west</c></summary>
    public string Encode() => string.Create(CultureInfo.InvariantCulture, $"{Until}:{Origins.Encode()}");

    public static bool TryParse(string text, out CatchUp? catchUp, out string reason)
    {
        catchUp = null;
        var colon = text.IndexOf(':');
        if (colon < 0 || !ReplicationCheckpoint.TryParseOffset(text[..colon], out var until))
        {
            reason = $"catch-up '{text}' should be '<offset until>:<origins>'";
            return false;
        }
        if (!OriginSet.TryParse(text[(colon + 1)..], out var origins, out reason)) return false;
        if (origins.IsEmpty)
        {
            reason = $"catch-up '{text}' names no origin (a catch-up with nothing to catch up is written as none)";
            return false;
        }
        catchUp = new CatchUp(until, origins);
        return true;
    }
}
