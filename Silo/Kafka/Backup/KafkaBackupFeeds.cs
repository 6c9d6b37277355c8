using Mesh.Core.Backup.Archiving;
using Mesh.Grains.Backup;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Mesh.Kafka.Replication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Backup;

/// <summary>
/// The region's own partitions read for the backup: one shared reader per silo of its own (a push link's
/// replicators read the same partitions through the replication reader, and a reader hands out one feed per partition).
/// </summary>
/// <param name="lifetime">A silo's: its stop lets go of an archiver still waiting on a watermark query (null outside a silo).</param>
public sealed class KafkaBackupFeeds(IOptions<KafkaRegionsOptions> regions, BackupReadShare share, ILoggerFactory loggers, IHostApplicationLifetime? lifetime = null)
    : IBackupFeeds, IDisposable
{
    private readonly CancellationToken _stopping = lifetime?.ApplicationStopping ?? CancellationToken.None;

    // While the silo's replication catches up the archivers read little (BackupReadShare); the reader then fetches
    // only a tenth of the time, so that the records wait in Kafka, not in this process's buffers and garbage collector.
    private readonly Lazy<SharedSourceReader> _reader = new(() =>
        new SharedSourceReader(regions.Value.LocalRegion, regions.Value.Local, regions.Value.LocalRegion + "-backup", loggers.CreateLogger<KafkaBackupFeeds>(),
            holdOff: () => share.HoldReader, statistics: regions.Value.Statistics, coolAfter: regions.Value.ColdAfter));

    public ISourcePartitionFeed Open(string topic, int partition, long startOffset) => _reader.Value.Open(topic, partition, startOffset);

    // Batched with the other archivers' requests; waits up to the reader's timeout when the region's Kafka is down, and
    // the caller is let go on the silo's stop.
    public Task<SourceWatermarks> GetWatermarksAsync(string topic, int partition, CancellationToken cancellationToken) =>
        SiloStopping.WaitAsync(_reader.Value.GetWatermarksAsync(topic, partition, cancellationToken), cancellationToken, _stopping);

    public void Dispose()
    {
        if (_reader.IsValueCreated) _reader.Value.Dispose();
    }
}
