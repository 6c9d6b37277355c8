using Mesh.Grains.Backup;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Mesh.Kafka.Replication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Backup;

/// <summary>
/// The region's own partitions read for the backup: shared readers of the silo's own (a push link's replicators
/// read the same partitions through the replication reader, and a reader hands out one feed per partition). A
/// catch-up hands every record through one consumer's thread, which would otherwise cap the backup at one core's
/// read rate while the archivers wait; two readers, each taking every other partition, read in parallel.
/// </summary>
public sealed class KafkaBackupFeeds(IOptions<KafkaRegionsOptions> regions, ILoggerFactory loggers) : IBackupFeeds, IDisposable
{
    private static readonly int ReaderCount = Math.Clamp(Environment.ProcessorCount, 1, 2);

    private readonly Lazy<SharedSourceReader>[] _readers = [.. Enumerable.Range(0, ReaderCount).Select(i => new Lazy<SharedSourceReader>(() =>
        new SharedSourceReader(regions.Value.LocalRegion, regions.Value.Local, $"{regions.Value.LocalRegion}-backup{(i == 0 ? "" : $"-{i}")}",
            loggers.CreateLogger<KafkaBackupFeeds>())))];

    private SharedSourceReader ReaderOf(int partition) => _readers[partition % _readers.Length].Value;

    public ISourcePartitionFeed Open(string topic, int partition, long startOffset) => ReaderOf(partition).Open(topic, partition, startOffset);

    public Task<SourceWatermarks> GetWatermarksAsync(string topic, int partition, CancellationToken cancellationToken) =>
        Task.Run(() => ReaderOf(partition).GetWatermarks(topic, partition), cancellationToken);

    public void Dispose()
    {
        foreach (var reader in _readers)
            if (reader.IsValueCreated) reader.Value.Dispose();
    }
}
