using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Replication;

/// <summary>
/// The applied topology in a region's own Kafka: one compacted single-partition topic, one key, so
/// the latest record is the version the region runs. Peers' topologies are read the same way from
/// their clusters, which the region reaches anyway, so a region that missed an apply needs no other
/// connection to catch up.
/// </summary>
public sealed class KafkaTopologyStore(RegionWriter producer, IOptions<KafkaRegionsOptions> regions) : ITopologyStore
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    public Task<StoredTopology?> ReadAsync(string region, CancellationToken cancellationToken) => Task.Run(() =>
    {
        var config = regions.Value.Cluster(region).BuildConfig(
            defaults: new Dictionary<string, string> { ["client.id"] = $"mesh-{regions.Value.LocalRegion}-topology" },
            required: TopologyLog.ReaderSettings($"__mesh-{regions.Value.LocalRegion}-topology"));
        return TopologyLog.ReadLatest(config, region, Deadline, cancellationToken);
    }, cancellationToken);

    public Task WriteAsync(StoredTopology topology, CancellationToken cancellationToken) =>
        producer.ProduceAndWaitAsync(TopologyLog.Where, TopologyLog.Encode(topology), cancellationToken);
}
