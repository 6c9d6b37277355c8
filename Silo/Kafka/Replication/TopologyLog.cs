using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Mesh.Grains.Ports;

namespace Mesh.Kafka.Replication;

/// <summary>
/// The record format of <c>__mesh_topology</c> and how to read its latest version: one partition,
/// one key, JSON <c>{version, document, ...}</c>. Shared by the silo's store and by clients that
/// only need to know what a region runs (<c>mesh audit</c>).
/// </summary>
public static class TopologyLog
{
    private const string Key = "topology";
    private static readonly TopicPartition Partition = new(InternalTopics.Topology, 0);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private sealed record Stored(long Version, string Document, DateTimeOffset AppliedAt, List<string>? Paused, string? AdoptedFrom, string? Signature);

    /// <summary>What a reader of the log needs on top of the connection settings: assign-only, nothing committed, uncommitted records seen.</summary>
    public static IReadOnlyDictionary<string, string> ReaderSettings(string groupId) => new Dictionary<string, string>
    {
        ["group.id"] = groupId,
        ["enable.auto.commit"] = "false",
        ["auto.offset.reset"] = "earliest",
        ["fetch.wait.max.ms"] = "20",
        ["isolation.level"] = "read_uncommitted",
    };

    public static Message<byte[]?, byte[]?> Encode(StoredTopology topology) => new()
    {
        Key = Encoding.UTF8.GetBytes(Key),
        Value = JsonSerializer.SerializeToUtf8Bytes(
            new Stored(topology.Version, topology.Document, topology.AppliedAt, [.. topology.Paused], topology.AdoptedFrom, topology.Signature), Json),
    };

    public static TopicPartition Where => Partition;

    /// <summary>
    /// The latest topology in the cluster that <paramref name="config"/> reaches (with <see cref="ReaderSettings"/>),
    /// or null when it has none. Blocks up to about <paramref name="deadline"/>.
    /// </summary>
    /// <exception cref="TimeoutException">The last record did not arrive in time.</exception>
    /// <exception cref="KafkaException">The cluster did not answer.</exception>
    /// <exception cref="InvalidDataException">The last record is not a topology.</exception>
    public static StoredTopology? ReadLatest(IEnumerable<KeyValuePair<string, string>> config, string region, TimeSpan deadline,
        CancellationToken cancellationToken)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        WatermarkOffsets marks;
        try
        {
            marks = consumer.QueryWatermarkOffsets(Partition, deadline);
        }
        catch (KafkaException e) when (e.Error.Code is ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownPartition or ErrorCode.Local_UnknownTopic)
        {
            return null; // the region never had a topology
        }
        if (marks.High.Value <= marks.Low.Value) return null;
        // One key, compacted or not: the last record is the latest version.
        consumer.Assign(new TopicPartitionOffset(Partition, new Offset(marks.High.Value - 1)));
        var until = DateTime.UtcNow + deadline;
        while (DateTime.UtcNow < until)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result?.Message is not { } message) continue;
            if (message.Value is null) return null;
            Stored? stored;
            try
            {
                stored = JsonSerializer.Deserialize<Stored>(message.Value, Json);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{region}'s {InternalTopics.Topology} holds no topology at offset {result.Offset.Value}: {e.Message}", e);
            }
            if (stored is null)
                throw new InvalidDataException($"{region}'s {InternalTopics.Topology} holds an empty record at offset {result.Offset.Value}");
            return new StoredTopology(stored.Version, stored.Document, stored.AppliedAt, stored.Paused ?? [], stored.AdoptedFrom, stored.Signature);
        }
        throw new TimeoutException($"reading {region}'s {InternalTopics.Topology} took longer than {deadline.TotalSeconds:0} s");
    }
}
