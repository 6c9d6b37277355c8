namespace Mesh.Grains;

/// <summary>
/// Grain keys are part of the wire contract: a link is <c>source-&gt;destination</c>, a partition
/// replicator is <c>source-&gt;destination|topic|partition</c>. Region ids and topic names cannot
/// contain '>' or '|', so the keys split back unambiguously.
/// </summary>
public static class GrainKeys
{
    private const string Arrow = "->";

    public static string Link(string source, string destination) => $"{source}{Arrow}{destination}";

    public static string Partition(string source, string destination, string topic, int partition) =>
        $"{Link(source, destination)}|{topic}|{partition}";

    /// <summary>One partition of one topic in one region (the conflict grain of an lww topic): <c>region|topic|partition</c>.</summary>
    public static string RegionPartition(string region, string topic, int partition) => $"{region}|{topic}|{partition}";

    public static (string Region, string Topic, int Partition) ParseRegionPartition(string key)
    {
        var parts = key.Split('|');
        if (parts.Length != 3 || parts[0].Length == 0 || !int.TryParse(parts[2], out var partition) || partition < 0)
            throw new FormatException($"'{key}' is not a region partition key ('region|topic|partition').");
        return (parts[0], parts[1], partition);
    }

    public static (string Source, string Destination) ParseLink(string key)
    {
        var arrow = key.IndexOf(Arrow, StringComparison.Ordinal);
        if (arrow <= 0 || arrow + Arrow.Length >= key.Length)
            throw new FormatException($"'{key}' is not a link key ('source->destination').");
        return (key[..arrow], key[(arrow + Arrow.Length)..]);
    }

    public static (string Source, string Destination, string Topic, int Partition) ParsePartition(string key)
    {
        var parts = key.Split('|');
        if (parts.Length != 3 || !int.TryParse(parts[2], out var partition) || partition < 0)
            throw new FormatException($"'{key}' is not a partition replicator key ('source->destination|topic|partition').");
        var (source, destination) = ParseLink(parts[0]);
        return (source, destination, parts[1], partition);
    }
}
