using Mesh.Core.Replication;
using Mesh.Grains.Ports;

namespace Mesh.Grains.Tests.InMemory;

/// <summary>
/// Transactions as a read_committed reader sees them: a transaction's records and its checkpoint are held aside and
/// land together at its commit; an abort drops both. Kafka gives records their offsets when they are written, not at
/// the commit; here transactions into one partition take turns (a write waits for the partition's open transaction to
/// end), so the offsets <see cref="InMemoryTransaction.WriteAsync"/> returns are the ones the records get, as long as
/// nothing but transactions writes the partition. Markers take no offset here.
/// </summary>
public sealed class InMemoryTransactions(MeshWorld world) : IDestinationTransactions
{
    public ITransactionalDestination Open(string region, string topic, string transactionalId)
    {
        if (region != world.LocalRegion)
            throw new ReplicationFailedException($"exactly-once writes go into the region that holds the checkpoints ({world.LocalRegion}), not {region}");
        return new InMemoryTransaction(world, region, transactionalId);
    }
}

public sealed class InMemoryTransaction(MeshWorld world, string region, string transactionalId) : ITransactionalDestination
{
    private readonly List<(string Topic, int Partition, IReadOnlyList<OutboundRecord> Records)> _pending = [];
    private readonly List<SemaphoreSlim> _held = [];
    private bool _initialised, _open;
    private long _committed, _aborted;

    public string TransactionalId => transactionalId;

    public long Committed => _committed;

    public long Aborted => _aborted;

    public Task InitAsync(CancellationToken cancellationToken)
    {
        _initialised = true;
        world.Journal.Add(new TransactionsInitialised(transactionalId));
        return Task.CompletedTask;
    }

    public Task BeginAsync(CancellationToken cancellationToken)
    {
        if (!_initialised || _open) throw new InvalidOperationException($"{transactionalId}: begin without init, or inside a transaction");
        _open = true;
        return Task.CompletedTask;
    }

    public async Task<long> WriteAsync(string topic, int partition, IReadOnlyList<OutboundRecord> records, CancellationToken cancellationToken)
    {
        if (!_open) throw new InvalidOperationException($"{transactionalId}: write outside a transaction");
        var turn = world.TransactionTurns.GetOrAdd($"{region}|{topic}|{partition}", _ => new SemaphoreSlim(1, 1));
        if (!_held.Contains(turn))
        {
            await turn.WaitAsync(cancellationToken);
            _held.Add(turn);
        }
        var pendingThere = _pending.Where(p => p.Topic == topic && p.Partition == partition).Sum(p => p.Records.Count);
        _pending.Add((topic, partition, records));
        return world.Kafka.Get(region, topic, partition).End + pendingThere + records.Count;
    }

    private void EndTurns()
    {
        foreach (var turn in _held) turn.Release();
        _held.Clear();
    }

    public Task CommitAsync(string checkpointKey, ReplicationCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        if (!_open) throw new InvalidOperationException($"{transactionalId}: commit outside a transaction");
        if (world.TakeCommitFailure())
        {
            world.Journal.Add(new TransactionFailed(transactionalId));
            throw new InvalidOperationException($"{transactionalId}: the commit failed (injected)");
        }
        var writes = new List<DestinationWritten>();
        foreach (var (topic, partition, records) in _pending)
        {
            var first = world.Kafka.Get(region, topic, partition).Append(records.Select(r => (r.Key, r.Value, r.TimestampMs, r.Headers)));
            writes.Add(world.Journal.Add(new DestinationWritten(topic, partition, first, [.. records.Select(r => r.Provenance)])));
        }
        world.Checkpoints[checkpointKey] = checkpoint.Encode();
        world.Journal.Add(new CheckpointWritten(checkpointKey, checkpoint));
        world.Journal.Add(new TransactionCommitted(transactionalId, writes, checkpointKey, checkpoint));
        _pending.Clear();
        EndTurns();
        _open = false;
        _committed++;
        return Task.CompletedTask;
    }

    public Task AbortAsync(CancellationToken cancellationToken)
    {
        if (!_open) return Task.CompletedTask;
        world.Journal.Add(new TransactionAborted(transactionalId, _pending.Sum(p => p.Records.Count)));
        _pending.Clear();
        EndTurns();
        _open = false;
        _aborted++;
        return Task.CompletedTask;
    }

    public void Dispose() => EndTurns();
}
