using System.Globalization;
using System.Text;

namespace Mesh.Core.Replication;

/// <summary>Why a record went to the quarantine.</summary>
public static class QuarantineKinds
{
    /// <summary>Its provenance header could not be trusted and the region runs <c>strict</c>.</summary>
    public const string UntrustedProvenance = "untrusted-provenance";

    /// <summary>The destination's Kafka refused it (too large, invalid).</summary>
    public const string RefusedByDestination = "refused-by-destination";

    /// <summary>Its provenance header is unsigned or signed with a key this region does not hold: the regions' keys differ.</summary>
    public const string UnverifiableProvenance = "unverifiable-provenance";

    /// <summary>
    /// As <see cref="UnverifiableProvenance"/>, and taken at its word the header says the record reached
    /// this region another way (it was here already, or it comes over another link): most likely a
    /// record already here, so it is not replayed unless forced.
    /// </summary>
    public const string UnverifiableProvenanceElsewhere = "unverifiable-provenance-elsewhere";

    /// <summary>Writing it failed after records that followed it were written (a timeout during an outage): a hole, kept here.</summary>
    public const string WriteFailed = "write-failed";
}

/// <summary>
/// A record a link could not take, as the source held it (key, value, timestamp, every header),
/// with where it came from, where it was going, and why it stopped.
/// </summary>
/// <param name="RecordKept">
/// False when the quarantine topic refused the record itself (too large, say): only where it is and
/// why are kept, and a replay reads it from the source again (while the source still holds it).
/// </param>
public sealed record QuarantineEntry(
    string Source,
    string SourceIncarnation,
    string Destination,
    string Topic,
    int Partition,
    long SourceOffset,
    string Kind,
    string Reason,
    long QuarantinedAtMs,
    SourceRecord Record,
    bool RecordKept = true)
{
    /// <summary>This entry without the record's key and value, for a record the quarantine topic cannot hold.</summary>
    public QuarantineEntry WithoutRecord(string why) => this with
    {
        Record = Record with { Key = null, Value = null, Headers = [] },
        RecordKept = false,
        Reason = $"{Reason} [{why}; only where it is and why are kept here, and a replay reads it again from {Source} {Topic}/{Partition} offset {SourceOffset} while {Source} still holds it]",
    };
}

/// <summary>
/// How a quarantine entry is stored as a Kafka record in <c>__mesh_quarantine</c>: the source
/// record's key and value, its own headers unchanged, the time it was quarantined as its timestamp
/// (a broker that checks timestamps accepts it), plus <c>mesh.quarantine</c>
/// (<c>1;source=r1;incarnation=1a2b3c4d;destination=r2;topic=orders;partition=1;offset=17;kind=...;at=1732480000000;kept=1;ts=1732470000000;lat=0</c>)
/// and <c>mesh.quarantine.reason</c> (free text). A replay appends a record with only
/// <c>mesh.quarantine.replayed</c> (<c>1;of=QUARANTINE-OFFSET;written=DESTINATION-OFFSET;at=MS</c>).
/// </summary>
public static class QuarantineCodec
{
    public const string MetaHeader = "mesh.quarantine";
    public const string ReasonHeader = "mesh.quarantine.reason";
    public const string ReplayedHeader = "mesh.quarantine.replayed";
    private const string FormatVersion = "1";

    /// <summary>The headers of the stored record: the source record's, then the two quarantine headers.</summary>
    public static List<RecordHeader> Headers(QuarantineEntry entry)
    {
        var meta = string.Create(CultureInfo.InvariantCulture,
            $"{FormatVersion};source={entry.Source};incarnation={entry.SourceIncarnation};destination={entry.Destination};topic={entry.Topic};partition={entry.Partition};offset={entry.SourceOffset};kind={entry.Kind};at={entry.QuarantinedAtMs};kept={(entry.RecordKept ? 1 : 0)};ts={entry.Record.TimestampMs};lat={(entry.Record.LogAppendTime ? 1 : 0)}");
        var headers = new List<RecordHeader>(entry.Record.Headers.Count + 2);
        headers.AddRange(entry.Record.Headers);
        headers.Add(new RecordHeader(MetaHeader, Encoding.UTF8.GetBytes(meta)));
        headers.Add(new RecordHeader(ReasonHeader, Encoding.UTF8.GetBytes(entry.Reason)));
        return headers;
    }

    /// <summary>Reads a stored quarantine record back; false (with the reason) if it is not one.</summary>
    public static bool TryDecode(byte[]? key, byte[]? value, long timestampMs, IReadOnlyList<RecordHeader> headers, out QuarantineEntry? entry, out string reason)
    {
        entry = null;
        var meta = Find(headers, MetaHeader);
        if (meta is null)
        {
            reason = $"no '{MetaHeader}' header";
            return false;
        }
        var fields = Fields(meta);
        if (fields.GetValueOrDefault("v") != FormatVersion)
        {
            reason = $"'{MetaHeader}' is not format version {FormatVersion}: {meta}";
            return false;
        }
        if (!fields.TryGetValue("source", out var source) || !fields.TryGetValue("incarnation", out var incarnation)
            || !fields.TryGetValue("destination", out var destination) || !fields.TryGetValue("topic", out var topic)
            || !fields.TryGetValue("kind", out var kind)
            || !int.TryParse(fields.GetValueOrDefault("partition"), NumberStyles.None, CultureInfo.InvariantCulture, out var partition)
            || !long.TryParse(fields.GetValueOrDefault("offset"), NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
            || !long.TryParse(fields.GetValueOrDefault("at"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var at))
        {
            reason = $"'{MetaHeader}' lacks a field: {meta}";
            return false;
        }
        // Ours are the last two headers; an application header of the same name before them is the record's own.
        var metaAt = LastIndexOf(headers, MetaHeader);
        var reasonAt = LastIndexOf(headers, ReasonHeader);
        var original = headers.Where((_, i) => i != metaAt && i != reasonAt).ToList();
        // The stored record carries the time it was quarantined; the source record's own timestamp is in 'ts'.
        var recordTimestamp = long.TryParse(fields.GetValueOrDefault("ts"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ts) ? ts : timestampMs;
        entry = new QuarantineEntry(source, incarnation, destination, topic, partition, offset, kind, Find(headers, ReasonHeader) ?? "",
            at, new SourceRecord(offset, key, value, recordTimestamp, original, fields.GetValueOrDefault("lat") == "1"), fields.GetValueOrDefault("kept") != "0");
        reason = "";
        return true;
    }

    public static RecordHeader ReplayedMarker(long quarantineOffset, long writtenOffset, long atMs) =>
        new(ReplayedHeader, Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{FormatVersion};of={quarantineOffset};written={writtenOffset};at={atMs}")));

    /// <summary>The quarantine offset a replay marker refers to, and when the replay happened.</summary>
    public static bool TryDecodeReplayed(IReadOnlyList<RecordHeader> headers, out long quarantineOffset, out long atMs)
    {
        quarantineOffset = -1;
        atMs = 0;
        var text = Find(headers, ReplayedHeader);
        if (text is null) return false;
        var fields = Fields(text);
        return long.TryParse(fields.GetValueOrDefault("of"), NumberStyles.None, CultureInfo.InvariantCulture, out quarantineOffset)
               && long.TryParse(fields.GetValueOrDefault("at"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out atMs);
    }

    private static string? Find(IReadOnlyList<RecordHeader> headers, string name) =>
        LastIndexOf(headers, name) is var i and >= 0 && headers[i].Value is { } v ? Encoding.UTF8.GetString(v) : null;

    private static int LastIndexOf(IReadOnlyList<RecordHeader> headers, string name)
    {
        for (var i = headers.Count - 1; i >= 0; i--)
            if (headers[i].Name == name) return i;
        return -1;
    }

    // "1;a=b;c=d" -> { v: 1, a: b, c: d }
    private static Dictionary<string, string> Fields(string text)
    {
        var parts = text.Split(';');
        var fields = new Dictionary<string, string>(StringComparer.Ordinal) { ["v"] = parts[0] };
        foreach (var part in parts.Skip(1))
        {
            var eq = part.IndexOf('=');
            if (eq > 0) fields[part[..eq]] = part[(eq + 1)..];
        }
        return fields;
    }
}
