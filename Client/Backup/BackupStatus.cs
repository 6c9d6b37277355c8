using Mesh.Client.Local;
using Mesh.Core.Backup;

namespace Mesh.Client.Backup;

/// <summary>One origin stream as status reports it.</summary>
/// <param name="Behind">Records of the live origin partition past the stream's last backed-up offset (an upper bound: the
/// partition also holds other regions' records); null when the origin region was not asked or did not answer in this incarnation.</param>
public sealed record StreamStatus(
    int Partition,
    string Origin,
    string Incarnation,
    long FirstOffset,
    long LastOffset,
    long? EarliestMs,
    long? LatestMs,
    long Records,
    long BytesRaw,
    long BytesStored,
    int Gaps,
    long GapRecords,
    int Segments,
    long? LagMs,
    long? Behind);

public sealed record TopicStatus(string Topic, IReadOnlyList<StreamStatus> Streams, int ConfigSnapshots)
{
    public long Records => Streams.Sum(s => s.Records);
    public long BytesRaw => Streams.Sum(s => s.BytesRaw);
    public long BytesStored => Streams.Sum(s => s.BytesStored);
    public long? Earliest => Streams.Where(s => s.EarliestMs is not null).Select(s => s.EarliestMs).Min();
    public long? Latest => Streams.Where(s => s.LatestMs is not null).Select(s => s.LatestMs).Max();
    public int Gaps => Streams.Sum(s => s.Gaps);
}

public sealed record StatusReport(string Store, StoreDescriptor? Descriptor, IReadOnlyList<TopicStatus> Topics, IReadOnlyList<StoredObject> Orphans,
    int GroupSnapshots, IReadOnlyList<string> Notes);

/// <summary><c>mesh backup status</c>: what the store covers, from its catalog alone (no segment is read).</summary>
public static class BackupStatus
{
    public static async Task<StatusReport> RunAsync(string storeSpec, string? topic, Func<BackupRegions>? openRegions, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var store = BackupCommandStore.Open(storeSpec);
        var catalog = await BackupCommandStore.LoadAsync(store, topic, cancellationToken);
        if (topic is not null && catalog.Topics.All(t => t.Topic != topic))
            throw new MeshCommandException($"The backup in {store.Description} holds no topic '{topic}'.", 2);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var notes = new List<string>();
        var live = openRegions is null ? null : LiveEnds(openRegions, catalog, notes);
        var topics = catalog.Topics.OrderBy(t => t.Topic, StringComparer.Ordinal).Select(t => new TopicStatus(t.Topic,
            [.. t.Streams.OrderBy(s => s.Stream.Partition).ThenBy(s => s.Stream.OriginRegion, StringComparer.Ordinal).ThenBy(s => s.Stream.OriginIncarnation, StringComparer.Ordinal)
                .Select(s => Stream(s, now, live))],
            t.Configs.Count)).ToList();
        return new StatusReport(store.Description, catalog.Descriptor, topics, catalog.Orphans, catalog.Groups.Count, notes);
    }

    private static StreamStatus Stream(CatalogStream stream, long now, Dictionary<(string Region, string Incarnation, string Topic, int Partition), long>? live)
    {
        var entries = stream.Entries;
        var s = stream.Stream;
        var last = entries.Count == 0 ? -1 : entries[^1].LastOffset;
        long? behind = live is not null && live.TryGetValue((s.OriginRegion, s.OriginIncarnation, s.Topic, s.Partition), out var end) ? Math.Max(0, end - (last + 1)) : null;
        return new StreamStatus(s.Partition, s.OriginRegion, s.OriginIncarnation,
            entries.Count == 0 ? 0 : entries[0].FirstOffset, last,
            entries.Count == 0 ? null : entries.Min(e => e.MinTimestampMs),
            entries.Count == 0 ? null : entries.Max(e => e.MaxTimestampMs),
            entries.Sum(e => (long)e.Records), entries.Sum(e => e.RawBytes), entries.Sum(e => e.StoredBytes),
            entries.Count(e => e.GapBefore is not null), entries.Sum(e => e.GapBefore?.Count ?? 0), entries.Count,
            entries.Count == 0 ? null : now - entries.Max(e => e.WrittenAtMs), behind);
    }

    /// <summary>Each live region's end offset per partition of the backed-up topics, keyed by its current incarnation.</summary>
    private static Dictionary<(string, string, string, int), long> LiveEnds(Func<BackupRegions> openRegions, BackupCatalog catalog, List<string> notes)
    {
        var ends = new Dictionary<(string, string, string, int), long>();
        BackupRegions regions;
        try
        {
            regions = openRegions();
        }
        catch (MeshCommandException e)
        {
            notes.Add($"live regions not compared: {e.Message}");
            return ends;
        }
        using (regions)
        {
            foreach (var region in regions.Regions)
            {
                try
                {
                    var (incarnation, topics) = regions.Describe(region);
                    using var log = new PartitionLog(region);
                    foreach (var topic in catalog.Topics)
                    {
                        if (!topics.TryGetValue(topic.Topic, out var partitions)) continue;
                        for (var p = 0; p < partitions; p++) ends[(region.Id, incarnation, topic.Topic, p)] = log.Watermarks(topic.Topic, p).High;
                    }
                }
                catch (MeshCommandException e)
                {
                    notes.Add($"{region.Id} did not answer: {e.Message}");
                }
            }
        }
        return ends;
    }
}
