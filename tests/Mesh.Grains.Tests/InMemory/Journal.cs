using Mesh.Core.Replication;

namespace Mesh.Grains.Tests.InMemory;

/// <summary>Something a grain did through a port, numbered in the order it happened across the whole world.</summary>
public abstract record PortEvent
{
    public long Sequence { get; init; }
}

/// <summary>A replicator started reading a source partition.</summary>
public sealed record FeedOpened(string Source, string Topic, int Partition, long StartOffset) : PortEvent;

/// <summary>A replicator stopped reading a source partition (its feed was disposed).</summary>
public sealed record FeedClosed(string Source, string Topic, int Partition) : PortEvent;

/// <summary>Records written to the local region, with the provenance each carried.</summary>
public sealed record DestinationWritten(string Topic, int Partition, long FirstOffset, IReadOnlyList<Provenance> Records) : PortEvent;

/// <summary>A replicator asked for its checkpoint (the first step of every recovery).</summary>
public sealed record CheckpointRead(string Key) : PortEvent;

public sealed record CheckpointWritten(string Key, ReplicationCheckpoint Checkpoint) : PortEvent;

/// <summary>Exactly-once mode: a replicator's transactional producer registered its id.</summary>
public sealed record TransactionsInitialised(string TransactionalId) : PortEvent;

/// <summary>A commit: the records it made visible (one write per partition it wrote) and the checkpoint that landed with them.</summary>
public sealed record TransactionCommitted(string TransactionalId, IReadOnlyList<DestinationWritten> Writes, string CheckpointKey, ReplicationCheckpoint Checkpoint) : PortEvent
{
    public int Records => Writes.Sum(w => w.Records.Count);
}

public sealed record TransactionAborted(string TransactionalId, int Records) : PortEvent;

/// <summary>A commit the test made fail (<see cref="MeshWorld.FailCommits"/>); the replicator aborts it next.</summary>
public sealed record TransactionFailed(string TransactionalId) : PortEvent;

/// <summary>A topology grain read a region's persisted topology (its own on activation, a peer's when checking for newer versions).</summary>
public sealed record TopologyRead(string Region, string ReadBy) : PortEvent;

public sealed record TopologyWritten(string Region, long Version) : PortEvent;

/// <summary>Every <see cref="PortEvent"/> of one world, in order.</summary>
public sealed class Journal
{
    private readonly List<PortEvent> _events = [];
    private readonly Lock _gate = new();

    public T Add<T>(T happened) where T : PortEvent
    {
        lock (_gate)
        {
            var numbered = happened with { Sequence = _events.Count + 1 };
            _events.Add(numbered);
            return (T)numbered;
        }
    }

    /// <summary>The sequence number the next event gets: a mark to look after.</summary>
    public long Mark
    {
        get { lock (_gate) return _events.Count + 1; }
    }

    public List<T> OfType<T>(long since = 0) where T : PortEvent
    {
        lock (_gate) return [.. _events.OfType<T>().Where(e => e.Sequence >= since)];
    }
}
