using Mesh.Core.Health;

namespace Mesh.Grains.Ports;

/// <summary>
/// This silo's cached view of the Kafka clusters it talks to, probed in the background every few seconds
/// (a status call never waits on a probe).
/// </summary>
public interface IKafkaReachability
{
    /// <summary>The latest observation of <paramref name="region"/>'s Kafka; null when this silo has not probed it (yet).</summary>
    ClusterReachability? Of(string region);

    /// <summary>Every cluster this silo has probed, by region id.</summary>
    IReadOnlyList<ClusterReachability> All { get; }
}
