using Mesh.Grains.Ports;

namespace Mesh.Grains.Tests.InMemory;

/// <summary>
/// Each region's persisted topology. The Kafka store writes to its silo's own region, which is the
/// region of the one topology grain a real cluster runs; here a cluster may run several regions'
/// topology grains (one per test), so a write goes to the region of the topology grain making it.
/// </summary>
public sealed class InMemoryTopologyStore(MeshWorld world, IGrainContextAccessor grains) : ITopologyStore
{
    public Task<StoredTopology?> ReadAsync(string region, CancellationToken cancellationToken)
    {
        world.Journal.Add(new TopologyRead(region, CallingRegion()));
        return Task.FromResult(world.Topologies.TryGetValue(region, out var stored) ? stored : null);
    }

    public Task WriteAsync(StoredTopology topology, CancellationToken cancellationToken)
    {
        var region = CallingRegion();
        world.Topologies[region] = topology;
        world.Journal.Add(new TopologyWritten(region, topology.Version));
        return Task.CompletedTask;
    }

    // Orleans names a grain type after its class without the "Grain" suffix.
    private static readonly GrainType TopologyGrainType = GrainType.Create("topology");

    private string CallingRegion() =>
        grains.GrainContext?.GrainId is { } id && id.Type.Equals(TopologyGrainType) ? id.Key.ToString()! : world.LocalRegion;
}

/// <summary>Notes which topology version each silo's connections follow.</summary>
public sealed class RecordingRegionConnections(MeshWorld world) : IRegionConnections
{
    public void Update(Mesh.Core.Topology.Topology document) => world.ConnectionUpdates.Enqueue(document.Version);
}
