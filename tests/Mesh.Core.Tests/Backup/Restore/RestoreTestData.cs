using System.Text;
using Mesh.Core.Backup;
using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Backup.Restore;

/// <summary>Builders shared by the restore planning tests.</summary>
internal static class RestoreTestData
{
    public const string Topic = "orders";

    public static BackupStream Stream(string region, string incarnation = "1a2b3c4d", int partition = 0) => new(Topic, partition, region, incarnation);

    public static BackupRecord Rec(long offset, long timestamp, string? key = null, string? value = null, params RecordHeader[] headers) =>
        new(offset, timestamp, false, key is null ? null : Encoding.UTF8.GetBytes(key), value is null ? null : Encoding.UTF8.GetBytes(value), headers);

    public static TopicConfigSnapshot Config(long takenAt, params (string Name, string Value)[] configs) =>
        new(Topic, 3, configs.ToDictionary(c => c.Name, c => c.Value), "r1", takenAt);

    public static GroupSnapshot Group(string group, long takenAt, params (string Region, string Incarnation, long Offset)[] marks) =>
        new(group, Topic, 0, "r1", 0, takenAt, [.. marks.Select(m => new OriginMark(m.Region, m.Incarnation, m.Offset))]);

    public static ManifestEntry Entry(long sequence, long first, long last, long minTs, long maxTs) =>
        new(sequence, $"segments/{sequence:D10}-{first:D19}-{last:D19}-w.seg", "00", first, last, (int)(last - first + 1), minTs, maxTs, 10, 5, null, "r1", maxTs);
}
