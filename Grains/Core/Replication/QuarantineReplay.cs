namespace Mesh.Core.Replication;

/// <summary>
/// Turns a quarantined record back into what its link would have written, once an operator fixed
/// the cause: its trusted provenance if it has one, else its identity where it was read (a header
/// nobody may believe is kept or dropped as the region's policy says, never trusted). No forwarding
/// or origin-vector check: a replay is the operator's explicit choice. Not thread-safe.
/// </summary>
public sealed class QuarantineReplay(string destination, ReplicationPolicy policy) : IDisposable
{
    private readonly ProvenanceSigner? _signer = policy.Keys?.CreateSigner();

    public OutboundRecord ToOutbound(QuarantineEntry entry)
    {
        if (entry.Destination != destination)
            throw new ArgumentException($"the entry was quarantined on its way to {entry.Destination}, not {destination}");
        var reading = ProvenanceTrust.Read(entry.Record, entry.Source, entry.Topic, entry.Partition, _signer);
        // Re-labelling a header nobody here can judge could send a genuine mesh record round in circles.
        if (reading.Verdict == ProvenanceVerdict.Unverifiable)
            throw new ArgumentException($"its provenance header still cannot be verified here ({reading.UntrustedReason}); give every region the same mesh key first");
        var provenance = reading.Trusted
            ?? Provenance.Local(entry.Source, entry.SourceIncarnation, entry.Topic, entry.Partition, entry.SourceOffset, entry.Record.TimestampMs);
        if (provenance.HasVisited(destination))
            throw new ArgumentException($"the record's provenance already lists {destination} in its hops; writing it there again would loop");
        return OutboundRecord.From(entry.Record, provenance.ArrivedAt(destination), reading.Verdict != ProvenanceVerdict.Trusted && reading.Verdict != ProvenanceVerdict.None,
            policy.KeepUntrustedHeader, _signer);
    }

    public void Dispose() => _signer?.Dispose();
}
