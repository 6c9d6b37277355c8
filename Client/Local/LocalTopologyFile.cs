using Mesh.Core.Topology;

namespace Mesh.Client.Local;

/// <summary>
/// The topology a local mesh's silos start from: the document with each local region's embedded
/// Kafka filled in where the document names none, written as YAML that reads back to the same document.
/// </summary>
public static class LocalTopologyFile
{
    private const string BootstrapServers = "bootstrap.servers";

    /// <summary>
    /// The document with <c>bootstrap.servers</c> added to every region that has none and for which
    /// <paramref name="bootstrapOf"/> knows a local Kafka; the region's other settings are kept.
    /// </summary>
    public static TopologyDocument WithLocalKafka(TopologyDocument document, Func<string, string?> bootstrapOf) =>
        document with
        {
            Regions = document.Regions
                .Select(region => region.Kafka.ContainsKey(BootstrapServers) || bootstrapOf(region.Id) is not { } bootstrap
                    ? region
                    : region with { Kafka = new KafkaSettings([.. region.Kafka, KeyValuePair.Create(BootstrapServers, bootstrap)]) })
                .ToValueList(),
        };

    /// <summary>Regions of the document that have no <c>bootstrap.servers</c>.</summary>
    public static IEnumerable<string> RegionsWithoutKafka(TopologyDocument document) =>
        document.Regions.Where(r => !r.Kafka.ContainsKey(BootstrapServers)).Select(r => r.Id);

    /// <summary>The document as YAML, checked to read back to an equal, valid document.</summary>
    /// <exception cref="MeshCommandException">It does not (a writer bug): nothing is written.</exception>
    public static string ToYaml(TopologyDocument document, string sourceName, IEnumerable<string> comments)
    {
        var yaml = TopologyWriter.ToYaml(document, comments);
        var load = Topology.Load(yaml, sourceName);
        if (load.Topology is null || !Equals(load.Document, document))
            throw new MeshCommandException($"{sourceName}: the topology does not read back as written ({string.Join("; ", load.Errors.Select(e => e.Describe()))}); " +
                                           "this is a bug in the topology writer, please report it with the file.");
        return yaml;
    }

    /// <summary>Writes <paramref name="yaml"/> to <paramref name="path"/> in one step (readers never see half a file).</summary>
    public static void Write(string path, string yaml)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path + ".tmp", yaml);
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
