using Mesh.Core.Conflicts;
using Mesh.Core.Topology;

namespace Mesh.Core.Replication;

/// <summary>
/// The replication state of one partition on one link S -> D, and the per-record rule: a record's
/// identity is its trusted provenance, or (no header, or one the mesh cannot trust) the place it
/// was read in S; it crosses only if D is not in its hops, the link carries its origin, and D's
/// origin vector has not seen it; a repair record (a copy of a key's winner on an lww topic) never crosses.
/// Conflicts are otherwise not its concern: the grain drops planned writes that lose to what the destination
/// holds (<c>LwwRepairer.ShouldWrite</c>). After the link gained origins it re-reads what it had read before
/// (the <see cref="CatchUp"/>) and takes only the gained origins' records from it. Records the mesh
/// cannot take are held for the quarantine (or stop the partition, by policy); records the source
/// dropped before they were read are counted. Pure: the grain feeds it records and tells it what
/// was written.
/// </summary>
public sealed class PartitionReplication : IDisposable
{
    private readonly NamingPolicy _naming;
    private readonly string _separator;
    private readonly ReplicationPolicy _policy;
    private readonly ProvenanceSigner? _signer;
    // Source offsets the destination refused, to be held for the quarantine when planned again.
    private readonly Dictionary<long, string> _refused = [];

    /// <param name="sourceTopic">The topic as named in the source region.</param>
    /// <param name="destinationTopic">The same topic as named in the destination region (another name under prefix naming).</param>
    /// <param name="carried">The origins whose records the link carries; <paramref name="start"/> must have been
    /// taken while it carried them (or not say), see <see cref="ReplicationCheckpoint.Reassign"/>.</param>
    public PartitionReplication(string source, string destination, string sourceTopic, string destinationTopic, int partition,
        NamingPolicy naming, OriginSet carried, ReplicationPolicy policy, ReplicationCheckpoint start, string separator = TopicNaming.DefaultSeparator)
    {
        _separator = separator;
        if (!RegionIds.IsValid(source, out var reason)) throw new ArgumentException(reason, nameof(source));
        if (!RegionIds.IsValid(destination, out reason)) throw new ArgumentException(reason, nameof(destination));
        if (source == destination) throw new ArgumentException($"a link cannot replicate region '{source}' into itself");
        if (!TopicNames.IsValid(sourceTopic, out reason)) throw new ArgumentException(reason, nameof(sourceTopic));
        if (!TopicNames.IsValid(destinationTopic, out reason)) throw new ArgumentException(reason, nameof(destinationTopic));
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentOutOfRangeException.ThrowIfNegative(start.NextSourceOffset);
        // Its catch-up and vector were computed for what it carried then: a link that carries more
        // would skip the new origins' records it read before.
        if (start.Carried is { } was && !was.Equals(carried))
            throw new ArgumentException(
                $"the checkpoint of {source} -> {destination} {sourceTopic}/{partition} was taken while the link carried {was}, not {carried}: reassign the checkpoint first",
                nameof(start));
        Source = source;
        Destination = destination;
        Topic = sourceTopic;
        DestinationTopic = destinationTopic;
        Partition = partition;
        _naming = naming;
        Carried = carried;
        _policy = policy;
        _signer = policy.Keys?.CreateSigner();
        SourceIncarnation = start.SourceIncarnation;
        DestinationIncarnation = start.DestinationIncarnation;
        NextSourceOffset = start.NextSourceOffset;
        Vector = start.Vector.Clone();
        DestinationEndOffset = start.DestinationEndOffset;
        RecordsQuarantined = start.RecordsQuarantined;
        RecordsExpired = start.RecordsExpired;
        CatchUp = start.CatchUp is { } catchUp && catchUp.Until > start.NextSourceOffset ? catchUp : null;
    }

    public string Source { get; }
    public string Destination { get; }

    /// <summary>The topic as named in the source.</summary>
    public string Topic { get; }

    /// <summary>The topic as named in the destination.</summary>
    public string DestinationTopic { get; }

    public int Partition { get; }

    /// <summary>The origins whose records this link carries.</summary>
    public OriginSet Carried { get; }

    /// <summary>What is left to re-read after the link gained origins; null when nothing is.</summary>
    public CatchUp? CatchUp { get; private set; }

    /// <summary>The source's incarnation that <see cref="NextSourceOffset"/> is an offset of.</summary>
    public string SourceIncarnation { get; }

    /// <summary>The destination's incarnation that <see cref="DestinationEndOffset"/> is an offset of.</summary>
    public string DestinationIncarnation { get; }

    /// <summary>The next offset to read from the source partition.</summary>
    public long NextSourceOffset { get; private set; }

    public OriginVector Vector { get; }

    /// <summary>End offset of the destination partition after the last write this replicator saw.</summary>
    public long DestinationEndOffset { get; private set; }

    public long RecordsQuarantined { get; private set; }

    public long RecordsExpired { get; private set; }

    public ReplicationCheckpoint Checkpoint() =>
        new(NextSourceOffset, Vector.Clone(), DestinationEndOffset, SourceIncarnation, DestinationIncarnation, RecordsQuarantined, RecordsExpired)
        {
            Carried = Carried,
            CatchUp = CatchUp,
        };

    /// <summary>Decides one record against a given vector (the live one, or a batch's working copy).</summary>
    public ReplicationDecision Decide(SourceRecord record, OriginVector vector)
    {
        var reading = ProvenanceTrust.Read(record, Source, Topic, Partition, _signer, _naming, SourceIncarnation, _separator);
        // Only a marker that verifies and fits the record: a forged or copied one leaves it an ordinary record.
        if (RepairMarker.TryRead(record, Source, reading, _signer, out _)) return ReplicationDecision.Skip(DecisionKind.SkipRepair);
        if (CatchUp is { } catchUp && record.Offset < catchUp.Until)
        {
            // Read before the link gained origins: what was decided then stands (a record with a header the
            // mesh does not trust went as local, or to the quarantine, already). Only a gained origin's
            // records were skipped as off the route, and only a trusted header can say a record is one.
            return reading.Verdict == ProvenanceVerdict.Trusted && catchUp.Origins.Contains(reading.Trusted!.OriginRegion)
                ? Route(record, reading.Trusted, vector, untrusted: null)
                : ReplicationDecision.Skip(DecisionKind.SkipNotOnRoute);
        }

        string? untrusted = null;
        Provenance provenance;
        if (reading.Verdict == ProvenanceVerdict.Trusted)
        {
            provenance = reading.Trusted!;
        }
        else if (reading.Verdict == ProvenanceVerdict.Unverifiable)
        {
            // Never skipped on its word (that is what a forged header would want), never re-labelled;
            // what it claims only decides whether a replay is likely to duplicate.
            var claim = reading.FaceValue!;
            var elsewhere = claim.HasVisited(Destination) || !Carried.Contains(claim.OriginRegion)
                            || vector.HasApplied(claim.OriginKey, claim.OriginOffset);
            return Hold(elsewhere ? QuarantineKinds.UnverifiableProvenanceElsewhere : QuarantineKinds.UnverifiableProvenance,
                $"offset {record.Offset}: provenance header cannot be verified here: {reading.UntrustedReason}. " +
                "Give every region the same Mesh:Provenance:Key (or AdditionalKey during a rotation)" +
                (elsewhere ? "; taken at its word it reached this region another way, so a replay would likely duplicate it" : ""));
        }
        else
        {
            if (reading.Verdict == ProvenanceVerdict.Untrusted)
            {
                untrusted = $"offset {record.Offset}: {reading.UntrustedReason}";
                if (_policy.StrictProvenance) return Hold(QuarantineKinds.UntrustedProvenance, $"provenance header not trusted: {untrusted}");
            }
            // No header, or one nobody may believe: the record was produced in the source region itself.
            provenance = Provenance.Local(Source, SourceIncarnation, Topic, Partition, record.Offset, record.TimestampMs);
        }
        return Route(record, provenance, vector, untrusted);
    }

    /// <summary>The rule for a record whose identity is known: loops, the route, the vector, then an earlier refusal.</summary>
    private ReplicationDecision Route(SourceRecord record, Provenance provenance, OriginVector vector, string? untrusted)
    {
        if (provenance.HasVisited(Destination) && !IsOwnPast(provenance)) return ReplicationDecision.Skip(DecisionKind.SkipLoop);
        if (!Carried.Contains(provenance.OriginRegion)) return ReplicationDecision.Skip(DecisionKind.SkipNotOnRoute);
        if (vector.HasApplied(provenance.OriginKey, provenance.OriginOffset)) return ReplicationDecision.Skip(DecisionKind.SkipAlreadyApplied);
        if (_refused.TryGetValue(record.Offset, out var refusal)) return Hold(QuarantineKinds.RefusedByDestination, refusal);

        var outbound = OutboundRecord.From(record, provenance.ArrivedAt(Destination), untrusted is not null, _policy.KeepUntrustedHeader, _signer);
        return new(DecisionKind.Forward, outbound, null, null, untrusted);
    }

    /// <summary>
    /// A record the destination itself originated in an earlier incarnation (before its Kafka was lost),
    /// on the one link into it that carries the destination's own past (see <c>RegionPlan</c>): a rebuild
    /// writes it back. The destination's current records are loops as ever, and the vector keeps the
    /// old incarnation's records from being written twice.
    /// </summary>
    private bool IsOwnPast(Provenance provenance) =>
        Carried.Contains(Destination) && OwnPast.IsPastOf(provenance.OriginRegion, provenance.OriginIncarnation, Destination, DestinationIncarnation);

    private ReplicationDecision Hold(string kind, string reason) =>
        new(_policy.OnBadRecord == BadRecordAction.Stop ? DecisionKind.Stop : DecisionKind.Quarantine, null, reason, kind);

    /// <summary>
    /// Plans a batch of consecutive source records: what to write (at most <paramref name="maxOutbound"/>),
    /// what was skipped, and the first record the mesh cannot take (the plan ends before it). Nothing
    /// changes until <see cref="Commit"/>.
    /// </summary>
    public BatchPlan Plan(IReadOnlyList<SourceRecord> records, int maxOutbound = int.MaxValue)
    {
        var working = Vector.Clone();
        var plan = new BatchPlan();
        var next = NextSourceOffset;
        foreach (var record in records)
        {
            if (record.Offset < next) continue; // re-delivered by the reader; already planned or committed
            if (plan.Outbound.Count >= maxOutbound) break;
            var decision = Decide(record, working);
            if (decision.Kind is DecisionKind.Quarantine or DecisionKind.Stop)
            {
                plan.Held = new HeldRecord(record, decision.Kind, decision.QuarantineKind!, decision.Reason!);
                break;
            }
            if (decision.UntrustedHeader is { } untrusted)
            {
                plan.UntrustedHeaders++;
                plan.LastUntrustedHeader = untrusted;
            }
            if (decision.Kind == DecisionKind.Forward)
            {
                var outbound = decision.Outbound!;
                working.Advance(outbound.Provenance.OriginKey, outbound.Provenance.OriginOffset);
                plan.Outbound.Add(outbound);
            }
            else
            {
                plan.Skipped++;
            }
            next = record.Offset + 1;
        }
        plan.NextSourceOffset = next;
        return plan;
    }

    /// <summary>
    /// Records that a planned batch was written (<paramref name="destinationEndOffset"/>: the last written
    /// offset + 1) and, when it held a record for the quarantine, that the quarantine has it.
    /// </summary>
    public void Commit(BatchPlan plan, long destinationEndOffset)
    {
        foreach (var outbound in plan.Outbound)
            Vector.Advance(outbound.Provenance.OriginKey, outbound.Provenance.OriginOffset);
        var next = plan.NextSourceOffset;
        if (plan.Held is { Kind: DecisionKind.Quarantine } held)
        {
            next = held.Record.Offset + 1;
            RecordsQuarantined++;
            _refused.Remove(held.Record.Offset);
        }
        MoveTo(next);
        DestinationEndOffset = Math.Max(DestinationEndOffset, destinationEndOffset);
    }

    /// <summary>
    /// A planned batch was written except the records at <paramref name="failed"/> (indices into
    /// <c>plan.Outbound</c>), which failed while later ones were written; the grain has quarantined them.
    /// </summary>
    public void CommitWithHoles(BatchPlan plan, long destinationEndOffset, IReadOnlyCollection<int> failed)
    {
        Commit(plan, destinationEndOffset);
        RecordsQuarantined += failed.Count;
    }

    /// <summary>
    /// The destination refused the write at <c>plan.Outbound[refusedIndex]</c>; the records before it were
    /// written. Commits those; when the refusal is known to be that record's own (<paramref name="reason"/>
    /// set), holds it for the quarantine when it is planned again.
    /// </summary>
    public void CommitUpToRefusal(BatchPlan plan, int refusedIndex, long destinationEndOffset, string? reason)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(refusedIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(refusedIndex, plan.Outbound.Count);
        for (var i = 0; i < refusedIndex; i++)
            Vector.Advance(plan.Outbound[i].Provenance.OriginKey, plan.Outbound[i].Provenance.OriginOffset);
        var refused = plan.Outbound[refusedIndex].SourceOffset;
        if (reason is not null) _refused[refused] = reason;
        MoveTo(refused);
        DestinationEndOffset = Math.Max(DestinationEndOffset, destinationEndOffset);
    }

    /// <summary>
    /// The source dropped [<paramref name="from"/>, <paramref name="to"/>) before it was read; counts the
    /// part not already behind us and moves past it. Returns the range counted (empty when nothing was new).
    /// Behind us includes what the destination shows applied of the source's own records (their origin
    /// offsets are source offsets): after a crash between a write and its checkpoint, the records
    /// written are found in the destination, not lost. So does a catch-up: the link read those records
    /// before it gained origins.
    /// </summary>
    public (long From, long To) SkipExpired(long from, long to)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        ArgumentOutOfRangeException.ThrowIfLessThan(to, from);
        var applied = Vector.HighestFor(OriginVector.Key(Source, SourceIncarnation)) + 1;
        var start = Math.Max(Math.Max(from, NextSourceOffset), Math.Max(applied, CatchUp?.Until ?? 0));
        if (to <= start)
        {
            MoveTo(to);
            return (to, to);
        }
        RecordsExpired += to - start;
        MoveTo(to);
        return (start, to);
    }

    /// <summary>Moves the source position forward (never back); a catch-up ends where it reaches.</summary>
    private void MoveTo(long next)
    {
        NextSourceOffset = Math.Max(NextSourceOffset, next);
        if (CatchUp is { } catchUp && NextSourceOffset >= catchUp.Until) CatchUp = null;
    }

    /// <summary>The quarantine entry for a held record.</summary>
    public QuarantineEntry QuarantineEntryFor(HeldRecord held, long nowMs) =>
        new(Source, SourceIncarnation, Destination, Topic, Partition, held.Record.Offset, held.QuarantineKind, held.Reason, nowMs, held.Record);

    /// <summary>The destination was read back up to <paramref name="endOffset"/>; recovery need not read it again.</summary>
    public void ObservedUpTo(long endOffset) => DestinationEndOffset = Math.Max(DestinationEndOffset, endOffset);

    /// <summary>
    /// Folds in a record found in the destination after the last checkpoint (crash recovery, or what
    /// other links wrote; after a route change, what the old route wrote). Only a header the mesh
    /// trusts there moves the vector: one an application wrote into the destination must not make this
    /// link skip genuine records. Returns that trusted provenance; null when the record has none.
    /// </summary>
    public Provenance? Observe(SourceRecord destinationRecord) => Observe(destinationRecord, misplaced: null);

    /// <summary>
    /// <see cref="Observe(SourceRecord)"/>, but a record of <paramref name="misplaced"/> (origin key and
    /// offset) leaves the vector alone: it was written after records the destination then lost, and
    /// counting it as applied would count the lost ones too. The caller skips it when it is read again.
    /// </summary>
    public Provenance? Observe(SourceRecord destinationRecord, IReadOnlySet<(string OriginKey, long OriginOffset)>? misplaced)
    {
        var reading = ProvenanceTrust.Read(destinationRecord, Destination, DestinationTopic, Partition, _signer, _naming, DestinationIncarnation, _separator);
        DestinationEndOffset = Math.Max(DestinationEndOffset, destinationRecord.Offset + 1);
        if (reading.Verdict != ProvenanceVerdict.Trusted) return null;
        if (misplaced?.Contains((reading.Trusted!.OriginKey, reading.Trusted.OriginOffset)) != true)
            Vector.Advance(reading.Trusted!.OriginKey, reading.Trusted.OriginOffset);
        return reading.Trusted;
    }

    /// <summary>Provenance headers this replication verified, per mesh key id (the source's records and, at recovery, the destination's).</summary>
    public IReadOnlyDictionary<string, long>? VerifiedByKey => _signer?.VerifiedByKey;

    public void Dispose() => _signer?.Dispose();
}

/// <summary>A record the mesh cannot take, where a plan ends.</summary>
public sealed record HeldRecord(SourceRecord Record, DecisionKind Kind, string QuarantineKind, string Reason);

public sealed class BatchPlan
{
    public List<OutboundRecord> Outbound { get; } = [];

    /// <summary>Records skipped (looped, not on the route, already applied, repair records).</summary>
    public int Skipped { get; set; }

    /// <summary>Records whose untrusted header was ignored (replicated as local).</summary>
    public int UntrustedHeaders { get; set; }

    public string? LastUntrustedHeader { get; set; }

    /// <summary>Source offset after the last record this plan covers (the held record's own offset when one is held).</summary>
    public long NextSourceOffset { get; set; }

    /// <summary>The record the plan ends at because the mesh cannot take it.</summary>
    public HeldRecord? Held { get; set; }
}
