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
    // One lookup in flight per region: thousands of replicators recovering at once share it.
    private readonly ConcurrentDictionary<string, (Task<string> Lookup, long At)> _known = new(StringComparer.Ordinal);

    public Task<string> IncarnationAsync(string region, CancellationToken cancellationToken)
    {
        while (true)
        {
            var now = time.GetTimestamp();
            if (_known.TryGetValue(region, out var known))
            {
                var fresh = time.GetElapsedTime(known.At) < CacheFor;
                if (!known.Lookup.IsCompleted || (fresh && known.Lookup.IsCompletedSuccessfully)) return known.Lookup.WaitAsync(cancellationToken);
                var next = (Lookup(region), now);
                if (_known.TryUpdate(region, next, known)) return next.Item1.WaitAsync(cancellationToken);
            }
            else
            {
                var first = (Lookup(region), now);
                if (_known.TryAdd(region, first)) return first.Item1.WaitAsync(cancellationToken);
            }
        }
    }

    private Task<string> Lookup(string region)
    {
        var config = regions.Value.Cluster(region).BuildConfig(
            defaults: new Dictionary<string, string> { ["client.id"] = $"mesh-{regions.Value.LocalRegion}-identity-{region}", ["log_level"] = "3" },
            required: new Dictionary<string, string>());
        return Task.Run(() => Incarnations.FromClusterId(ClusterId.Read(config, Timeout)));
    }
}
