namespace Mesh.Grains.Tests.Hosting;

/// <summary>One silo for tests of the topology grain alone: its links find no topics, so nothing replicates.</summary>
public sealed class ControlCluster() : MeshCluster("control", silos: 1);
