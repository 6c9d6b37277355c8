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
    /// <summary>The record's provenance header is malformed; replication of the partition must stop.</summary>
    Reject,
}

public readonly record struct ReplicationDecision(DecisionKind Kind, OutboundRecord? Outbound, string? Reason)
{
    public static ReplicationDecision Skip(DecisionKind kind) => new(kind, null, null);
}
