using Mesh.Core.Replication;

namespace Mesh.Core.Backup;

/// <summary>
/// One origin stream of one topic partition: the records a region (in one incarnation) first wrote to
/// that partition. The backup keeps each stream once, whichever region it was read from.
/// </summary>
public readonly record struct BackupStream(string Topic, int Partition, string OriginRegion, string OriginIncarnation)
{
    public override string ToString() => $"{Topic}/{Partition} from {OriginRegion}@{OriginIncarnation}";
}

/// <summary>
/// A record as the backup keeps it: its place in its origin stream, and exactly what an application
/// wrote (key, value and headers byte for byte, null and empty kept apart; the mesh's own provenance
/// header is not kept, the stream says where the record comes from).
/// </summary>
/// <param name="LogAppendTime">The timestamp was the broker's append time, not the producer's.</param>
public sealed record BackupRecord(
    long OriginOffset,
    long TimestampMs,
    bool LogAppendTime,
    byte[]? Key,
    byte[]? Value,
    IReadOnlyList<RecordHeader> Headers);

/// <summary>Origin offsets the backup does not hold because no region had them any more when they were read.</summary>
public sealed record BackupGap(long FromOffset, long ToOffset, string Reason)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public long Count => ToOffset - FromOffset + 1;
}

/// <summary>
/// The manifest entry of one segment: written once, after the segment itself, under the stream's next
/// sequence number. Creating it is the commit: of two writers racing for one sequence number exactly
/// one succeeds, so a stream's segments form one chain with no record twice.
/// </summary>
/// <param name="Sequence">0, 1, 2, ... within the stream.</param>
/// <param name="Segment">The segment's object name under the stream's folder.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the whole segment object as stored.</param>
/// <param name="GapBefore">Origin offsets between the previous segment's last and this one's first that no region held.</param>
/// <param name="Writer">The region the records were read from.</param>
public sealed record ManifestEntry(
    long Sequence,
    string Segment,
    string Sha256,
    long FirstOffset,
    long LastOffset,
    int Records,
    long MinTimestampMs,
    long MaxTimestampMs,
    long RawBytes,
    long StoredBytes,
    BackupGap? GapBefore,
    string Writer,
    long WrittenAtMs);

/// <summary>A topic's partition count and configs as the backup saw them at <paramref name="TakenAtMs"/>.</summary>
public sealed record TopicConfigSnapshot(string Topic, int Partitions, IReadOnlyDictionary<string, string> Configs, string Region, long TakenAtMs);

/// <summary>
/// Where a consumer group stood in one partition at <paramref name="TakenAtMs"/>, as origin positions:
/// per origin stream the highest origin offset among the records before its committed offset in
/// <paramref name="Region"/> (an origin it never reached has no mark). Offsets differ between
/// regions and between a topic and its restore; origin positions do not.
/// </summary>
public sealed record GroupSnapshot(
    string Group,
    string Topic,
    int Partition,
    string Region,
    long CommittedOffset,
    long TakenAtMs,
    IReadOnlyList<OriginMark> Marks);

public sealed record OriginMark(string Region, string Incarnation, long Offset);

/// <summary>What the store says about itself: written once when a backup first writes to it.</summary>
public sealed record StoreDescriptor(int Format, long CreatedAtMs, string? EncryptionKeyId);
