using Mesh.Core.Backup;
using Mesh.Core.Backup.Archiving;
using Mesh.Core.Tests.Backup;

namespace Mesh.Core.Tests.Backup.Archiving;

/// <summary>The chains as the simulated regions' archivers see them: each region has its own view of each stream's end.</summary>
internal interface ISimulatedChains
{
    AppendResult Append(string region, PendingSegment segment);

    /// <summary>Reads the stream's end again for <paramref name="region"/>; returns its next offset.</summary>
    long Refresh(string region, BackupStream stream);

    /// <summary>The region's archiver restarted: it knows nothing until it reads again.</summary>
    void Forget(string region);

    IReadOnlyList<BackupRecord> Records(BackupStream stream);

    /// <summary>The gaps the stream's chain records.</summary>
    IReadOnlyList<BackupGap> Gaps(BackupStream stream);
}

/// <summary><see cref="FakeChains"/> with a known sequence number per region and stream.</summary>
internal sealed class FakeSimulatedChains : ISimulatedChains
{
    private readonly FakeChains _chains = new();
    private readonly Dictionary<(string, BackupStream), long> _known = [];

    public AppendResult Append(string region, PendingSegment segment)
    {
        var result = _chains.Append(segment, _known.GetValueOrDefault((region, segment.Stream)), region);
        _known[(region, segment.Stream)] = _chains.Entries(segment.Stream).Count;
        return result;
    }

    public long Refresh(string region, BackupStream stream)
    {
        _known[(region, stream)] = _chains.Entries(stream).Count;
        return _chains.Next(stream);
    }

    public void Forget(string region)
    {
        foreach (var key in _known.Keys.Where(k => k.Item1 == region).ToArray()) _known.Remove(key);
    }

    public IReadOnlyList<BackupRecord> Records(BackupStream stream) => _chains.Records(stream);

    public IReadOnlyList<BackupGap> Gaps(BackupStream stream) => [.. _chains.Entries(stream).Select(e => e.GapBefore).OfType<BackupGap>()];
}

/// <summary>The real thing: a <see cref="StreamChain"/> per region and stream over one in-memory store, segments encoded and read back.</summary>
internal sealed class StoreSimulatedChains(TimeProvider time) : ISimulatedChains
{
    private readonly InMemoryBackupStore _store = new();
    private readonly Dictionary<(string, BackupStream), StreamChain> _chains = [];

    private StreamChain Chain(string region, BackupStream stream)
    {
        if (!_chains.TryGetValue((region, stream), out var chain))
            _chains[(region, stream)] = chain = StreamChain.LoadAsync(_store, stream, CancellationToken.None).GetAwaiter().GetResult();
        return chain;
    }

    public AppendResult Append(string region, PendingSegment segment) =>
        Chain(region, segment.Stream).AppendAsync(segment.Records, segment.Gap, region, null, time, CancellationToken.None).GetAwaiter().GetResult();

    public long Refresh(string region, BackupStream stream)
    {
        var chain = Chain(region, stream);
        chain.RefreshAsync(CancellationToken.None).GetAwaiter().GetResult();
        return chain.NextOffset;
    }

    public void Forget(string region)
    {
        foreach (var key in _chains.Keys.Where(k => k.Item1 == region).ToArray()) _chains.Remove(key);
    }

    public IReadOnlyList<BackupRecord> Records(BackupStream stream) =>
        [.. Entries(stream).SelectMany(e => BackupCatalog.ReadSegmentAsync(_store, stream, e, null, CancellationToken.None).GetAwaiter().GetResult().Records)];

    public IReadOnlyList<BackupGap> Gaps(BackupStream stream) => [.. Entries(stream).Select(e => e.GapBefore).OfType<BackupGap>()];

    private IReadOnlyList<ManifestEntry> Entries(BackupStream stream)
    {
        var catalog = BackupCatalog.LoadAsync(_store, stream.Topic, CancellationToken.None).GetAwaiter().GetResult();
        return catalog.Topics.SelectMany(t => t.Streams).FirstOrDefault(s => s.Stream == stream)?.Entries ?? [];
    }
}
