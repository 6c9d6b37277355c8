using Mesh.Grains.Options;
using Mesh.Grains.Ports;
using Microsoft.Extensions.Options;

namespace Mesh.Silo.Hosting;

/// <summary>
/// Whether this silo may start placing replicators: once the region's expected silos are active
/// (or the start-up grace has passed), so that the first replicators spread over all of them.
/// Orleans does not move an activation to a silo that joins later. Once ready, always ready.
/// </summary>
public sealed class ReplicationReadiness(IClusterMembershipService membership, IOptions<ReplicationOptions> options, TimeProvider time) : IReplicationReadiness
{
    private readonly long _startedAt = time.GetTimestamp();
    private volatile bool _ready;

    public int ActiveSilos => membership.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active);

    public long MembershipVersion => membership.CurrentSnapshot.Version.Value;

    public bool IsReady =>
        _ready = _ready
            || ActiveSilos >= options.Value.MinimumSilos
            || time.GetElapsedTime(_startedAt) >= options.Value.StartupGrace;
}
