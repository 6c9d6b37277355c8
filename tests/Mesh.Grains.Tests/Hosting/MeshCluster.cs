using Mesh.Grains.Tests.InMemory;
using Orleans.TestingHost;

namespace Mesh.Grains.Tests.Hosting;

/// <summary>
/// One in-process Orleans cluster of a region's silos over an in-memory world; a test class fixture.
/// Tests that share it keep apart by using region ids of their own.
/// </summary>
public abstract class MeshCluster(string localRegion, short silos) : IAsyncLifetime
{
    public MeshWorld World { get; } = MeshWorld.Create(localRegion);

    public TestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.GrainFactory;

    public async Task InitializeAsync() => Cluster = await StartClusterAsync(World, silos);

    /// <summary>Starts a cluster over <paramref name="world"/>; a second one over the same world shares its Kafka and stores.</summary>
    public static async Task<TestCluster> StartClusterAsync(MeshWorld world, short silos)
    {
        var builder = new TestClusterBuilder(silos);
        builder.Options.ConfigureFileLogging = false;
        builder.Properties[MeshSiloConfigurator.WorldKey] = world.Id;
        builder.AddSiloBuilderConfigurator<MeshSiloConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        World.Forget();
    }
}
