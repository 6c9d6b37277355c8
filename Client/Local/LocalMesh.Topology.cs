using Mesh.Core.Topology;

namespace Mesh.Client.Local;

// The local mesh's topology: the file its silos start from, and the regions a new version adds.
public sealed partial class LocalMesh
{
    /// <summary>
    /// The document as the local regions need it: each region that runs here and has no
    /// <c>bootstrap.servers</c> in the document gets its embedded Kafka's.
    /// </summary>
    public TopologyDocument WithLocalKafka(TopologyDocument document) =>
        LocalTopologyFile.WithLocalKafka(document, region => File.Exists(Paths.BootstrapFile(region)) ? Bootstrap(region) : null);

    /// <summary>Writes the effective topology (local Kafka filled in) to <paramref name="path"/>; returns the text written.</summary>
    private string WriteStartupTopology(TopologyDocument document, string path, string origin)
    {
        var yaml = LocalTopologyFile.ToYaml(WithLocalKafka(document), Path.GetFileName(path),
        [
            origin,
            "The silos of this local mesh start from this file (the newer of it and the version kept in their Kafka).",
            "To change the running mesh: copy it, edit the copy, raise 'version', then 'mesh topology apply <copy>'.",
        ]);
        LocalTopologyFile.Write(path, yaml);
        return yaml;
    }

    /// <summary>The document of the version the mesh was last started on or applied: the applied copy when it is kept, else the file of <c>local up</c>.</summary>
    public string RunningTopologyFile =>
        State.TopologyVersion is var version && File.Exists(Paths.AppliedTopologyFile(version)) ? Paths.AppliedTopologyFile(version) : Paths.TopologyFile;

    /// <summary>
    /// Adds regions to the local mesh and starts their embedded Kafka with the mesh's topics, but no
    /// silo yet: a new topology names their Kafka before it is applied anywhere. Their silos will
    /// start from the file of <paramref name="version"/> (see <see cref="StartAddedSilosAsync"/>).
    /// </summary>
    public async Task AddRegionsAsync(IReadOnlyList<string> regions, long version, CancellationToken cancellationToken = default)
    {
        var state = State;
        var silosPerRegion = state.Regions.Max(r => r.Silos.Count);
        var ports = new Queue<int>(FreePorts(regions.Count * silosPerRegion * LocalSilo.PortsPerSilo));
        var added = regions.Select(id => new LocalRegion
        {
            Id = id,
            Silos = [.. Enumerable.Range(1, silosPerRegion).Select(i => LocalSilo.Take(i, ports))],
            TopologyFile = Path.GetFileName(Paths.AppliedTopologyFile(version)),
        }).ToList();
        // Saved before anything starts, so that 'local down' finds whatever did start.
        state = state with { Regions = [.. state.Regions, .. added] };
        state.Save(Paths.Root);
        try
        {
            await Task.WhenAll(added.Select(r => StartKafkaAsync(state, r.Id, cancellationToken)));
        }
        catch
        {
            await RemoveRegionsAsync(regions);
            throw;
        }
    }

    /// <summary>Stops regions added by <see cref="AddRegionsAsync"/> (an apply that did not happen) and forgets them.</summary>
    public async Task RemoveRegionsAsync(IReadOnlyList<string> regions)
    {
        await Task.WhenAll(regions.Select(StopSilosAsync));
        await Task.WhenAll(regions.Select(r => StopAsync(Paths.KafkaPidFile(r), LocalMeshPaths.RegionHostBinary)));
        var state = State;
        state = state with { Regions = [.. state.Regions.Where(r => !regions.Contains(r.Id))] };
        state.Save(Paths.Root);
        foreach (var region in regions)
            try { Directory.Delete(Paths.RegionDir(region), recursive: true); } catch (IOException) { }
    }

    /// <summary>
    /// Starts the silos of regions added by <see cref="AddRegionsAsync"/> on <paramref name="document"/>
    /// (the applied text, written where their configuration points) and waits until they answer.
    /// </summary>
    public async Task StartAddedSilosAsync(IReadOnlyList<string> regions, long version, string document, CancellationToken cancellationToken = default)
    {
        LocalTopologyFile.Write(Paths.AppliedTopologyFile(version), document);
        var state = State;
        foreach (var region in regions)
            foreach (var silo in state.Region(region).Silos)
                StartSilo(state, region, silo.Instance);
        await WaitUntilAnsweringAsync(regions, TimeSpan.FromMinutes(2), cancellationToken);
    }

    /// <summary>
    /// Records a topology applied to the running mesh: its document (<paramref name="document"/>, the text the regions
    /// were sent), the links it expects and what people are shown.
    /// </summary>
    public void RecordApplied(Topology topology, string document)
    {
        // Kept beside the file of 'local up', so that later commands read the routes the mesh runs, not those it started on.
        LocalTopologyFile.Write(Paths.AppliedTopologyFile(topology.Version), document);
        var plan = LocalTopologyPlan.Of(topology);
        var state = State;
        state = state with { Topology = plan.Description, TopologyVersion = plan.Version, Links = [.. plan.Links] };
        state.Save(Paths.Root);
    }
}
