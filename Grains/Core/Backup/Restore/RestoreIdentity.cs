using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mesh.Core.Replication;

namespace Mesh.Core.Backup.Restore;

/// <summary>
/// The <c>mesh.restored</c> header of a restored record: where it came from originally and which restore wrote
/// it, as UTF-8 text <c>origin-region|origin-incarnation|origin-topic|partition|origin-offset|restore-id</c>.
/// An ordinary application header to the mesh (it travels unchanged); a restore finds its own earlier run by it.
/// </summary>
public sealed record RestoredFrom(string OriginRegion, string OriginIncarnation, string OriginTopic, int Partition, long OriginOffset, string RestoreId)
{
    public const string HeaderName = "mesh.restored";

    public byte[] Encode() => Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
        $"{OriginRegion}|{OriginIncarnation}|{OriginTopic}|{Partition}|{OriginOffset}|{RestoreId}"));

    public static RestoredFrom? TryDecode(byte[]? value)
    {
        if (value is null) return null;
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(value);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        var fields = text.Split('|');
        if (fields.Length != 6) return null;
        if (!int.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var partition)) return null;
        if (!long.TryParse(fields[4], NumberStyles.None, CultureInfo.InvariantCulture, out var offset)) return null;
        return new RestoredFrom(fields[0], fields[1], fields[2], partition, offset, fields[5]);
    }

    /// <summary>The last <c>mesh.restored</c> header among <paramref name="headers"/> (a restore of a restore carries two).</summary>
    public static RestoredFrom? Find(IReadOnlyList<RecordHeader> headers)
    {
        for (var i = headers.Count - 1; i >= 0; i--)
            if (headers[i].Name == HeaderName) return TryDecode(headers[i].Value);
        return null;
    }
}

/// <summary>
/// Deterministic names of a restore, so that a restore run again after an interruption writes the same
/// identities and finds what it wrote before. A restore incarnation is <c>r</c> and eight hex digits: a real
/// incarnation is eight hex digits (<see cref="Incarnations.FromClusterId"/>), so the two never meet.
/// </summary>
public static class RestoreIds
{
    /// <summary>Sixteen hex digits of SHA-256 over the store, the backed-up topic, the target name and TIME.</summary>
    public static string RestoreId(string store, string topic, string targetTopic, long atMs) =>
        Hex(string.Create(CultureInfo.InvariantCulture, $"mesh.restore/1\0{store}\0{topic}\0{targetTopic}\0{atMs}"), 8);

    /// <summary>The origin incarnation of a restore into one region: a new origin stream of that region.</summary>
    public static string SingleRegionIncarnation(string restoreId) => Incarnations.RestoredHereTag + Hex($"single\0{restoreId}", 4);

    /// <summary>The origin incarnation, in a restore into every region, of the records of origin incarnation <paramref name="originIncarnation"/>.</summary>
    public static string AllRegionsIncarnation(string originIncarnation, string restoreId) => Incarnations.RestoredEverywhereTag + Hex($"all\0{originIncarnation}\0{restoreId}", 4);

    public static bool IsRestoreIncarnation(string incarnation) => Incarnations.IsRestored(incarnation);

    private static string Hex(string text, int bytes) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, bytes));
}

/// <summary>Restore into one region, or into every region at once.</summary>
public enum RestoreMode
{
    SingleRegion,
    AllRegions,
}

/// <summary>A record ready to produce into one region's target partition.</summary>
/// <param name="Index">Its place in the restored partition (0 first).</param>
public sealed record RestoredRecord(long Index, byte[]? Key, byte[]? Value, long TimestampMs, IReadOnlyList<RecordHeader> Headers, Provenance Provenance, RestoredFrom From);

/// <summary>
/// The provenance restored records carry, so that the mesh trusts them where they are written and carries
/// each to every region exactly once. Into one region R: a new origin stream of R (a restore incarnation,
/// the record's index as its origin offset, hops [R]); the mesh replicates it like any write of R. Into
/// every region: the original origin region, a restore incarnation derived from the original one, the
/// original origin offset, and hops naming every target (the region written to last), so that every link
/// skips it as a loop. The origin topic is the target topic, where the record is read.
/// </summary>
public sealed class RestoreProvenance
{
    private readonly IReadOnlyList<string> _targets;

    /// <param name="targets">The regions written to: one for <see cref="RestoreMode.SingleRegion"/>, every target for <see cref="RestoreMode.AllRegions"/>.</param>
    public RestoreProvenance(RestoreMode mode, IReadOnlyList<string> targets, string targetTopic, string restoreId)
    {
        if (targets.Count == 0) throw new ArgumentException("at least one target region", nameof(targets));
        if (mode == RestoreMode.SingleRegion && targets.Count != 1) throw new ArgumentException("a single-region restore has one target region", nameof(targets));
        foreach (var region in targets)
            if (!RegionIds.IsValid(region, out var reason)) throw new ArgumentException(reason, nameof(targets));
        if (!TopicNames.IsValid(targetTopic, out var topicReason)) throw new ArgumentException(topicReason, nameof(targetTopic));
        Mode = mode;
        _targets = [.. targets.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        TargetTopic = targetTopic;
        RestoreId = restoreId;
    }

    public RestoreMode Mode { get; }
    public string TargetTopic { get; }
    public string RestoreId { get; }
    public IReadOnlyList<string> Targets => _targets;

    /// <summary>The provenance of <paramref name="record"/>, written at <paramref name="index"/> of partition <paramref name="partition"/> in <paramref name="region"/>.</summary>
    public Provenance For(PlannedRecord record, int partition, long index, string region)
    {
        if (!_targets.Contains(region, StringComparer.Ordinal)) throw new ArgumentException($"{region} is not a target of this restore", nameof(region));
        var timestamp = record.Record.TimestampMs;
        if (Mode == RestoreMode.SingleRegion)
            return Provenance.Local(region, RestoreIds.SingleRegionIncarnation(RestoreId), TargetTopic, partition, index, timestamp);
        var origin = record.Stream.OriginRegion;
        return new Provenance(origin, RestoreIds.AllRegionsIncarnation(record.Stream.OriginIncarnation, RestoreId), TargetTopic, partition,
            record.Record.OriginOffset, timestamp, Hops(origin, region));
    }

    /// <summary>
    /// The origin first, then every other target (sorted), the region written to last; the origin appears again
    /// only as the last hop when the record is written into it (as after a rebuild), never twice in a row.
    /// </summary>
    internal ImmutableArray<string> Hops(string origin, string writtenTo)
    {
        var hops = ImmutableArray.CreateBuilder<string>();
        hops.Add(origin);
        foreach (var region in _targets)
            if (region != origin && region != writtenTo) hops.Add(region);
        if (hops[^1] != writtenTo) hops.Add(writtenTo);
        return hops.ToImmutable();
    }

    /// <summary>
    /// The record as written into <paramref name="region"/>: key, value, timestamp and application headers as
    /// backed up, then <c>mesh.restored</c>, then the provenance header (signed when <paramref name="signer"/> is given).
    /// </summary>
    public RestoredRecord Build(PlannedRecord record, string sourceTopic, int partition, long index, string region, ProvenanceSigner? signer)
    {
        var provenance = For(record, partition, index, region);
        var from = new RestoredFrom(record.Stream.OriginRegion, record.Stream.OriginIncarnation, sourceTopic, partition, record.Record.OriginOffset, RestoreId);
        var headers = new List<RecordHeader>(record.Record.Headers.Count + 2);
        foreach (var header in record.Record.Headers)
            if (header.Name != ProvenanceCodec.HeaderName) headers.Add(header);
        headers.Add(new RecordHeader(RestoredFrom.HeaderName, from.Encode()));
        var value = signer is null ? ProvenanceCodec.Encode(provenance) : signer.Encode(provenance, record.Record.Key, record.Record.Value);
        headers.Add(new RecordHeader(ProvenanceCodec.HeaderName, value));
        return new RestoredRecord(index, record.Record.Key, record.Record.Value, record.Record.TimestampMs, headers, provenance, from);
    }
}
