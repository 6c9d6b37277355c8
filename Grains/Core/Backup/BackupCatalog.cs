using System.Collections.Concurrent;

namespace Mesh.Core.Backup;

/// <summary>One stream as the catalog holds it: its manifest entries in sequence order.</summary>
public sealed record CatalogStream(BackupStream Stream, IReadOnlyList<ManifestEntry> Entries);

/// <summary>One backed-up topic: its configuration snapshots (oldest first) and its streams per partition.</summary>
public sealed record CatalogTopic(string Topic, IReadOnlyList<TopicConfigSnapshot> Configs, IReadOnlyList<CatalogStream> Streams);

/// <summary>A manifest entry whose segment object is not in the store's listing (verify reports it; a restore that needs it fails).</summary>
public sealed record MissingSegment(BackupStream Stream, ManifestEntry Entry, string Name);

/// <summary>
/// What a store holds, read from its listing and manifest entries (not from segments): the base of
/// status, verify, prune and restore. Reading a segment's records goes through <see cref="ReadSegmentAsync"/>.
/// </summary>
public sealed class BackupCatalog
{
    // Manifest entries and snapshots are small objects: read several at once (an object store's
    // latency, not its bandwidth, is what a catalog load waits on).
    private const int ParallelReads = 16;

    private BackupCatalog(StoreDescriptor? descriptor, IReadOnlyList<CatalogTopic> topics, IReadOnlyList<GroupSnapshot> groups,
        IReadOnlyList<StoredObject> orphans, IReadOnlyList<MissingSegment> missing)
    {
        Descriptor = descriptor;
        Topics = topics;
        Groups = groups;
        Orphans = orphans;
        MissingSegments = missing;
    }

    public StoreDescriptor? Descriptor { get; }

    public IReadOnlyList<CatalogTopic> Topics { get; }

    /// <summary>Group snapshots (all groups, all topics), oldest first.</summary>
    public IReadOnlyList<GroupSnapshot> Groups { get; }

    /// <summary>Segment objects no manifest entry names (left by a writer that lost a race or died between the two writes).</summary>
    public IReadOnlyList<StoredObject> Orphans { get; }

    /// <summary>Manifest entries whose segment object is not in the store.</summary>
    public IReadOnlyList<MissingSegment> MissingSegments { get; }

    /// <summary>The topic's entry, or null when the store holds nothing of it.</summary>
    public CatalogTopic? Topic(string topic) => Topics.FirstOrDefault(t => t.Topic == topic);

    /// <summary>Loads the catalog of <paramref name="topic"/> (every topic when null).</summary>
    public static async Task<BackupCatalog> LoadAsync(IBackupStore store, string? topic, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (topic is not null && (topic.Length == 0 || topic.Contains('/')))
            throw new ArgumentException($"\"{topic}\" is not a topic name", nameof(topic));

        var descriptorBytes = await store.ReadAsync(BackupLayout.DescriptorName, cancellationToken);
        var descriptor = descriptorBytes is null
            ? null
            : BackupJson.Deserialize<StoreDescriptor>(descriptorBytes, BackupLayout.DescriptorName, store.Description);

        var topicPrefix = topic is null ? BackupLayout.TopicsPrefix : $"{BackupLayout.TopicsPrefix}{topic}/";
        var listing = await store.ListAsync(topicPrefix, cancellationToken);

        var configNames = new List<string>();
        var manifestNames = new List<(BackupStream Stream, long Sequence, string Name)>();
        var segments = new List<(BackupStream Stream, string Relative, StoredObject Object)>();
        foreach (var stored in listing)
        {
            if (BackupLayout.ParseTopicConfigName(stored.Name) is not null)
            {
                configNames.Add(stored.Name);
            }
            else if (BackupLayout.TryParseStreamObject(stored.Name, out var stream, out var relative))
            {
                if (BackupLayout.ParseManifestSequence(relative) is { } sequence) manifestNames.Add((stream, sequence, stored.Name));
                else if (BackupLayout.ParseSegmentName(relative) is not null) segments.Add((stream, relative, stored));
            }
        }

        var configs = await ReadAllAsync<TopicConfigSnapshot>(store, configNames, cancellationToken);
        var entries = await ReadAllAsync<ManifestEntry>(store, manifestNames.Select(m => m.Name).ToList(), cancellationToken);

        var byStream = new Dictionary<BackupStream, List<ManifestEntry>>();
        for (var i = 0; i < manifestNames.Count; i++)
        {
            var (stream, sequence, name) = manifestNames[i];
            var entry = entries[i];
            if (entry.Sequence != sequence)
                throw new BackupStoreException($"{store.Description}: {name} holds sequence number {entry.Sequence}");
            if (!byStream.TryGetValue(stream, out var list)) byStream[stream] = list = [];
            list.Add(entry);
        }

        var named = new HashSet<(BackupStream, string)>();
        var missing = new List<MissingSegment>();
        var present = segments.Select(s => (s.Stream, s.Relative)).ToHashSet();
        foreach (var (stream, list) in byStream)
        {
            list.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
            foreach (var entry in list)
            {
                named.Add((stream, entry.Segment));
                if (!present.Contains((stream, entry.Segment)))
                    missing.Add(new MissingSegment(stream, entry, BackupLayout.StreamFolder(stream) + entry.Segment));
            }
        }
        var orphans = segments.Where(s => !named.Contains((s.Stream, s.Relative))).Select(s => s.Object).ToList();

        var topicNames = byStream.Keys.Select(s => s.Topic)
            .Concat(configNames.Select(n => BackupLayout.ParseTopicConfigName(n)!))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal);
        var topics = topicNames.Select(name => new CatalogTopic(
                name,
                configs.Where(c => c.Topic == name).OrderBy(c => c.TakenAtMs).ThenBy(c => c.Region, StringComparer.Ordinal).ToList(),
                byStream.Where(kv => kv.Key.Topic == name)
                    .OrderBy(kv => kv.Key.Partition)
                    .ThenBy(kv => kv.Key.OriginRegion, StringComparer.Ordinal)
                    .ThenBy(kv => kv.Key.OriginIncarnation, StringComparer.Ordinal)
                    .Select(kv => new CatalogStream(kv.Key, kv.Value))
                    .ToList()))
            .ToList();

        var groupListing = await store.ListAsync(BackupLayout.GroupsPrefix, cancellationToken);
        var groupNames = groupListing.Where(o => o.Name.EndsWith(".json", StringComparison.Ordinal)).Select(o => o.Name).ToList();
        var groups = (await ReadAllAsync<GroupSnapshot>(store, groupNames, cancellationToken))
            .Where(g => topic is null || g.Topic == topic)
            .OrderBy(g => g.TakenAtMs)
            .ThenBy(g => g.Group, StringComparer.Ordinal)
            .ThenBy(g => g.Topic, StringComparer.Ordinal)
            .ThenBy(g => g.Partition)
            .ThenBy(g => g.Region, StringComparer.Ordinal)
            .ToList();

        return new BackupCatalog(descriptor, topics, groups, orphans, missing);
    }

    /// <summary>Reads and decodes one segment, checking its SHA-256 against the entry first; throws <see cref="SegmentCorruptException"/> naming the object.</summary>
    public static async Task<DecodedSegment> ReadSegmentAsync(IBackupStore store, BackupStream stream, ManifestEntry entry, SegmentKey? key,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(entry);
        var name = BackupLayout.StreamFolder(stream) + entry.Segment;
        var bytes = await store.ReadAsync(name, cancellationToken)
            ?? throw new SegmentCorruptException($"segment {name} (#{entry.Sequence} of {stream}, offsets {entry.FirstOffset}..{entry.LastOffset}) is missing from {store.Description}", name);
        var (sha, checksumHolds) = SegmentCodec.Digest(bytes);
        if (sha != entry.Sha256)
            throw new SegmentCorruptException($"segment {name} in {store.Description}: SHA-256 {sha} does not match the manifest's {entry.Sha256} ({bytes.Length} bytes stored, {entry.StoredBytes} written)", name);
        DecodedSegment decoded;
        try
        {
            decoded = SegmentCodec.Decode(bytes, key, checksumVerified: checksumHolds);
        }
        catch (SegmentCorruptException e)
        {
            throw new SegmentCorruptException($"segment {name} in {store.Description}: {e.Message}", name);
        }
        var header = decoded.Header;
        if (header.Stream != stream || header.Sequence != entry.Sequence || header.FirstOffset != entry.FirstOffset
            || header.LastOffset != entry.LastOffset || header.RecordCount != entry.Records)
            throw new SegmentCorruptException(
                $"segment {name} in {store.Description} holds {header.Stream} #{header.Sequence} offsets {header.FirstOffset}..{header.LastOffset} ({header.RecordCount} records), its manifest entry says {stream} #{entry.Sequence} offsets {entry.FirstOffset}..{entry.LastOffset} ({entry.Records} records)",
                name);
        return decoded;
    }

    /// <summary>Writes a topic configuration snapshot (a new object; never overwrites).</summary>
    public static Task WriteTopicConfigAsync(IBackupStore store, TopicConfigSnapshot snapshot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (string.IsNullOrEmpty(snapshot.Topic) || snapshot.Topic.Contains('/'))
            throw new ArgumentException($"\"{snapshot.Topic}\" is not a topic name", nameof(snapshot));
        // Sorted configs: the same snapshot always serializes to the same bytes.
        var canonical = snapshot with { Configs = new SortedDictionary<string, string>(snapshot.Configs.ToDictionary(), StringComparer.Ordinal) };
        var name = BackupLayout.TopicConfigName(snapshot.Topic, snapshot.TakenAtMs, snapshot.Region);
        return CreateOnceAsync(store, name, canonical, (a, b) =>
            a.Topic == b.Topic && a.Partitions == b.Partitions && a.Region == b.Region && a.TakenAtMs == b.TakenAtMs
            && a.Configs.Count == b.Configs.Count && a.Configs.All(kv => b.Configs.TryGetValue(kv.Key, out var v) && v == kv.Value), cancellationToken);
    }

    /// <summary>Writes a group snapshot (a new object; never overwrites).</summary>
    public static Task WriteGroupSnapshotAsync(IBackupStore store, GroupSnapshot snapshot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var name = BackupLayout.GroupSnapshotName(snapshot.Group, snapshot.Topic, snapshot.Partition, snapshot.TakenAtMs, snapshot.Region);
        return CreateOnceAsync(store, name, snapshot, (a, b) =>
            a.Group == b.Group && a.Topic == b.Topic && a.Partition == b.Partition && a.Region == b.Region
            && a.CommittedOffset == b.CommittedOffset && a.TakenAtMs == b.TakenAtMs && a.Marks.SequenceEqual(b.Marks), cancellationToken);
    }

    /// <summary>Creates the store descriptor if there is none; checks an existing one (format, encryption key id) and throws <see cref="BackupStoreException"/> on a mismatch.</summary>
    public static async Task<StoreDescriptor> EnsureDescriptorAsync(IBackupStore store, SegmentKey? key, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(time);
        var mine = new StoreDescriptor(SegmentCodec.Format, time.GetUtcNow().ToUnixTimeMilliseconds(), key?.Id);
        // Create first rather than read first: a store that does not exist yet (a new directory or
        // container) is made by the write, and of two silos starting at once one descriptor wins.
        if (await store.TryCreateAsync(BackupLayout.DescriptorName, BackupJson.Serialize(mine), cancellationToken)) return mine;
        var bytes = await store.ReadAsync(BackupLayout.DescriptorName, cancellationToken)
            ?? throw new BackupStoreException($"{store.Description}: {BackupLayout.DescriptorName} exists but cannot be read");
        var existing = BackupJson.Deserialize<StoreDescriptor>(bytes, BackupLayout.DescriptorName, store.Description);
        CheckDescriptor(store, existing, key);
        return existing;
    }

    /// <summary>Throws <see cref="BackupStoreException"/> when <paramref name="descriptor"/> is of another format or another key than <paramref name="key"/>.</summary>
    public static void CheckDescriptor(IBackupStore store, StoreDescriptor descriptor, SegmentKey? key)
    {
        if (descriptor.Format != SegmentCodec.Format)
            throw new BackupStoreException($"{store.Description} is a format {descriptor.Format} backup store; this version reads and writes format {SegmentCodec.Format}");
        if (descriptor.EncryptionKeyId == key?.Id) return;
        throw new BackupStoreException((descriptor.EncryptionKeyId, key?.Id) switch
        {
            (not null, null) => $"{store.Description} is encrypted (key id {descriptor.EncryptionKeyId}) and no key was given: set the variable the topology's backup.encryption-key-env names to that key",
            (null, not null) => $"{store.Description} is not encrypted but a key (id {key!.Id}) was given: remove backup.encryption-key-env, or back up encrypted into a new store",
            _ => $"{store.Description} is encrypted with key id {descriptor.EncryptionKeyId}, the given key is {key!.Id}: give the store's key, or back up with this key into a new store",
        });
    }

    private static async Task CreateOnceAsync<T>(IBackupStore store, string name, T value, Func<T, T, bool> same, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var bytes = BackupJson.Serialize(value);
        if (await store.TryCreateAsync(name, bytes, cancellationToken)) return;
        var existing = await store.ReadAsync(name, cancellationToken);
        if (existing is not null && existing.AsSpan().SequenceEqual(bytes)) return;
        if (existing is not null && same(BackupJson.Deserialize<T>(existing, name, store.Description), value)) return;
        throw new BackupStoreException($"{store.Description}: {name} already exists with different content; objects in a backup store are written once");
    }

    private static async Task<T[]> ReadAllAsync<T>(IBackupStore store, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var results = new T[names.Count];
        var vanished = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, names.Count),
            new ParallelOptions { MaxDegreeOfParallelism = ParallelReads, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var bytes = await store.ReadAsync(names[i], ct);
                if (bytes is null) vanished.Add(names[i]);
                else results[i] = BackupJson.Deserialize<T>(bytes, names[i], store.Description);
            });
        if (!vanished.IsEmpty)
            throw new BackupStoreException($"{store.Description}: {string.Join(", ", vanished.Order(StringComparer.Ordinal).Take(5))} vanished between listing and reading (a prune running at the same time?); load the catalog again");
        return results;
    }
}
