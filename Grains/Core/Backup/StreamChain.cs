namespace Mesh.Core.Backup;

/// <summary>What became of an append.</summary>
/// <param name="Entry">The entry written (null when another writer took the sequence number first).</param>
/// <param name="Tip">The chain's last entry after the attempt: the caller drops its records at or below <c>Tip.LastOffset</c> and goes on.</param>
public sealed record AppendResult(ManifestEntry? Entry, ManifestEntry? Tip)
{
    public bool Appended => Entry is not null;
}

/// <summary>
/// The chain of segments of one backup stream, as one writer sees it. Append writes the segment
/// (unique name), then creates the manifest entry for the next sequence number; if another writer
/// created that entry first, the segment just written is deleted, the chain re-read and the result
/// says where it now ends. So any number of writers (a region and the one that took over from it) can
/// append to one stream with no record stored twice.
/// </summary>
public sealed class StreamChain
{
    private StreamChain() { }

    public BackupStream Stream => throw new NotImplementedException();

    /// <summary>The last committed entry, null for an empty stream.</summary>
    public ManifestEntry? Tip => throw new NotImplementedException();

    /// <summary>The next origin offset the stream expects (0 for an empty stream... or the tip's last + 1).</summary>
    public long NextOffset => throw new NotImplementedException();

    /// <summary>Reads the stream's manifest from the store.</summary>
    public static Task<StreamChain> LoadAsync(IBackupStore store, BackupStream stream, CancellationToken cancellationToken) =>
        throw new NotImplementedException();

    /// <summary>Re-reads the manifest's end (entries after the known tip).</summary>
    public Task RefreshAsync(CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>
    /// Appends <paramref name="records"/> (origin order, all above <see cref="NextOffset"/> - 1; the first
    /// above <see cref="NextOffset"/> only with <paramref name="gap"/> describing the missing range).
    /// </summary>
    public Task<AppendResult> AppendAsync(IReadOnlyList<BackupRecord> records, BackupGap? gap, string writer, SegmentKey? key,
        TimeProvider time, CancellationToken cancellationToken) => throw new NotImplementedException();
}
