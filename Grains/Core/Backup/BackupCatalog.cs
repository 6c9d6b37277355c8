namespace Mesh.Core.Backup;

/// <summary>One stream as the catalog holds it: its manifest entries in sequence order.</summary>
public sealed record CatalogStream(BackupStream Stream, IReadOnlyList<ManifestEntry> Entries);

/// <summary>One backed-up topic: its configuration snapshots (oldest first) and its streams per partition.</summary>
public sealed record CatalogTopic(string Topic, IReadOnlyList<TopicConfigSnapshot> Configs, IReadOnlyList<CatalogStream> Streams);

/// <summary>
/// What a store holds, read from its listing and manifest entries (not from segments): the base of
/// status, verify, prune and restore. Reading a segment's records goes through <see cref="ReadSegmentAsync"/>.
/// </summary>
public sealed class BackupCatalog
{
    private BackupCatalog() { }

    public StoreDescriptor? Descriptor => throw new NotImplementedException();

    public IReadOnlyList<CatalogTopic> Topics => throw new NotImplementedException();

    /// <summary>Group snapshots (all groups, all topics), oldest first.</summary>
    public IReadOnlyList<GroupSnapshot> Groups => throw new NotImplementedException();

    /// <summary>Segment objects no manifest entry names (left by a writer that lost a race or died between the two writes).</summary>
    public IReadOnlyList<StoredObject> Orphans => throw new NotImplementedException();

    /// <summary>Loads the catalog of <paramref name="topic"/> (every topic when null).</summary>
    public static Task<BackupCatalog> LoadAsync(IBackupStore store, string? topic, CancellationToken cancellationToken) =>
        throw new NotImplementedException();

    /// <summary>Reads and decodes one segment, checking its SHA-256 against the entry first; throws <see cref="SegmentCorruptException"/> naming the object.</summary>
    public static Task<DecodedSegment> ReadSegmentAsync(IBackupStore store, BackupStream stream, ManifestEntry entry, SegmentKey? key,
        CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Writes a topic configuration snapshot (a new object; never overwrites).</summary>
    public static Task WriteTopicConfigAsync(IBackupStore store, TopicConfigSnapshot snapshot, CancellationToken cancellationToken) =>
        throw new NotImplementedException();

    /// <summary>Writes a group snapshot (a new object; never overwrites).</summary>
    public static Task WriteGroupSnapshotAsync(IBackupStore store, GroupSnapshot snapshot, CancellationToken cancellationToken) =>
        throw new NotImplementedException();

    /// <summary>Creates the store descriptor if there is none; checks an existing one (format, encryption key id) and throws <see cref="BackupStoreException"/> on a mismatch.</summary>
    public static Task<StoreDescriptor> EnsureDescriptorAsync(IBackupStore store, SegmentKey? key, TimeProvider time, CancellationToken cancellationToken) =>
        throw new NotImplementedException();
}
