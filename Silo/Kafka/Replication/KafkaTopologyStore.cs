using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Replication;

/// <summary>
/// The applied topology in a region's own Kafka: one compacted single-partition topic, one key, so
/// the latest record is the version the region runs. Peers' topologies are read the same way from
/// their clusters, which the region reaches anyway, so a region that missed an apply needs no other
/// connection to catch up.
/// </summary>
public sealed class KafkaTopologyStore(RegionWriter producer, IOptions<KafkaRegionsOptions> regions) : ITopologyStore
{
    private const string Key = "topology";
    private static readonly TopicPartition Partition = new(InternalTopics.Topology, 0);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private sealed record Stored(long Version, string Document, DateTimeOffset AppliedAt, List<string>? Paused, string? AdoptedFrom, string? Signature);

    public Task<StoredTopology?> ReadAsync(string region, CancellationToken cancellationToken) => Task.Run(() =>
    {
        var config = regions.Value.Cluster(region).BuildConfig(
            defaults: new Dictionary<string, string> { ["client.id"] = $"mesh-{regions.Value.LocalRegion}-topology" },
            required: new Dictionary<string, string>
            {
                ["group.id"] = $"__mesh-{regions.Value.LocalRegion}-topology",
                ["enable.auto.commit"] = "false",
                ["auto.offset.reset"] = "earliest",
                ["fetch.wait.max.ms"] = "20",
                ["isolation.level"] = "read_uncommitted",
            });
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        WatermarkOffsets marks;
        try
        {
            marks = consumer.QueryWatermarkOffsets(Partition, Deadline);
        }
        catch (KafkaException e) when (e.Error.Code is ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownPartition or ErrorCode.Local_UnknownTopic)
        {
            return null; // the region never had a topology
        }
        if (marks.High.Value <= marks.Low.Value) return null;
        // One key, compacted or not: the last record is the latest version.
        consumer.Assign(new TopicPartitionOffset(Partition, new Offset(marks.High.Value - 1)));
        var until = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < until)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result?.Message is not { } message) continue;
            if (message.Value is null) return null;
            var stored = JsonSerializer.Deserialize<Stored>(message.Value, Json)
                ?? throw new InvalidDataException($"{region}'s {InternalTopics.Topology} holds an empty record at offset {result.Offset.Value}");
            return new StoredTopology(stored.Version, stored.Document, stored.AppliedAt, stored.Paused ?? [], stored.AdoptedFrom, stored.Signature);
        }
        throw new TimeoutException($"reading {region}'s {InternalTopics.Topology} took longer than {Deadline.TotalSeconds:0} s");
    }, cancellationToken);

    public Task WriteAsync(StoredTopology topology, CancellationToken cancellationToken)
    {
        var value = JsonSerializer.SerializeToUtf8Bytes(
            new Stored(topology.Version, topology.Document, topology.AppliedAt, [.. topology.Paused], topology.AdoptedFrom, topology.Signature), Json);
        return producer.ProduceAndWaitAsync(Partition, new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes(Key), Value = value }, cancellationToken);
    }
}
