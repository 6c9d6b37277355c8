using System.Security.Cryptography;

namespace Mesh.Core.Backup;

/// <summary>What became of an append.</summary>
/// <param name="Entry">The entry written (null when another writer took the sequence number first).</param>
/// <param name="Tip">The chain's last entry after the attempt: the caller drops its records at or below <c>Tip.LastOffset</c> and goes on.</param>
public sealed record AppendResult(ManifestEntry? Entry, ManifestEntry? Tip)
{
    public bool Appended => Entry is not null;
}

/// <summary>
/// The chain of segments of one backup stream, as one writer sees it. Append writes the segment
/// (unique name), then creates the manifest entry for the next sequence number; if another writer
/// created that entry first, the segment just written is deleted, the chain re-read and the result
/// says where it now ends. So any number of writers (a region and the one that took over from it) can
/// append to one stream with no record stored twice.
/// </summary>
public sealed class StreamChain
{
    // Past this many entries behind, one listing is cheaper than reading entry after entry.
    private const int ProbesBeforeListing = 8;

    private readonly IBackupStore _store;
    private ManifestEntry? _tip;

    private StreamChain(IBackupStore store, BackupStream stream, ManifestEntry? tip)
    {
        _store = store;
        Stream = stream;
        _tip = tip;
    }

    public BackupStream Stream { get; }

    /// <summary>The last committed entry, null for an empty stream.</summary>
    public ManifestEntry? Tip => _tip;

    /// <summary>The next origin offset the stream expects (0 for an empty stream... or the tip's last + 1).</summary>
    public long NextOffset => _tip is null ? 0 : _tip.LastOffset + 1;

    /// <summary>Reads the stream's manifest from the store.</summary>
    public static async Task<StreamChain> LoadAsync(IBackupStore store, BackupStream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        Validate(stream);
        var chain = new StreamChain(store, stream, null);
        await chain.ReadTipFromListingAsync(cancellationToken);
        return chain;
    }

    /// <summary>Re-reads the manifest's end (entries after the known tip).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        for (var probe = 0; probe < ProbesBeforeListing; probe++)
        {
            var next = (_tip?.Sequence ?? -1) + 1;
            var entry = await ReadEntryAsync(next, cancellationToken);
            if (entry is null) return;
            _tip = entry;
        }
        await ReadTipFromListingAsync(cancellationToken);
    }

    /// <summary>
    /// Appends <paramref name="records"/> (origin order, all above <see cref="NextOffset"/> - 1; the first
    /// above <see cref="NextOffset"/> only with <paramref name="gap"/> describing the missing range).
    /// </summary>
    /// <remarks>
    /// Origin offsets may be sparse (transaction markers, compaction): a first offset above
    /// <see cref="NextOffset"/> without a gap just means there were no records in between. A gap
    /// records offsets that did exist but that no region held any more.
    /// </remarks>
    public async Task<AppendResult> AppendAsync(IReadOnlyList<BackupRecord> records, BackupGap? gap, string writer, SegmentKey? key,
        TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentException.ThrowIfNullOrWhiteSpace(writer);
        ArgumentNullException.ThrowIfNull(time);
        CheckRecords(records, gap);

        var sequence = (_tip?.Sequence ?? -1) + 1;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var encoded = SegmentCodec.EncodeSegment(Stream, sequence, records, writer, now, key);
        var (segment, header) = (encoded.Bytes, encoded.Header);
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var segmentName = BackupLayout.SegmentName(Stream, sequence, records[0].OriginOffset, records[^1].OriginOffset, token);
        var folder = BackupLayout.StreamFolder(Stream);

        if (!await _store.TryCreateAsync(segmentName, segment, cancellationToken))
        {
            // A name with a fresh random token exists only if our own write went through and a retry
            // below the store reported the conflict: then it is ours if it holds our bytes.
            var existing = await _store.ReadAsync(segmentName, cancellationToken);
            if (existing is null || !existing.AsSpan().SequenceEqual(segment))
                throw new BackupStoreException($"{_store.Description}: segment {segmentName} already exists with other content; its writer token was meant to be unique");
        }

        var entry = new ManifestEntry(
            sequence,
            segmentName[folder.Length..],
            encoded.Sha256,
            records[0].OriginOffset,
            records[^1].OriginOffset,
            records.Count,
            header.MinTimestampMs,
            header.MaxTimestampMs,
            header.RawBytes,
            segment.Length,
            gap,
            writer,
            now);
        var manifestName = BackupLayout.ManifestName(Stream, sequence);
        // If this throws, the entry may or may not exist (a lost response): the segment must stay, as
        // the entry may name it. At worst it is an orphan that prune removes.
        if (await _store.TryCreateAsync(manifestName, BackupJson.Serialize(entry), cancellationToken))
        {
            _tip = entry;
            return new AppendResult(entry, entry);
        }

        var winner = await ReadEntryAsync(sequence, cancellationToken);
        if (winner is not null && winner.Segment == entry.Segment)
        {
            // Our own entry, reported as existing by a retried create.
            _tip = winner;
            return new AppendResult(winner, winner);
        }
        await _store.DeleteAsync(segmentName, cancellationToken);
        if (winner is not null) _tip = winner;
        await RefreshAsync(cancellationToken);
        return new AppendResult(null, _tip);
    }

    private void CheckRecords(IReadOnlyList<BackupRecord> records, BackupGap? gap)
    {
        if (records.Count == 0) throw new ArgumentException($"nothing to append to {Stream}: a segment holds at least one record", nameof(records));
        var next = NextOffset;
        var first = records[0]?.OriginOffset ?? throw new ArgumentException($"record 0 for {Stream} is null", nameof(records));
        if (first < next)
            throw new ArgumentException(
                $"{Stream} already holds origin offsets up to {next - 1} (segment #{_tip!.Sequence}); the append starts at {first}: drop records at or below the tip and append the rest",
                nameof(records));
        for (var i = 1; i < records.Count; i++)
        {
            var record = records[i] ?? throw new ArgumentException($"record {i} for {Stream} is null", nameof(records));
            if (record.OriginOffset <= records[i - 1].OriginOffset)
                throw new ArgumentException(
                    $"records for {Stream} must be in strictly increasing origin order: record {i} has origin offset {record.OriginOffset} after {records[i - 1].OriginOffset}",
                    nameof(records));
        }
        if (gap is null) return;
        if (gap.FromOffset > gap.ToOffset || gap.FromOffset < next || gap.ToOffset >= first)
            throw new ArgumentException(
                $"the gap {gap.FromOffset}..{gap.ToOffset} for {Stream} must lie between the chain's next offset {next} and the first appended offset {first} (exclusive)",
                nameof(gap));
        if (string.IsNullOrWhiteSpace(gap.Reason))
            throw new ArgumentException($"the gap {gap.FromOffset}..{gap.ToOffset} for {Stream} needs a reason (why no region held those records)", nameof(gap));
    }

    private async Task ReadTipFromListingAsync(CancellationToken cancellationToken)
    {
        var folder = BackupLayout.StreamFolder(Stream);
        var listing = await _store.ListAsync(BackupLayout.ManifestPrefix(Stream), cancellationToken);
        for (var i = listing.Count - 1; i >= 0; i--)
        {
            var name = listing[i].Name;
            if (!name.StartsWith(folder, StringComparison.Ordinal) || BackupLayout.ParseManifestSequence(name[folder.Length..]) is not { } sequence) continue;
            if (_tip is not null && sequence <= _tip.Sequence) return;
            var entry = await ReadEntryAsync(sequence, cancellationToken)
                ?? throw new BackupStoreException($"{_store.Description}: {name} was listed but could not be read");
            _tip = entry;
            return;
        }
    }

    private async Task<ManifestEntry?> ReadEntryAsync(long sequence, CancellationToken cancellationToken)
    {
        var name = BackupLayout.ManifestName(Stream, sequence);
        var bytes = await _store.ReadAsync(name, cancellationToken);
        if (bytes is null) return null;
        var entry = BackupJson.Deserialize<ManifestEntry>(bytes, name, _store.Description);
        if (entry.Sequence != sequence)
            throw new BackupStoreException($"{_store.Description}: {name} holds sequence number {entry.Sequence}");
        return entry;
    }

    private static void Validate(BackupStream stream)
    {
        if (string.IsNullOrWhiteSpace(stream.Topic) || stream.Topic.Contains('/'))
            throw new ArgumentException($"a backup stream needs a topic name without '/' (got \"{stream.Topic}\")", nameof(stream));
        if (stream.Partition < 0) throw new ArgumentException($"partition {stream.Partition} of {stream.Topic} is negative", nameof(stream));
        if (string.IsNullOrWhiteSpace(stream.OriginRegion) || stream.OriginRegion.Contains('/'))
            throw new ArgumentException($"a backup stream needs an origin region without '/' (got \"{stream.OriginRegion}\")", nameof(stream));
        if (string.IsNullOrWhiteSpace(stream.OriginIncarnation) || stream.OriginIncarnation.Contains('/') || stream.OriginIncarnation.Contains('@'))
            throw new ArgumentException($"a backup stream needs an origin incarnation without '/' or '@' (got \"{stream.OriginIncarnation}\")", nameof(stream));
    }
}
