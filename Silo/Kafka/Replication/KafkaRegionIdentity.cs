using System.Collections.Concurrent;
using Mesh.Core.Replication;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Mesh.Kafka.Native;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Replication;

/// <summary>
/// Each region's incarnation, from its Kafka cluster's id. Asked again after a short while, so a
/// replicator recovering after its source or destination cluster was replaced sees the new one.
/// </summary>
/// <param name="lifetime">A silo's: its stop lets go of every caller still waiting for a lookup (null outside a silo).</param>
public sealed class KafkaRegionIdentity(IOptions<KafkaRegionsOptions> regions, TimeProvider time, IHostApplicationLifetime? lifetime = null) : IRegionIdentity, IDisposable
{
    private readonly CancellationToken _stopping = lifetime?.ApplicationStopping ?? CancellationToken.None;
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    // One lookup in flight per region: thousands of replicators recovering at once share it.
    private readonly ConcurrentDictionary<string, Known> _known = new(StringComparer.Ordinal);
    private IncarnationWatch? _watch;

    // Looks as often as an answer is cached: a sleeper woken by a change finds the new incarnation in the cache.
    private IncarnationWatch Watch => LazyInitializer.EnsureInitialized(ref _watch,
        () => new IncarnationWatch(region => IncarnationAsync(region, _stopping, fresh: true), time, CacheFor));

    public void WakeOnChange(string region, string incarnation, Action wake) => Watch.WakeOnChange(region, incarnation, wake);

    public void StopWaking(string region, Action wake) => _watch?.StopWaking(region, wake);

    public void Dispose() => _watch?.Dispose();

    private sealed class Known
    {
        public Task<string>? Lookup;
        public long CompletedAt;
    }

    public Task<string> IncarnationAsync(string region, CancellationToken cancellationToken, bool fresh = false)
    {
        var known = _known.GetOrAdd(region, _ => new Known());
        Task<string> lookup;
        lock (known)
        {
            var current = known.Lookup;
            var usable = current is { IsCompleted: false }
                || (!fresh && current is { IsCompletedSuccessfully: true } && time.GetElapsedTime(known.CompletedAt) < CacheFor);
            if (!usable) known.Lookup = current = Start(region, known);
            lookup = current!;
        }
        // A lookup of a region whose Kafka is down blocks for the whole timeout.
        return lookup.IsCompleted ? lookup : SiloStopping.WaitAsync(lookup, cancellationToken, _stopping);
    }

    private Task<string> Start(string region, Known known)
    {
        var config = regions.Value.Cluster(region).BuildConfig(
            defaults: new Dictionary<string, string> { ["client.id"] = $"mesh-{regions.Value.LocalRegion}-identity-{region}", ["log_level"] = "3" },
            required: new Dictionary<string, string>());
        return Task.Run(() =>
        {
            var incarnation = Incarnations.FromClusterId(ClusterId.Read(config, Timeout));
            // Fresh from when the answer came, not from when it was asked for.
            lock (known) known.CompletedAt = time.GetTimestamp();
            return incarnation;
        });
    }
}
