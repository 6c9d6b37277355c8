using System.Collections.Concurrent;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Mesh.Core.Replication;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Replication;

/// <summary>Hands out partition feeds from one lazily created <see cref="SharedSourceReader"/> per source region.</summary>
/// <param name="lifetime">A silo's: its stop lets go of every caller still waiting on a source (null outside a silo).</param>
public sealed class KafkaSourceFeeds(IOptions<KafkaRegionsOptions> regions, ILoggerFactory loggers, IHostApplicationLifetime? lifetime = null)
    : ISourceFeeds, IDisposable
{
    private readonly CancellationToken _stopping = lifetime?.ApplicationStopping ?? CancellationToken.None;
    private readonly ConcurrentDictionary<string, Lazy<SharedSourceReader>> _readers = new(StringComparer.Ordinal);

    public ISourcePartitionFeed Open(string sourceRegion, string topic, int partition, long startOffset) =>
        Reader(sourceRegion).Open(topic, partition, startOffset);

    // Batched with the other replicators' requests to the same source; waits up to the reader's timeout when the source is
    // down, and the caller is let go on the silo's stop.
    public Task<SourceWatermarks> GetWatermarksAsync(string sourceRegion, string topic, int partition, CancellationToken cancellationToken) =>
        SiloStopping.WaitAsync(Reader(sourceRegion).GetWatermarksAsync(topic, partition, cancellationToken), cancellationToken, _stopping);

    // Rare (an operator's replay): a short-lived consumer of its own rather than a detour through the shared reader.
    public Task<SourceRecord?> ReadOneAsync(string sourceRegion, string topic, int partition, long offset, CancellationToken cancellationToken) =>
        Task.Run(() =>
        {
            var config = regions.Value.Cluster(sourceRegion).BuildConfig(
                defaults: new Dictionary<string, string> { ["client.id"] = $"mesh-{regions.Value.LocalRegion}-fetch-{sourceRegion}" },
                required: new Dictionary<string, string>
                {
                    ["group.id"] = $"__mesh-{regions.Value.LocalRegion}-fetch",
                    ["enable.auto.commit"] = "false",
                    ["auto.offset.reset"] = "error",
                    ["isolation.level"] = "read_committed",
                });
            using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
            consumer.Assign(new TopicPartitionOffset(topic, partition, offset));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (DateTime.UtcNow < deadline)
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    var result = consumer.Consume(200);
                    if (result?.Message is null) continue;
                    // A later offset means the record itself is gone (compacted away, or an aborted transaction's).
                    return result.Offset.Value == offset ? SourceRecords.From(result) : null;
                }
                catch (ConsumeException e) when (e.Error.Code is ErrorCode.OffsetOutOfRange or ErrorCode.Local_AutoOffsetReset)
                {
                    return null;
                }
            }
            throw new TimeoutException($"reading {sourceRegion} {topic}/{partition} offset {offset} took longer than 20 s");
        }, cancellationToken);

    private SharedSourceReader Reader(string sourceRegion) =>
        _readers.GetOrAdd(sourceRegion, region => new Lazy<SharedSourceReader>(() =>
            new SharedSourceReader(region, regions.Value.Cluster(region), regions.Value.LocalRegion, loggers.CreateLogger<KafkaSourceFeeds>(),
                statistics: regions.Value.Statistics, coolAfter: regions.Value.ColdAfter))).Value;

    public void Dispose()
    {
        foreach (var reader in _readers.Values)
            if (reader.IsValueCreated) reader.Value.Dispose();
    }
}
