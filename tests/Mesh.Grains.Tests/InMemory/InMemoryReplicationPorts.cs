using Mesh.Core.Replication;
using Mesh.Grains.Ports;

namespace Mesh.Grains.Tests.InMemory;

/// <summary>Reads the peer regions' partitions straight from the in-memory Kafka.</summary>
public sealed class InMemorySourceFeeds(MeshWorld world) : ISourceFeeds
{
    public ISourcePartitionFeed Open(string sourceRegion, string topic, int partition, long startOffset)
    {
        world.Kafka.Get(sourceRegion, topic, partition);
        world.Journal.Add(new FeedOpened(sourceRegion, topic, partition, startOffset));
        return new Feed(world, sourceRegion, topic, partition, startOffset);
    }

    public Task<SourceRecord?> ReadOneAsync(string sourceRegion, string topic, int partition, long offset, CancellationToken cancellationToken) =>
        Task.FromResult(world.Kafka.Get(sourceRegion, topic, partition).At(offset));

    public Task<SourceWatermarks> GetWatermarksAsync(string sourceRegion, string topic, int partition, CancellationToken cancellationToken) =>
        Task.FromResult(new SourceWatermarks(0, world.Kafka.Get(sourceRegion, topic, partition).End));

    /// <summary>
    /// One replicator's reader: no gaps (nothing expires here) and no errors. Like a Kafka consumer it
    /// reads whatever cluster the region has now, at its position: a log that ends before that position
    /// (the region's Kafka replaced, or records lost) is reported as <see cref="LogEndedBefore"/>.
    /// </summary>
    private sealed class Feed(MeshWorld world, string region, string topic, int partition, long startOffset) : ISourcePartitionFeed
    {
        private long _next = startOffset;
        private bool _disposed;

        private PartitionLog? Log => world.Kafka.Find(region, topic, partition);

        public async ValueTask<bool> WaitForRecordsAsync(TimeSpan maxWait, CancellationToken cancellationToken) =>
            Log is { } log && await log.WaitBeyondAsync(_next, maxWait, cancellationToken);

        private int _wakeVersion;

        // Waits on the log as a reader thread would; a wait whose registration was replaced or dropped calls no one.
        public void WakeWhenReady(Action wake)
        {
            var version = Interlocked.Increment(ref _wakeVersion);
            if (Log is { } log) _ = WakeAsync(log, _next, version, wake);
        }

        private async Task WakeAsync(PartitionLog log, long next, int version, Action wake)
        {
            await log.WaitBeyondAsync(next, TimeSpan.FromSeconds(10), CancellationToken.None);
            if (Volatile.Read(ref _wakeVersion) == version && !_disposed) wake();
        }

        public int Drain(List<SourceRecord> into, int max, out SourceGap? gap)
        {
            gap = null;
            var records = Log?.Read(_next, _next + max) ?? [];
            into.AddRange(records);
            _next += records.Count;
            return records.Count;
        }

        public long? HighWatermark => Log?.End;
        public long? Position => _next;
        public long? LogEndedBefore => Log is { } log && log.End < _next ? log.End : null;
        public string? Failure => null;
        public string? Error => null;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            Interlocked.Increment(ref _wakeVersion);
            world.Journal.Add(new FeedClosed(region, topic, partition));
        }
    }
}

/// <summary>Destination logs by region: the local one, or a push link's destination.</summary>
public sealed class InMemoryDestinationLogs(MeshWorld world) : IDestinationLogs
{
    public IDestinationLog For(string region) => new InMemoryDestinationLog(world, region);
}

/// <summary>One region's partitions in the in-memory Kafka; writes store records as the Kafka producer would send them.</summary>
public sealed class InMemoryDestinationLog(MeshWorld world, string region) : IDestinationLog
{
    public InMemoryDestinationLog(MeshWorld world) : this(world, world.LocalRegion)
    {
    }

    private PartitionLog Log(string topic, int partition) => world.Kafka.Get(region, topic, partition);

    public Task<long> GetEndOffsetAsync(string topic, int partition, CancellationToken cancellationToken) =>
        Task.FromResult(Log(topic, partition).End);

    public Task<SourceWatermarks> GetWatermarksAsync(string topic, int partition, CancellationToken cancellationToken) =>
        Task.FromResult(new SourceWatermarks(0, Log(topic, partition).End));

    public Task ScanAsync(string topic, int partition, long fromOffset, long toOffset, Action<SourceRecord> onRecord, CancellationToken cancellationToken)
    {
        foreach (var record in Log(topic, partition).Read(fromOffset, toOffset)) onRecord(record);
        return Task.CompletedTask;
    }

    public Task<long> WriteAsync(string topic, int partition, IReadOnlyList<OutboundRecord> records, CancellationToken cancellationToken)
    {
        if (records.Count == 0) throw new ArgumentException("a write needs at least one record", nameof(records));
        var log = Log(topic, partition);
        // Key, value, the record's timestamp as create time, and its headers: what the Kafka destination log produces.
        var first = log.Append(records.Select(r => (r.Key, r.Value, r.TimestampMs, r.Headers)));
        world.Journal.Add(new DestinationWritten(topic, partition, first, [.. records.Select(r => r.Provenance)]));
        return Task.FromResult(first + records.Count);
    }
}

/// <summary>Topic metadata of every region in the in-memory Kafka.</summary>
public sealed class InMemoryTopicCatalog(MeshWorld world) : ITopicCatalog
{
    public Task<IReadOnlyDictionary<string, int>> ListTopicsAsync(string region, CancellationToken cancellationToken) =>
        Task.FromResult(world.Kafka.Topics(region));

    public Task CreateTopicAsync(string region, string topic, int partitions, IReadOnlyDictionary<string, string>? configs, CancellationToken cancellationToken)
    {
        world.Kafka.CreateTopic(region, topic, partitions, configs);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyDictionary<string, string>?> GetTopicConfigsAsync(string region, string topic, CancellationToken cancellationToken) =>
        Task.FromResult(world.Kafka.Topics(region).ContainsKey(topic) ? new Dictionary<string, string>() : (IReadOnlyDictionary<string, string>?)null);
}

/// <summary>Checkpoints kept encoded, as the compacted Kafka topic keeps them, so every read decodes what was written.</summary>
public sealed class InMemoryCheckpointStore(MeshWorld world) : ICheckpointStore
{
    public Task<ReplicationCheckpoint?> ReadAsync(string key, CancellationToken cancellationToken)
    {
        world.Journal.Add(new CheckpointRead(key));
        if (!world.Checkpoints.TryGetValue(key, out var text)) return Task.FromResult<ReplicationCheckpoint?>(null);
        if (!ReplicationCheckpoint.TryDecode(text, out var checkpoint, out var reason))
            throw new InvalidOperationException($"checkpoint '{key}' does not decode: {reason} ({text})");
        return Task.FromResult(checkpoint);
    }

    public Task WriteAsync(string key, ReplicationCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        world.Checkpoints[key] = checkpoint.Encode();
        world.Journal.Add(new CheckpointWritten(key, checkpoint));
        return Task.CompletedTask;
    }

    // Claims land in one log shared by every silo of the world and are read at once: every tail is always fresh.
    public Task<Claim> ClaimAsync(string key, string holder, CancellationToken cancellationToken)
    {
        lock (world.Claims)
        {
            var epoch = world.NextClaimOffset++;
            world.Claims.Apply(Fencing.ClaimKey(key), epoch, Fencing.EncodeClaim(holder, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
            return Task.FromResult(world.Claims.Latest(key)!);
        }
    }

    public Task ReleaseAsync(string key, long epoch, string holder, CancellationToken cancellationToken)
    {
        lock (world.Claims) world.Claims.Apply(Fencing.ReleaseKey(key), world.NextClaimOffset++, Fencing.EncodeRelease(epoch, holder));
        return Task.CompletedTask;
    }

    public Task<ClaimView> OwnerAsync(string key, TimeSpan freshness, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        lock (world.Claims) return Task.FromResult(new ClaimView(world.Claims.Latest(key), TimeSpan.Zero));
    }
}

public sealed class InMemoryQuarantineStore(MeshWorld world) : IQuarantineStore
{
    public Task WriteAsync(QuarantineEntry entry, CancellationToken cancellationToken)
    {
        lock (world.Quarantine) world.Quarantine.Add(entry);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<StoredQuarantineEntry>> ReadAllAsync(CancellationToken cancellationToken)
    {
        lock (world.Quarantine)
            return Task.FromResult<IReadOnlyList<StoredQuarantineEntry>>(
                [.. world.Quarantine.Select((e, i) => new StoredQuarantineEntry(i, e, world.QuarantineReplayed.TryGetValue(i, out var at) ? at : null))]);
    }

    public Task MarkReplayedAsync(long quarantineOffset, long writtenOffset, CancellationToken cancellationToken)
    {
        lock (world.Quarantine) world.QuarantineReplayed[quarantineOffset] = DateTimeOffset.UtcNow;
        return Task.CompletedTask;
    }
}

/// <summary>Each region's incarnation as its in-memory cluster says now: a new one once a test replaced the region's Kafka.</summary>
public sealed class InMemoryRegionIdentity(MeshWorld world) : IRegionIdentity, IDisposable
{
    private readonly IncarnationWatch _watch = new(region => Task.FromResult(world.Kafka.Incarnation(region)), TimeProvider.System, TimeSpan.FromMilliseconds(200));

    public Task<string> IncarnationAsync(string region, CancellationToken cancellationToken, bool fresh = false) =>
        Task.FromResult(world.Kafka.Incarnation(region));

    public void WakeOnChange(string region, string incarnation, Action wake) => _watch.WakeOnChange(region, incarnation, wake);

    public void StopWaking(string region, Action wake) => _watch.StopWaking(region, wake);

    public void Dispose() => _watch.Dispose();
}

/// <summary>Ready from the start; the membership's version as the test cluster's silos see it (silos are stopped and added by tests).</summary>
public sealed class AlwaysReady(IClusterMembershipService membership) : IReplicationReadiness
{
    public bool IsReady => true;

    public long MembershipVersion => membership.CurrentSnapshot.Version.Value;
}
