using Mesh.Core.Backup.Archiving;
using Mesh.Grains.Backup;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Mesh.Kafka.Replication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Backup;

/// <summary>
/// The region's own partitions read for the backup: one shared reader per silo of its own (a push link's
/// replicators read the same partitions through the replication reader, and a reader hands out one feed per partition).
/// </summary>
public sealed class KafkaBackupFeeds(IOptions<KafkaRegionsOptions> regions, BackupReadShare share, ILoggerFactory loggers) : IBackupFeeds, IDisposable
{
    // While the silo's replication catches up the archivers read little (BackupReadShare); the reader then fetches
    // only a tenth of the time, so that the records wait in Kafka, not in this process's buffers and garbage collector.
    private readonly Lazy<SharedSourceReader> _reader = new(() =>
        new SharedSourceReader(regions.Value.LocalRegion, regions.Value.Local, regions.Value.LocalRegion + "-backup", loggers.CreateLogger<KafkaBackupFeeds>(),
            holdOff: () => share.HoldReader));

    public ISourcePartitionFeed Open(string topic, int partition, long startOffset) => _reader.Value.Open(topic, partition, startOffset);

    public Task<SourceWatermarks> GetWatermarksAsync(string topic, int partition, CancellationToken cancellationToken) =>
        Task.Run(() => _reader.Value.GetWatermarks(topic, partition), cancellationToken);

    public void Dispose()
    {
        if (_reader.IsValueCreated) _reader.Value.Dispose();
    }
}
