namespace Mesh.Core.Replication;

/// <summary>
/// The replication state of one partition on one link S -> D, and the per-record rule:
/// a record crosses only if D is not in its hops, the link carries its origin (the forwarding
/// policy), and D's origin vector has not seen it. Pure: the grain feeds it records and tells it
/// what was written.
/// </summary>
public sealed class PartitionReplication
{
    private readonly IForwardingPolicy _forwarding;

    public PartitionReplication(string source, string destination, int partition, IForwardingPolicy forwarding, ReplicationCheckpoint start)
    {
        if (!RegionIds.IsValid(source, out var reason)) throw new ArgumentException(reason, nameof(source));
        if (!RegionIds.IsValid(destination, out reason)) throw new ArgumentException(reason, nameof(destination));
        if (source == destination) throw new ArgumentException($"a link cannot replicate region '{source}' into itself");
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        Source = source;
        Destination = destination;
        Partition = partition;
        _forwarding = forwarding;
        NextSourceOffset = start.NextSourceOffset;
        Vector = start.Vector.Clone();
        DestinationEndOffset = start.DestinationEndOffset;
    }

    public string Source { get; }
    public string Destination { get; }
    public int Partition { get; }

    /// <summary>The next offset to read from the source partition.</summary>
    public long NextSourceOffset { get; private set; }

    public OriginVector Vector { get; }

    /// <summary>End offset of the destination partition after the last write this replicator saw.</summary>
    public long DestinationEndOffset { get; private set; }

    public ReplicationCheckpoint Checkpoint() => new(NextSourceOffset, Vector.Clone(), DestinationEndOffset);

    /// <summary>Decides one record against a given vector (the live one, or a batch's working copy).</summary>
    public ReplicationDecision Decide(SourceRecord record, OriginVector vector)
    {
        Provenance? provenance = null;
        foreach (var header in record.Headers)
        {
            if (header.Name != ProvenanceCodec.HeaderName) continue;
            if (provenance is not null)
                return new(DecisionKind.Reject, null, $"offset {record.Offset}: more than one '{ProvenanceCodec.HeaderName}' header");
            if (!ProvenanceCodec.TryDecode(header.Value, out provenance, out var why))
                return new(DecisionKind.Reject, null, $"offset {record.Offset}: malformed '{ProvenanceCodec.HeaderName}' header: {why}");
        }

        // A record without provenance was produced in the source region itself: this is its first hop.
        provenance ??= Provenance.Local(Source, Partition, record.Offset, record.TimestampMs);
        if (!provenance.HasVisited(Source))
            return new(DecisionKind.Reject, null, $"offset {record.Offset}: provenance hops {string.Join(',', provenance.Hops)} do not include the region it was read from ('{Source}')");

        if (provenance.HasVisited(Destination)) return ReplicationDecision.Skip(DecisionKind.SkipLoop);
        if (!_forwarding.ShouldForward(provenance.OriginRegion, Source, Destination)) return ReplicationDecision.Skip(DecisionKind.SkipNotOnRoute);
        if (vector.HasApplied(provenance.OriginRegion, provenance.OriginOffset)) return ReplicationDecision.Skip(DecisionKind.SkipAlreadyApplied);

        var headers = new List<RecordHeader>(record.Headers.Count + 1);
        foreach (var header in record.Headers)
            if (header.Name != ProvenanceCodec.HeaderName) headers.Add(header);
        var arrived = provenance.ArrivedAt(Destination);
        headers.Add(new RecordHeader(ProvenanceCodec.HeaderName, ProvenanceCodec.Encode(arrived)));
        return new(DecisionKind.Forward, new OutboundRecord(record.Key, record.Value, record.TimestampMs, headers, arrived, record.Offset), null);
    }

    /// <summary>
    /// Plans a batch of consecutive source records: what to write, what was skipped, and where a
    /// malformed record stops the partition. Nothing changes until <see cref="Commit"/>.
    /// </summary>
    public BatchPlan Plan(IReadOnlyList<SourceRecord> records)
    {
        var working = Vector.Clone();
        var plan = new BatchPlan();
        var next = NextSourceOffset;
        foreach (var record in records)
        {
            if (record.Offset < next) continue; // re-delivered by the reader; already planned or committed
            var decision = Decide(record, working);
            if (decision.Kind == DecisionKind.Reject)
            {
                plan.Rejection = decision.Reason;
                break;
            }
            if (decision.Kind == DecisionKind.Forward)
            {
                var outbound = decision.Outbound!;
                working.Advance(outbound.Provenance.OriginRegion, outbound.Provenance.OriginOffset);
                plan.Outbound.Add(outbound);
            }
            else
            {
                plan.Skipped[decision.Kind] = plan.Skipped.GetValueOrDefault(decision.Kind) + 1;
            }
            next = record.Offset + 1;
        }
        plan.NextSourceOffset = next;
        return plan;
    }

    /// <summary>Records that a planned batch was written; <paramref name="destinationEndOffset"/> is the last written offset + 1.</summary>
    public void Commit(BatchPlan plan, long destinationEndOffset)
    {
        foreach (var outbound in plan.Outbound)
            Vector.Advance(outbound.Provenance.OriginRegion, outbound.Provenance.OriginOffset);
        NextSourceOffset = Math.Max(NextSourceOffset, plan.NextSourceOffset);
        DestinationEndOffset = Math.Max(DestinationEndOffset, destinationEndOffset);
    }

    /// <summary>The destination was read back up to <paramref name="endOffset"/>; recovery need not read it again.</summary>
    public void ObservedUpTo(long endOffset) => DestinationEndOffset = Math.Max(DestinationEndOffset, endOffset);

    /// <summary>Folds in provenance found in the destination after the last checkpoint (crash recovery).</summary>
    public void Observe(Provenance applied, long destinationOffset)
    {
        Vector.Advance(applied.OriginRegion, applied.OriginOffset);
        DestinationEndOffset = Math.Max(DestinationEndOffset, destinationOffset + 1);
    }
}

public sealed class BatchPlan
{
    public List<OutboundRecord> Outbound { get; } = [];
    public Dictionary<DecisionKind, int> Skipped { get; } = [];

    /// <summary>Source offset after the last record this plan covers.</summary>
    public long NextSourceOffset { get; set; }

    /// <summary>Why the partition must stop at <see cref="NextSourceOffset"/>, when a record was malformed.</summary>
    public string? Rejection { get; set; }
}
