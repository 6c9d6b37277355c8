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
    public static BackupStream? ParseStreamFolder(string name) => throw new NotImplementedException();
}
