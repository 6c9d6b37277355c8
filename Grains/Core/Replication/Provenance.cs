using System.Collections.Immutable;

namespace Mesh.Core.Replication;

/// <summary>
/// Where a record comes from, carried unchanged on every hop: its identity everywhere
/// (origin region, partition, offset), the version used for conflict resolution (origin
/// timestamp with the origin region as tie-break) and the regions it has been written to.
/// </summary>
/// <param name="Hops">Every region the record has been written to, the origin first.</param>
public sealed record Provenance(
    string OriginRegion,
    int OriginPartition,
    long OriginOffset,
    long OriginTimestampMs,
    ImmutableArray<string> Hops)
{
    /// <summary>Provenance of a record produced locally into <paramref name="region"/>, before its first hop.</summary>
    public static Provenance Local(string region, int partition, long offset, long timestampMs) =>
        new(region, partition, offset, timestampMs, [region]);

    public bool HasVisited(string region) => Hops.Contains(region, StringComparer.Ordinal);

    /// <summary>The provenance the record carries once written to <paramref name="region"/>.</summary>
    public Provenance ArrivedAt(string region) => this with { Hops = Hops.Add(region) };

    public bool Equals(Provenance? other) =>
        other is not null
        && OriginRegion == other.OriginRegion
        && OriginPartition == other.OriginPartition
        && OriginOffset == other.OriginOffset
        && OriginTimestampMs == other.OriginTimestampMs
        && Hops.SequenceEqual(other.Hops, StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(OriginRegion, OriginPartition, OriginOffset);
}
