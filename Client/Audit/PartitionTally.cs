using System.Buffers.Binary;
using System.Security.Cryptography;
using Mesh.Core.Offsets;
using Mesh.Core.Replication;
using Mesh.Core.Topology;

namespace Mesh.Client.Audit;

/// <summary>
/// An origin stream: a region in one incarnation (its Kafka cluster). Offsets are only comparable
/// within one stream: a region whose Kafka came back empty starts a new one.
/// </summary>
public readonly record struct OriginStream(string Region, string Incarnation)
{
    public override string ToString() => $"{Region}/{Incarnation}";
}

/// <summary>The last record of a key in one region's partition, as far as comparing goes.</summary>
/// <param name="Hash">Of the value (or the tombstone) and the timestamp.</param>
/// <param name="ValueLength">-1 for a tombstone.</param>
/// <param name="Origin">The region the record was first written in.</param>
public readonly record struct FinalRecord(UInt128 Hash, long Offset, long TimestampMs, int ValueLength, string Origin)
{
    public bool Tombstone => ValueLength < 0;
}

/// <summary>
/// What one region's copy of one partition holds, reduced while it is read: per origin stream the
/// origin offsets (append topics), or per key the last record (last-writer-wins topics). Never the
/// records themselves. Fed from one thread.
/// </summary>
/// <param name="region">Where the records are read.</param>
/// <param name="incarnation">That region's incarnation: the identity of records produced there (they carry no provenance).</param>
/// <param name="topic">The topic as named in <paramref name="region"/>.</param>
/// <param name="logStart">The partition's first offset when reading began (retention may have removed what came before).</param>
public sealed class PartitionTally(string region, string incarnation, string topic, int partition, ConflictPolicy policy,
    NamingPolicy naming = NamingPolicy.Identity, long logStart = 0, string separator = TopicNaming.DefaultSeparator)
{
    private readonly OriginStream _local = new(region, incarnation);
    private readonly Dictionary<OriginStream, OriginOffsets> _origins = [];
    private readonly Dictionary<OriginStream, long> _records = [];
    private readonly Dictionary<byte[], FinalRecord> _finals = new(ByteArrayComparer.Instance);
    private IncrementalHash? _hash;

    public string Region => region;
    public string Topic => topic;
    public int Partition => partition;
    public ConflictPolicy Policy => policy;
    public long LogStart => logStart;

    /// <summary>The stream of the records produced in this region.</summary>
    public OriginStream LocalStream => _local;

    /// <summary>Records read.</summary>
    public long Records { get; private set; }

    /// <summary>Records without a key in a last-writer-wins topic: nothing to compare them by.</summary>
    public long Unkeyed { get; private set; }

    /// <summary>
    /// Records whose provenance header would not be believed (copied from another record, written by
    /// hand, malformed): they count as records produced here, as the mesh counts them.
    /// </summary>
    public long UntrustedHeaders { get; private set; }

    /// <summary>Records read per origin stream.</summary>
    public IReadOnlyDictionary<OriginStream, long> RecordsByOrigin => _records;

    /// <summary>Append topics: the origin offsets held per origin stream.</summary>
    public IReadOnlyDictionary<OriginStream, OriginOffsets> Origins => _origins;

    /// <summary>Last-writer-wins topics: the last record of each key.</summary>
    public IReadOnlyDictionary<byte[], FinalRecord> Finals => _finals;

    /// <summary>
    /// Adds the next record. Its identity is its provenance when the header would be believed where it
    /// was read (the mesh's trust rule without the signature, which needs the mesh key the audit does
    /// not have); otherwise it is a record produced here: this region, its incarnation, its offset.
    /// </summary>
    public void Add(SourceRecord record)
    {
        Records++;
        var identity = RecordOrigin.Of(record, region, incarnation, topic, partition, signer: null, naming, separator);
        if (identity.Verdict == ProvenanceVerdict.Untrusted) UntrustedHeaders++;
        var (origin, originOffset) = identity.Verdict == ProvenanceVerdict.Trusted
            ? (Intern(new OriginStream(identity.Origin.Region, identity.Origin.Incarnation)), identity.OriginOffset)
            : (_local, record.Offset);
        _records[origin] = _records.GetValueOrDefault(origin) + 1;

        if (policy == ConflictPolicy.Lww)
        {
            if (record.Key is null) { Unkeyed++; return; }
            _finals[record.Key] = new FinalRecord(HashOf(record), record.Offset, record.TimestampMs, record.Value?.Length ?? -1, origin.Region);
            return;
        }
        if (!_origins.TryGetValue(origin, out var offsets)) _origins[origin] = offsets = new OriginOffsets();
        offsets.Add(originOffset, record.Offset);
    }

    // One instance per origin stream, so that per-key entries share the region's name.
    private OriginStream Intern(OriginStream stream)
    {
        foreach (var known in _records.Keys)
            if (known == stream) return known;
        return stream;
    }

    private UInt128 HashOf(SourceRecord record)
    {
        _hash ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> scratch = stackalloc byte[32];
        scratch[0] = record.Value is null ? (byte)0 : (byte)1;
        _hash.AppendData(scratch[..1]);
        if (record.Value is not null) _hash.AppendData(record.Value);
        BinaryPrimitives.WriteInt64LittleEndian(scratch, record.TimestampMs);
        _hash.AppendData(scratch[..8]);
        _hash.GetHashAndReset(scratch);
        return BinaryPrimitives.ReadUInt128LittleEndian(scratch);
    }
}

/// <summary>Byte arrays compared by content (record keys).</summary>
public sealed class ByteArrayComparer : IEqualityComparer<byte[]>
{
    public static ByteArrayComparer Instance { get; } = new();

    public bool Equals(byte[]? x, byte[]? y) => x is null ? y is null : y is not null && x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] bytes)
    {
        var hash = new HashCode();
        hash.AddBytes(bytes);
        return hash.ToHashCode();
    }
}
