using System.Collections.Immutable;

namespace Mesh.Core.Replication;

/// <summary>
/// Where a record comes from, carried on every hop: its identity everywhere (origin region and
/// incarnation, origin topic, partition and offset), the version used for conflict resolution
/// (origin timestamp with the origin region as tie-break) and the regions it has been written to.
/// </summary>
/// <param name="OriginIncarnation">
/// The origin region's incarnation (from its Kafka cluster's identity): a region that comes back with
/// an empty Kafka is a new incarnation, so its new offsets never collide with the old ones.
/// </param>
/// <param name="Hops">Every region the record has been written to, the origin first.</param>
public sealed record Provenance(
    string OriginRegion,
    string OriginIncarnation,
    string OriginTopic,
    int OriginPartition,
    long OriginOffset,
    long OriginTimestampMs,
    ImmutableArray<string> Hops)
{
    /// <summary>Provenance of a record produced locally into <paramref name="region"/>, before its first hop.</summary>
    public static Provenance Local(string region, string incarnation, string topic, int partition, long offset, long timestampMs) =>
        new(region, incarnation, topic, partition, offset, timestampMs, [region]);

    /// <summary>The key of this record's origin stream in an <see cref="OriginVector"/>.</summary>
    public string OriginKey => OriginVector.Key(OriginRegion, OriginIncarnation);

    public string LastHop => Hops[^1];

    public bool HasVisited(string region) => Hops.Contains(region, StringComparer.Ordinal);

    /// <summary>The provenance the record carries once written to <paramref name="region"/>.</summary>
    public Provenance ArrivedAt(string region) => this with { Hops = Hops.Add(region) };

    public bool Equals(Provenance? other) =>
        other is not null
        && OriginRegion == other.OriginRegion
        && OriginIncarnation == other.OriginIncarnation
        && OriginTopic == other.OriginTopic
        && OriginPartition == other.OriginPartition
        && OriginOffset == other.OriginOffset
        && OriginTimestampMs == other.OriginTimestampMs
        && Hops.SequenceEqual(other.Hops, StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(OriginRegion, OriginIncarnation, OriginTopic, OriginPartition, OriginOffset);
}
