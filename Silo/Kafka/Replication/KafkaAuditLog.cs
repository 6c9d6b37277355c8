using System.Text.Json;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Mesh.Grains;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Replication;

/// <summary>
/// The region's audit log in its own Kafka: <c>__mesh_audit</c>, one partition, one JSON record per operator change, kept
/// forever (like the quarantine, it is evidence). Written through the silo's shared producer; read from the end.
/// </summary>
public sealed class KafkaAuditLog(RegionWriter producer, IOptions<KafkaRegionsOptions> regions) : IAuditLog
{
    private static readonly TopicPartition Partition = new(InternalTopics.Audit, 0);
    // Relaxed escaping: the entries are read by people with kcat as often as by the mesh.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    public Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken) =>
        producer.ProduceAndWaitAsync(Partition, new Message<byte[]?, byte[]?>
        {
            Key = System.Text.Encoding.UTF8.GetBytes(entry.Region),
            Value = JsonSerializer.SerializeToUtf8Bytes(entry, Json),
        }, cancellationToken);

    public Task<IReadOnlyList<AuditEntry>> ReadRecentAsync(int count, CancellationToken cancellationToken) => Task.Run<IReadOnlyList<AuditEntry>>(() =>
    {
        var local = regions.Value.LocalRegion;
        var config = regions.Value.Cluster(local).BuildConfig(
            defaults: new Dictionary<string, string> { ["client.id"] = $"mesh-{local}-audit" },
            required: TopologyLog.ReaderSettings($"__mesh-{local}-audit"));
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        WatermarkOffsets marks;
        try
        {
            marks = consumer.QueryWatermarkOffsets(Partition, Deadline);
        }
        catch (KafkaException e) when (e.Error.Code is ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownPartition or ErrorCode.Local_UnknownTopic)
        {
            return [];
        }
        if (marks.High.Value <= marks.Low.Value) return [];
        var from = Math.Max(marks.Low.Value, marks.High.Value - count);
        consumer.Assign(new TopicPartitionOffset(Partition, new Offset(from)));
        var entries = new List<AuditEntry>();
        var until = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < until)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result?.Message is not { } message) continue;
            if (message.Value is not null)
            {
                try
                {
                    if (JsonSerializer.Deserialize<AuditEntry>(message.Value, Json) is { } entry) entries.Add(entry);
                }
                catch (JsonException)
                {
                    // A record that is not an entry (written by hand) is skipped, not fatal to reading the rest.
                }
            }
            if (result.Offset.Value >= marks.High.Value - 1) return entries;
        }
        throw new TimeoutException($"{InternalTopics.Audit} in region {local}: the last {count} entries did not arrive within {Deadline.TotalSeconds:0} s");
    }, cancellationToken);
}
