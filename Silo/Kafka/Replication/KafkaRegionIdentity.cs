using System.Collections.Concurrent;
using Mesh.Core.Replication;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Mesh.Kafka.Native;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Replication;

/// <summary>
/// Each region's incarnation, from its Kafka cluster's id. Asked again after a short while, so a
/// replicator recovering after its source or destination cluster was replaced sees the new one.
/// </summary>
public sealed class KafkaRegionIdentity(IOptions<KafkaRegionsOptions> regions, TimeProvider time) : IRegionIdentity
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, (string Incarnation, long At)> _known = new(StringComparer.Ordinal);

    public async Task<string> IncarnationAsync(string region, CancellationToken cancellationToken)
    {
        if (_known.TryGetValue(region, out var known) && time.GetElapsedTime(known.At) < CacheFor) return known.Incarnation;
        var config = regions.Value.Cluster(region).BuildConfig(
            defaults: new Dictionary<string, string> { ["client.id"] = $"mesh-{regions.Value.LocalRegion}-identity-{region}", ["log_level"] = "3" },
            required: new Dictionary<string, string>());
        var clusterId = await Task.Run(() => ClusterId.Read(config, Timeout), cancellationToken);
        var incarnation = Incarnations.FromClusterId(clusterId);
        _known[region] = (incarnation, time.GetTimestamp());
        return incarnation;
    }
}
