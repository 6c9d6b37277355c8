using System.Collections.Concurrent;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Replication;

/// <summary>Hands out partition feeds from one lazily created <see cref="SharedSourceReader"/> per source region.</summary>
public sealed class KafkaSourceFeeds(IOptions<KafkaRegionsOptions> regions, ILoggerFactory loggers) : ISourceFeeds, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<SharedSourceReader>> _readers = new(StringComparer.Ordinal);

    public ISourcePartitionFeed Open(string sourceRegion, string topic, int partition, long startOffset) =>
        Reader(sourceRegion).Open(topic, partition, startOffset);

    public Task<SourceWatermarks> GetWatermarksAsync(string sourceRegion, string topic, int partition, CancellationToken cancellationToken) =>
        Task.Run(() => Reader(sourceRegion).GetWatermarks(topic, partition), cancellationToken);

    private SharedSourceReader Reader(string sourceRegion) =>
        _readers.GetOrAdd(sourceRegion, region => new Lazy<SharedSourceReader>(() =>
            new SharedSourceReader(region, regions.Value.Cluster(region), regions.Value.LocalRegion, loggers.CreateLogger<KafkaSourceFeeds>()))).Value;

    public void Dispose()
    {
        foreach (var reader in _readers.Values)
            if (reader.IsValueCreated) reader.Value.Dispose();
    }
}
