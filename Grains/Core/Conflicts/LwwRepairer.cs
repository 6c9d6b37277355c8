using Mesh.Core.Replication;

namespace Mesh.Core.Conflicts;

/// <summary>What a repairer asks for: write a copy of the record at <see cref="WinnerOffset"/> (see <see cref="LwwRepairer.BuildRepair"/>).</summary>
/// <param name="WinnerOffset">Where the key's winner is in the destination partition (its latest copy).</param>
/// <param name="Key">The key a losing write landed on after its winner.</param>
public sealed record RepairAction(long WinnerOffset, RecordVersion Winner, byte[] Key);

/// <summary>
/// Last-writer-wins for one partition of an lww topic in one region: every region must end with the same last
/// record per key, the write with the greatest <see cref="RecordVersion"/>. Two things keep it so. A link asks
/// <see cref="ShouldWrite(ReadOnlySpan{byte}, RecordVersion)"/> before it writes a remote record, and drops one that
/// loses to what the partition holds. And the repairer reads the partition in order (<see cref="Observe"/>): a write
/// that lands after its key's winner (a local write with an older version, or a remote one written before the winner
/// was seen) is answered by a repair record, a copy of the winner marked with <see cref="RepairMarker"/>, after it.
/// A record's identity is its trusted provenance, the write a valid repair marker names, or (neither) the region's
/// own write at its offset. Pure: the grain feeds it the partition and writes what it asks for. Not thread-safe.
/// </summary>
public sealed class LwwRepairer
{
    private readonly ProvenanceSigner? _signer;
    private readonly KeyIndex _index = new();
    private readonly Dictionary<byte[], RepairAction> _pending = new(KeyComparer.Instance);

    /// <param name="region">The region whose partition this is (the destination the links write into).</param>
    /// <param name="signer">The region's signer when the mesh runs signed; repairs are signed with it. Not owned.</param>
    public LwwRepairer(LwwRule rule, string region, string topic, int partition, ProvenanceSigner? signer)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (!RegionIds.IsValid(region, out var reason)) throw new ArgumentException(reason, nameof(region));
        if (!TopicNames.IsValid(topic, out reason)) throw new ArgumentException(reason, nameof(topic));
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        Rule = rule;
        Region = region;
        Topic = topic;
        Partition = partition;
        _signer = signer;
    }

    public LwwRule Rule { get; }
    public string Region { get; }
    public string Topic { get; }
    public int Partition { get; }

    /// <summary>The offset after the last record observed: where to read next.</summary>
    public long NextOffset { get; private set; }

    /// <summary>Repair records written (<see cref="NoteRepaired"/>).</summary>
    public long Repaired { get; private set; }

    /// <summary>Repair records observed in the partition (valid markers that fit their record), whoever wrote them and when.</summary>
    public long RepairsRead { get; private set; }

    /// <summary>Records observed whose version header was missing or unreadable (ordered by timestamp instead).</summary>
    public long BadVersions { get; private set; }

    public int KeyCount => _index.Count;

    /// <summary>What the key index holds on the heap, in bytes.</summary>
    public long EstimatedBytes => _index.EstimatedBytes;

    /// <summary>
    /// The keys whose last record observed is older than their winner: each needs a repair that has not been
    /// observed yet. A repairer that starts reads the partition from its start and writes nothing on the way (what it
    /// would repair may already be repaired further on, or lose to a newer write); once it has read to the end it
    /// writes these, then answers each <see cref="Observe"/> as it comes.
    /// </summary>
    public IReadOnlyCollection<RepairAction> Pending => _pending.Values;

    /// <summary>
    /// Takes the partition's next record (offsets in order; one already observed is ignored). Returns a repair to
    /// write when the record is older than its key's winner; null when it is the winner, newer, a copy of the winner
    /// (equal versions: a repair, or a duplicate delivery), or has no key (never indexed).
    /// </summary>
    public RepairAction? Observe(SourceRecord destinationRecord)
    {
        var record = destinationRecord;
        if (record.Offset < NextOffset) return null;
        NextOffset = record.Offset + 1;
        if (record.Key is not { } key) return null;

        var identity = Identify(record);
        if (identity.IsRepair) RepairsRead++;
        var known = _index.TryGet(key, out var winner, out var winnerOffset);
        RecordVersion version;
        if (identity.IsRepair && known && winner.OriginRegion == identity.OriginRegion && winner.OriginOffset == identity.OriginOffset)
        {
            // A copy of the winner is the winner, whatever timestamp a topic with append times stamped on it.
            version = winner;
        }
        else
        {
            version = Rule.VersionOf(record, identity.OriginRegion, identity.OriginOffset, identity.OriginTimestampMs, out var bad);
            if (bad && !identity.IsRepair) BadVersions++;
        }

        if (!known || version >= winner)
        {
            // The latest copy of the winner is the one compaction keeps: point at it.
            _index.Set(key, version, record.Offset);
            _pending.Remove(key);
            return null;
        }
        var action = new RepairAction(winnerOffset, winner, key);
        _pending[key] = action;
        return action;
    }

    /// <summary>
    /// Whether a link should write a remote write of <paramref name="key"/> with <paramref name="version"/>: false
    /// when the partition already holds a write at least as new (the remote one is conflict-dropped). An index that
    /// lags the partition only lets through writes that the repairer then answers.
    /// </summary>
    public bool ShouldWrite(ReadOnlySpan<byte> key, RecordVersion version) =>
        !_index.TryGet(key, out var winner, out _) || version > winner;

    /// <summary>The same for a record a link planned; a record without a key is always written.</summary>
    public bool ShouldWrite(OutboundRecord outbound) =>
        outbound.Key is null || ShouldWrite(outbound.Key, Rule.VersionOf(outbound));

    /// <summary>
    /// The repair record for <paramref name="winner"/>, read back from the partition at the action's offset: the same
    /// key, value, timestamp and headers (its provenance header included), any earlier repair marker replaced by one
    /// naming the winner. Its <see cref="OutboundRecord.Provenance"/> is the winner's identity (for the region's own
    /// write, with incarnation <see cref="RepairMarker.NoIncarnation"/>); a repair never moves an origin vector.
    /// </summary>
    /// <exception cref="ArgumentException">The record is not that write (the offset was compacted away, or read wrong).</exception>
    public OutboundRecord BuildRepair(SourceRecord winnerRecord, RecordVersion winner)
    {
        var identity = winnerRecord.Key is null ? default : Identify(winnerRecord);
        if (winnerRecord.Key is null || identity.OriginRegion != winner.OriginRegion || identity.OriginOffset != winner.OriginOffset)
            throw new ArgumentException(
                $"the record at offset {winnerRecord.Offset} of {Topic}/{Partition} in {Region} is " +
                (winnerRecord.Key is null ? "without a key" : $"the write {identity.OriginRegion}/{identity.OriginOffset}") +
                $", not the winner {winner}: read the winner's offset again (compaction may have removed it)", nameof(winnerRecord));

        var marker = new RepairMarker(identity.OriginRegion, identity.OriginRegion == Region ? null : identity.OriginIncarnation, identity.OriginOffset);
        var headers = new List<RecordHeader>(winnerRecord.Headers.Count + 1);
        foreach (var header in winnerRecord.Headers)
        {
            if (header.Name != RepairMarker.HeaderName) headers.Add(header);
        }
        headers.Add(new RecordHeader(RepairMarker.HeaderName, marker.Encode(winnerRecord.Key, winnerRecord.Value, _signer)));
        var provenance = identity.Provenance
                         ?? Provenance.Local(Region, RepairMarker.NoIncarnation, Topic, Partition, identity.OriginOffset, identity.OriginTimestampMs);
        return new OutboundRecord(winnerRecord.Key, winnerRecord.Value, winnerRecord.TimestampMs, headers, provenance, winnerRecord.Offset);
    }

    /// <summary>The grain wrote a repair record.</summary>
    public void NoteRepaired() => Repaired++;

    /// <summary>Which write a record of this partition is.</summary>
    private Identity Identify(SourceRecord record)
    {
        var reading = ProvenanceTrust.Read(record, Region, Topic, Partition, _signer);
        if (RepairMarker.TryRead(record, Region, reading, _signer, out var marker))
        {
            return marker!.OriginRegion == Region
                ? new Identity(Region, null, marker.OriginOffset, record.TimestampMs, null, IsRepair: true)
                : new Identity(marker.OriginRegion, marker.OriginIncarnation, marker.OriginOffset, reading.Trusted!.OriginTimestampMs, reading.Trusted, IsRepair: true);
        }
        return reading.Verdict == ProvenanceVerdict.Trusted
            ? new Identity(reading.Trusted!.OriginRegion, reading.Trusted.OriginIncarnation, reading.Trusted.OriginOffset, reading.Trusted.OriginTimestampMs, reading.Trusted, IsRepair: false)
            : new Identity(Region, null, record.Offset, record.TimestampMs, null, IsRepair: false);
    }

    /// <param name="Provenance">The trusted provenance of a remote write; null for the region's own.</param>
    private readonly record struct Identity(string OriginRegion, string? OriginIncarnation, long OriginOffset, long OriginTimestampMs, Provenance? Provenance, bool IsRepair);

    private sealed class KeyComparer : IEqualityComparer<byte[]>
    {
        public static KeyComparer Instance { get; } = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] key)
        {
            var hash = new HashCode();
            hash.AddBytes(key);
            return hash.ToHashCode();
        }
    }
}
