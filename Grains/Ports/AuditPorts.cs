namespace Mesh.Grains.Ports;

/// <summary>The region's record of operator changes (<c>__mesh_audit</c> in its own Kafka): appended to, never rewritten.</summary>
public interface IAuditLog
{
    /// <summary>Appends one change; returns once the region's Kafka acknowledged it.</summary>
    Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken);

    /// <summary>The last <paramref name="count"/> changes, oldest first.</summary>
    Task<IReadOnlyList<AuditEntry>> ReadRecentAsync(int count, CancellationToken cancellationToken);
}

/// <summary>A grain whose changes are recorded with the topology version before and after them.</summary>
public interface IAuditedVersion
{
    long AuditedVersion { get; }
}
