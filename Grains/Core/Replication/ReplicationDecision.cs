namespace Mesh.Core.Replication;

public enum DecisionKind
{
    /// <summary>Write the record to the destination.</summary>
    Forward,
    /// <summary>The destination is already in the record's hops.</summary>
    SkipLoop,
    /// <summary>The destination gets this origin's records over another link.</summary>
    SkipNotOnRoute,
    /// <summary>The destination's origin vector shows the record applied already.</summary>
    SkipAlreadyApplied,
    /// <summary>The mesh cannot take the record; it goes to the quarantine and replication goes on.</summary>
    Quarantine,
    /// <summary>The mesh cannot take the record and the topic's policy is to stop there.</summary>
    Stop,
    /// <summary>
    /// A repair record (a copy of a key's winner, see <c>Mesh.Core.Conflicts.RepairMarker</c>) written where it is
    /// read: the write it copies travels on its own, the copy never does.
    /// </summary>
    SkipRepair,
}

/// <param name="UntrustedHeader">When the record carried a header the mesh did not trust and replicates it as local: why.</param>
public readonly record struct ReplicationDecision(DecisionKind Kind, OutboundRecord? Outbound, string? Reason, string? QuarantineKind = null, string? UntrustedHeader = null)
{
    public static ReplicationDecision Skip(DecisionKind kind) => new(kind, null, null);
}

/// <summary>What a region does with a record it cannot take.</summary>
public enum BadRecordAction
{
    /// <summary>Write it to the quarantine topic with the reason, and go on.</summary>
    Quarantine,
    /// <summary>Stop the partition at it, for an operator to decide.</summary>
    Stop,
}

/// <summary>How one topic on one link treats provenance and records it cannot take.</summary>
/// <param name="Keys">The mesh keys; null: headers are neither signed nor verified, only checked for structure.</param>
/// <param name="StrictProvenance">An untrusted header sends its record to <see cref="OnBadRecord"/> instead of replicating it as local.</param>
/// <param name="KeepUntrustedHeader">An untrusted header on a record replicated as local travels on as <see cref="ProvenanceCodec.UntrustedHeaderName"/>; otherwise it is dropped.</param>
public sealed record ReplicationPolicy(MeshKeys? Keys, bool StrictProvenance, bool KeepUntrustedHeader, BadRecordAction OnBadRecord)
{
    public static ReplicationPolicy Default { get; } = new(null, false, true, BadRecordAction.Quarantine);
}

public static class BadRecordActions
{
    /// <summary>The configuration words: <c>quarantine</c> or <c>stop</c>.</summary>
    public static bool TryParse(string? text, out BadRecordAction action)
    {
        action = BadRecordAction.Quarantine;
        switch (text?.Trim().ToLowerInvariant())
        {
            case "quarantine": return true;
            case "stop": action = BadRecordAction.Stop; return true;
            default: return false;
        }
    }

    public static BadRecordAction Parse(string text) =>
        TryParse(text, out var action) ? action : throw new ArgumentException($"'{text}' is not a bad-record action; use 'quarantine' or 'stop'");
}
