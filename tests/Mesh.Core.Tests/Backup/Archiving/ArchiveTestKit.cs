using Mesh.Core.Backup;
using Mesh.Core.Backup.Archiving;
using Mesh.Core.Offsets;
using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Backup.Archiving;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTime : TimeProvider
{
    private long _ticks = TimeSpan.FromHours(1).Ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public override long GetTimestamp() => _ticks;
    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero) + TimeSpan.FromTicks(_ticks);
    public void Advance(TimeSpan by) => _ticks += by.Ticks;
}

/// <summary>
/// Chains as the store keeps them, for the archiver's rules: a stream's entries in sequence order; an append
/// wins only when the writer knows the chain's current end (the real chain's create-if-absent on the next
/// sequence number), otherwise it loses and learns the tip.
/// </summary>
internal sealed class FakeChains
{
    private readonly Dictionary<BackupStream, List<ManifestEntry>> _entries = [];
    private readonly Dictionary<BackupStream, List<BackupRecord>> _records = [];

    public IReadOnlyList<BackupRecord> Records(BackupStream stream) => _records.GetValueOrDefault(stream) ?? [];

    public IReadOnlyList<ManifestEntry> Entries(BackupStream stream) => _entries.GetValueOrDefault(stream) ?? [];

    public IEnumerable<BackupStream> Streams => _entries.Keys;

    public ManifestEntry? Tip(BackupStream stream) => Entries(stream) is { Count: > 0 } list ? list[^1] : null;

    public long Next(BackupStream stream) => Tip(stream) is { } tip ? tip.LastOffset + 1 : 0;

    /// <param name="knownSequence">The next sequence number as the writer last saw it.</param>
    public AppendResult Append(PendingSegment segment, long knownSequence, string writer)
    {
        var entries = _entries.TryGetValue(segment.Stream, out var list) ? list : _entries[segment.Stream] = [];
        if (knownSequence != entries.Count) return new AppendResult(null, entries.Count > 0 ? entries[^1] : null);
        var next = entries.Count > 0 ? entries[^1].LastOffset + 1 : 0;
        if (segment.FirstOffset < next) throw new InvalidOperationException($"{segment.Stream}: segment starts at {segment.FirstOffset}, below the chain's next {next}");
        for (var i = 1; i < segment.Records.Count; i++)
            if (segment.Records[i].OriginOffset <= segment.Records[i - 1].OriginOffset)
                throw new InvalidOperationException($"{segment.Stream}: records out of order in a segment");
        if (segment.Gap is { } gap && (gap.FromOffset < next || gap.ToOffset >= segment.FirstOffset))
            throw new InvalidOperationException($"{segment.Stream}: gap {gap.FromOffset}..{gap.ToOffset} outside {next}..{segment.FirstOffset - 1}");
        var entry = new ManifestEntry(entries.Count, $"seg-{entries.Count}", "", segment.FirstOffset, segment.LastOffset, segment.Records.Count,
            0, 0, segment.Records.Sum(ArchiveRecords.RawSize), 0, segment.Gap, writer, 0);
        entries.Add(entry);
        (_records.TryGetValue(segment.Stream, out var records) ? records : _records[segment.Stream] = []).AddRange(segment.Records);
        return new AppendResult(entry, entry);
    }
}

internal static class Records
{
    public static SourceRecord At(long offset, string text, params RecordHeader[] headers) =>
        new(offset, text.Length == 0 ? null : System.Text.Encoding.UTF8.GetBytes("k" + text), System.Text.Encoding.UTF8.GetBytes(text), 1_000 + offset, headers);

    public static RecordIdentity Own(string region, string incarnation, long offset) => new(new OriginId(region, incarnation), offset, ProvenanceVerdict.None);

    public static RecordIdentity From(string region, string incarnation, long originOffset) =>
        new(new OriginId(region, incarnation), originOffset, ProvenanceVerdict.Trusted);
}
