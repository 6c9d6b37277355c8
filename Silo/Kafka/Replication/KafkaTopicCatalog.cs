using System.Collections.Concurrent;
using System.Net;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Confluent.Kafka.Admin;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Replication;

/// <summary>
/// Topic metadata through the standard Kafka admin API, one admin client per silo per cluster.
/// Creation goes through the admin API too, except on the embedded local Kafka, which has no
/// CreateTopics and is asked through its region host's control surface instead.
/// </summary>
public sealed class KafkaTopicCatalog(IOptions<KafkaRegionsOptions> regions) : ITopicCatalog, IDisposable
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, Lazy<IAdminClient>> _admins = new(StringComparer.Ordinal);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private IAdminClient Admin(string region) => _admins.GetOrAdd(region, r => new Lazy<IAdminClient>(() =>
        new AdminClientBuilder(regions.Value.Cluster(r).BuildConfig(
            defaults: new Dictionary<string, string> { ["client.id"] = $"mesh-{regions.Value.LocalRegion}-admin-{r}" },
            required: new Dictionary<string, string>())).Build())).Value;

    public Task<IReadOnlyDictionary<string, int>> ListTopicsAsync(string region, CancellationToken cancellationToken) =>
        Task.Run<IReadOnlyDictionary<string, int>>(() =>
        {
            var metadata = Admin(region).GetMetadata(MetadataTimeout);
            return metadata.Topics
                .Where(t => t.Error.Code == ErrorCode.NoError)
                .ToDictionary(t => t.Topic, t => t.Partitions.Count, StringComparer.Ordinal);
        }, cancellationToken);

    public async Task CreateTopicAsync(string region, string topic, int partitions, IReadOnlyDictionary<string, string>? configs, CancellationToken cancellationToken)
    {
        var cluster = regions.Value.Cluster(region);
        if (!string.IsNullOrEmpty(cluster.EmbeddedControl))
        {
            await CreateOnEmbeddedAsync(cluster.EmbeddedControl, region, topic, partitions, cancellationToken);
            return;
        }
        try
        {
            await Admin(region).CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = -1 }]);
        }
        catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code == ErrorCode.TopicAlreadyExists))
        {
            var existing = await ListTopicsAsync(region, cancellationToken);
            if (existing.TryGetValue(topic, out var count) && count != partitions)
                throw new ReplicationFailedException($"topic '{topic}' already exists in {region} with {count} partitions, not {partitions}");
        }
    }

    private async Task CreateOnEmbeddedAsync(string control, string region, string topic, int partitions, CancellationToken cancellationToken)
    {
        var url = $"{control.TrimEnd('/')}/topics/{Uri.EscapeDataString(topic)}?partitions={partitions}";
        using var response = await _http.PutAsync(url, content: null, cancellationToken);
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var message = $"creating topic '{topic}' ({partitions} partitions) in {region} through {control}: {(int)response.StatusCode} {body}";
        throw response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.BadRequest
            ? new ReplicationFailedException(message)
            : new HttpRequestException(message);
    }

    public void Dispose()
    {
        foreach (var admin in _admins.Values)
            if (admin.IsValueCreated) admin.Value.Dispose();
        _http.Dispose();
    }
}
