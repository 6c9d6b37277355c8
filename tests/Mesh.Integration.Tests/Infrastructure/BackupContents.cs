using Mesh.Backup;
using Mesh.Core.Backup;

namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>What a backup store holds of a topic, read back from its segments as a restore would.</summary>
public static class BackupContents
{
    /// <summary>Every record of the store's chains for <paramref name="topic"/>, per (origin region, partition).</summary>
    public static async Task<Dictionary<(string Region, int Partition), List<BackupRecord>>> ReadAsync(IBackupStore store, string topic)
    {
        var backed = new Dictionary<(string, int), List<BackupRecord>>();
        var catalog = await BackupCatalog.LoadAsync(store, topic, CancellationToken.None);
        foreach (var stream in catalog.Topics.Where(t => t.Topic == topic).SelectMany(t => t.Streams))
        {
            var key = (stream.Stream.OriginRegion, stream.Stream.Partition);
            if (!backed.TryGetValue(key, out var records)) backed[key] = records = [];
            foreach (var entry in stream.Entries)
                records.AddRange((await BackupCatalog.ReadSegmentAsync(store, stream.Stream, entry, null, CancellationToken.None)).Records);
        }
        return backed;
    }
}
