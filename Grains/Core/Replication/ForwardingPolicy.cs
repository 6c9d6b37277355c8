namespace Mesh.Core.Replication;

/// <summary>
/// Which origins' records a link carries. The topology's forwarding table implements it; the
/// runtime also checks the record's hops, so a policy only has to describe the routes.
/// </summary>
public interface IForwardingPolicy
{
    /// <summary>True when link <paramref name="from"/> -> <paramref name="to"/> carries records that originated at <paramref name="origin"/>.</summary>
    bool ShouldForward(string origin, string from, string to);
}

/// <summary>
/// Full mesh: every region pulls directly from every other, so a link carries only the records
/// that originated at its source. Anything else would reach the destination twice.
/// </summary>
public sealed class FullMeshForwarding : IForwardingPolicy
{
    public static FullMeshForwarding Instance { get; } = new();

    public bool ShouldForward(string origin, string from, string to) =>
        string.Equals(origin, from, StringComparison.Ordinal) && !string.Equals(from, to, StringComparison.Ordinal);
}

/// <summary>
/// A link that carries exactly the given origins' records: one row of the topology's forwarding
/// table, as handed to the region that runs the link.
/// </summary>
public sealed class OriginSetForwarding(IEnumerable<string> origins) : IForwardingPolicy
{
    private readonly HashSet<string> _origins = new(origins, StringComparer.Ordinal);

    public IReadOnlySet<string> Origins => _origins;

    public bool ShouldForward(string origin, string from, string to) =>
        !string.Equals(from, to, StringComparison.Ordinal) && _origins.Contains(origin);
}
