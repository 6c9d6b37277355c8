using Mesh.Core.Backup.Archiving;
using Mesh.Grains.Backup;
using Mesh.Kafka.Replication;
using Microsoft.Extensions.Logging;

namespace Mesh.Kafka.Backup;

/// <summary>The archivers' checkpoints in the region's checkpoint topic, through the silo's checkpoint store and its tail.</summary>
public sealed partial class KafkaBackupCheckpoints(KafkaCheckpointStore store, ILogger<KafkaBackupCheckpoints> logger) : IBackupCheckpoints
{
    public async Task<ArchiverCheckpoint?> ReadAsync(string topic, int partition, CancellationToken cancellationToken)
    {
        var key = ArchiverCheckpoint.Key(topic, partition);
        if (await store.ReadArchiverAsync(key, cancellationToken) is not { } text) return null;
        if (ArchiverCheckpoint.TryDecode(text, out var checkpoint, out var reason)) return checkpoint;
        // Reading from the log's start again is safe (the chains skip what they hold), only slower.
        LogUnreadable(key, KafkaCheckpointStore.Topic, reason);
        return null;
    }

    public Task WriteAsync(string topic, int partition, ArchiverCheckpoint checkpoint, CancellationToken cancellationToken) =>
        store.WriteArchiverAsync(ArchiverCheckpoint.Key(topic, partition), checkpoint.Encode(), cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The backup checkpoint {Key} in {Topic} cannot be read ({Reason}); that partition's backup reads it from the log's start")]
    private partial void LogUnreadable(string key, string topic, string reason);
}
