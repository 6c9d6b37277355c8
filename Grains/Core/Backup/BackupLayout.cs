using System.Globalization;

namespace Mesh.Core.Backup;

/// <summary>
/// Object names in a backup store (documented in docs/backup.md):
/// <code>
/// mesh-backup.json                                               the store descriptor
/// topics/{topic}/config/{takenAtMs:D15}-{region}.json             topic configuration snapshots
/// topics/{topic}/{partition}/{region}@{incarnation}/manifest/{sequence:D10}.json   manifest entries
/// topics/{topic}/{partition}/{region}@{incarnation}/segments/{sequence:D10}-{first:D19}-{last:D19}-{writerToken}.seg
/// groups/{group}/{topic}/{partition}/{takenAtMs:D15}-{region}.json                 group snapshots
/// </code>
/// Zero-padded numbers make the store's ordinal listing order the numeric order.
/// </summary>
public static class BackupLayout
{
    public const string DescriptorName = "mesh-backup.json";
    public const string TopicsPrefix = "topics/";
    public const string GroupsPrefix = "groups/";

    public static string StreamFolder(BackupStream stream) =>
        string.Create(CultureInfo.InvariantCulture, $"{TopicsPrefix}{stream.Topic}/{stream.Partition}/{stream.OriginRegion}@{stream.OriginIncarnation}/");

    public static string ManifestPrefix(BackupStream stream) => StreamFolder(stream) + "manifest/";

    public static string ManifestName(BackupStream stream, long sequence) =>
        string.Create(CultureInfo.InvariantCulture, $"{ManifestPrefix(stream)}{sequence:D10}.json");

    public static string SegmentName(BackupStream stream, long sequence, long firstOffset, long lastOffset, string writerToken) =>
        string.Create(CultureInfo.InvariantCulture, $"{StreamFolder(stream)}segments/{sequence:D10}-{firstOffset:D19}-{lastOffset:D19}-{writerToken}.seg");

    public static string TopicConfigPrefix(string topic) => $"{TopicsPrefix}{topic}/config/";

    public static string TopicConfigName(string topic, long takenAtMs, string region) =>
        string.Create(CultureInfo.InvariantCulture, $"{TopicConfigPrefix(topic)}{takenAtMs:D15}-{region}.json");

    public static string GroupPrefix(string group, string topic, int partition) =>
        string.Create(CultureInfo.InvariantCulture, $"{GroupsPrefix}{group}/{topic}/{partition}/");

    public static string GroupSnapshotName(string group, string topic, int partition, long takenAtMs, string region) =>
        string.Create(CultureInfo.InvariantCulture, $"{GroupPrefix(group, topic, partition)}{takenAtMs:D15}-{region}.json");

    /// <summary>Parses a stream folder back (null when the name is not one).</summary>
    public static BackupStream? ParseStreamFolder(string name)
    {
        if (name is null || !name.StartsWith(TopicsPrefix, StringComparison.Ordinal)) return null;
        var parts = name[TopicsPrefix.Length..].TrimEnd('/').Split('/');
        return parts.Length == 3 ? ParseStream(parts[0], parts[1], parts[2]) : null;
    }

    /// <summary>
    /// Splits an object name under a stream folder into the stream and the rest ("manifest/..." or
    /// "segments/..."); false for any other name.
    /// </summary>
    public static bool TryParseStreamObject(string name, out BackupStream stream, out string relative)
    {
        stream = default;
        relative = "";
        if (name is null || !name.StartsWith(TopicsPrefix, StringComparison.Ordinal)) return false;
        var parts = name[TopicsPrefix.Length..].Split('/', 4);
        if (parts.Length != 4 || parts[3].Length == 0) return false;
        if (ParseStream(parts[0], parts[1], parts[2]) is not { } parsed) return false;
        stream = parsed;
        relative = parts[3];
        return true;
    }

    /// <summary>The sequence number of a manifest entry's name relative to its stream folder ("manifest/0000000007.json"), or null.</summary>
    public static long? ParseManifestSequence(string relative)
    {
        const string prefix = "manifest/", suffix = ".json";
        if (!relative.StartsWith(prefix, StringComparison.Ordinal) || !relative.EndsWith(suffix, StringComparison.Ordinal)) return null;
        var digits = relative.AsSpan(prefix.Length, relative.Length - prefix.Length - suffix.Length);
        return digits.Length == 10 && AllDigits(digits) ? long.Parse(digits, CultureInfo.InvariantCulture) : null;
    }

    /// <summary>The parts of a segment's name relative to its stream folder ("segments/{sequence}-{first}-{last}-{token}.seg"), or null.</summary>
    public static SegmentObjectName? ParseSegmentName(string relative)
    {
        const string prefix = "segments/", suffix = ".seg";
        if (!relative.StartsWith(prefix, StringComparison.Ordinal) || !relative.EndsWith(suffix, StringComparison.Ordinal)) return null;
        var parts = relative[prefix.Length..^suffix.Length].Split('-', 4);
        if (parts.Length != 4 || parts[0].Length != 10 || parts[1].Length != 19 || parts[2].Length != 19 || parts[3].Length == 0) return null;
        if (!AllDigits(parts[0]) || !AllDigits(parts[1]) || !AllDigits(parts[2])) return null;
        return new SegmentObjectName(
            long.Parse(parts[0], CultureInfo.InvariantCulture),
            long.Parse(parts[1], CultureInfo.InvariantCulture),
            long.Parse(parts[2], CultureInfo.InvariantCulture),
            parts[3]);
    }

    /// <summary>The topic of a configuration snapshot's name ("topics/{topic}/config/....json"), or null.</summary>
    public static string? ParseTopicConfigName(string name)
    {
        if (name is null || !name.StartsWith(TopicsPrefix, StringComparison.Ordinal) || !name.EndsWith(".json", StringComparison.Ordinal)) return null;
        var parts = name[TopicsPrefix.Length..].Split('/');
        return parts.Length == 3 && parts[0].Length > 0 && parts[1] == "config" && parts[2].Length > ".json".Length ? parts[0] : null;
    }

    private static BackupStream? ParseStream(string topic, string partition, string origin)
    {
        if (topic.Length == 0 || partition.Length == 0 || partition.Length > 9 || !AllDigits(partition)) return null;
        var at = origin.LastIndexOf('@');
        if (at <= 0 || at == origin.Length - 1) return null;
        return new BackupStream(topic, int.Parse(partition, CultureInfo.InvariantCulture), origin[..at], origin[(at + 1)..]);
    }

    private static bool AllDigits(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
            if (c is < '0' or > '9') return false;
        return text.Length > 0;
    }
}

/// <summary>What a segment's object name says: its place in the chain and the writer attempt that wrote it.</summary>
public sealed record SegmentObjectName(long Sequence, long FirstOffset, long LastOffset, string WriterToken);
