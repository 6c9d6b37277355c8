using System.Collections.Concurrent;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Replication;

/// <summary>
/// One destination log per region this silo writes into: its own region's through the silo's shared
/// writer, and each push link destination's through a writer of its own, made on first use.
/// </summary>
public sealed class KafkaDestinationLogs(
    RegionWriter localWriter,
    IOptions<KafkaRegionsOptions> regions,
    IOptions<ProducerCompressionOptions> compression,
    ILoggerFactory loggers) : IDestinationLogs, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<(RegionWriter? Writer, KafkaDestinationLog Log)>> _logs = new(StringComparer.Ordinal);

    public IDestinationLog For(string region) => _logs.GetOrAdd(region, r => new Lazy<(RegionWriter?, KafkaDestinationLog)>(() =>
    {
        var local = regions.Value.LocalRegion;
        var cluster = regions.Value.Cluster(r);
        if (r == local) return (null, new KafkaDestinationLog(localWriter, cluster, local));
        var writer = new RegionWriter(r, cluster, $"mesh-{local}-to-{r}-writer", compression.Value, loggers.CreateLogger<RegionWriter>(),
            regions.Value.WriteTimeout, regions.Value.Statistics);
        return (writer, new KafkaDestinationLog(writer, cluster, local));
    })).Value.Log;

    // Exactly-once partitions are the local region's (pull links only): a committed reader of its log, made on first use.
    private readonly Lazy<KafkaDestinationLog> _committed = new(() =>
        new KafkaDestinationLog(localWriter, regions.Value.Local, regions.Value.LocalRegion, committedOnly: true));

    public IDestinationLog Committed(string region) => region == regions.Value.LocalRegion ? _committed.Value : For(region);

    // Once: the container disposes it under each name it is registered as (the class and its interfaces).
    private int _disposed;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        foreach (var lazy in _logs.Values.Where(l => l.IsValueCreated))
        {
            lazy.Value.Log.Dispose();
            lazy.Value.Writer?.Dispose();
        }
        if (_committed.IsValueCreated) _committed.Value.Dispose();
    }
}
