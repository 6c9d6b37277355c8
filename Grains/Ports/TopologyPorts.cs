namespace Mesh.Grains.Ports;

/// <summary>
/// A region's applied topology as persisted in its own Kafka: the document text and its version,
/// the paused links and topics, and where it came from when adopted from a peer.
/// </summary>
/// <param name="Paused">Paused links (<c>source</c>) and topics (<c>source/topic</c>) of this region.</param>
/// <param name="AdoptedFrom">The peer region whose persisted topology this one was taken from; null when applied here.</param>
/// <param name="Signature">
/// <c>keyid.mac</c>: the mesh key's MAC over the version and the document, so a region adopts a peer's
/// version only if a region of the same mesh wrote it. Null in an unsigned mesh.
/// </param>
public sealed record StoredTopology(long Version, string Document, DateTimeOffset AppliedAt, IReadOnlyList<string> Paused, string? AdoptedFrom,
    string? Signature = null);

/// <summary>The topology each region keeps in its own Kafka (<c>__mesh_topology</c>).</summary>
public interface ITopologyStore
{
    /// <summary>The topology persisted in <paramref name="region"/>'s Kafka (this region's or a peer's), or null when it has none.</summary>
    Task<StoredTopology?> ReadAsync(string region, CancellationToken cancellationToken);

    /// <summary>Persists this region's topology; returns once its Kafka acknowledged it.</summary>
    Task WriteAsync(StoredTopology topology, CancellationToken cancellationToken);
}

/// <summary>
/// The Kafka connections of the regions a topology names, from the document (secrets resolved from
/// the silo's environment) unless the silo's own settings override them. Each silo keeps its own.
/// </summary>
public interface IRegionConnections
{
    /// <summary>Makes the regions of <paramref name="document"/> reachable from this silo.</summary>
    void Update(Mesh.Core.Topology.Topology document);
}
