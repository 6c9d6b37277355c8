using Mesh.Grains.Tests.InMemory;
using Orleans.TestingHost;

namespace Mesh.Grains.Tests.Hosting;

/// <summary>
/// Several regions, each with its own in-process Orleans cluster (its silos run the links into it),
/// over one in-memory Kafka: a whole mesh, as opposed to <see cref="MeshCluster"/>'s one region.
/// Each region's world keeps its own checkpoints and journal; Kafka and persisted topologies are shared.
/// </summary>
public sealed class RegionClusters : IAsyncDisposable
{
    private readonly Dictionary<string, (MeshWorld World, TestCluster Cluster)> _regions = new(StringComparer.Ordinal);

    private RegionClusters()
    {
    }

    public static async Task<RegionClusters> StartAsync(IReadOnlyList<string> regions, short silosPerRegion = 1)
    {
        var mesh = new RegionClusters();
        MeshWorld? first = null;
        try
        {
            foreach (var region in regions)
            {
                var world = MeshWorld.Create(region, first);
                first ??= world;
                mesh._regions[region] = (world, null!);
            }
            var clusters = await Task.WhenAll(regions.Select(r => MeshCluster.StartClusterAsync(mesh._regions[r].World, silosPerRegion)));
            for (var i = 0; i < regions.Count; i++) mesh._regions[regions[i]] = (mesh._regions[regions[i]].World, clusters[i]);
        }
        catch
        {
            await mesh.DisposeAsync();
            throw;
        }
        return mesh;
    }

    public InMemoryKafka Kafka => _regions.Values.First().World.Kafka;

    public MeshWorld World(string region) => _regions[region].World;

    /// <summary>The grains of <paramref name="region"/>'s cluster: its topology grain, and the links and replicators into it.</summary>
    public IGrainFactory Grains(string region) => _regions[region].Cluster.GrainFactory;

    /// <summary>What every region's grains last logged, for a failure message.</summary>
    public string RecentLog(int lines = 15) =>
        string.Join(Environment.NewLine, _regions.Select(r => $"-- {r.Key}:{Environment.NewLine}{r.Value.World.RecentLog(lines)}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var (world, cluster) in _regions.Values)
        {
            if (cluster is not null)
            {
                await cluster.StopAllSilosAsync();
                await cluster.DisposeAsync();
            }
            world.Forget();
        }
    }
}
