using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Confluent.Kafka.Admin;
using Mesh.Core.Replication;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Replication;

/// <summary>
/// Topic metadata through the standard Kafka admin API, one admin client per silo per cluster.
/// Creation and topic configs go through the admin API too (CreateTopics, DescribeConfigs), except
/// on the embedded local Kafka, which has neither: its region host's control surface creates topics
/// and remembers the configs they were created with (so there every config it reports is one set on the topic).
/// </summary>
/// <param name="lifetime">A silo's: its stop lets go of every call still waiting on a cluster (null outside a silo).</param>
public sealed class KafkaTopicCatalog(IOptions<KafkaRegionsOptions> regions, IHostApplicationLifetime? lifetime = null)
    : ITopicCatalog, ITopicDescriptions, IDisposable
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(10);
    private readonly CancellationToken _stopping = lifetime?.ApplicationStopping ?? CancellationToken.None;
    private readonly ConcurrentDictionary<string, Lazy<IAdminClient>> _admins = new(StringComparer.Ordinal);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private IAdminClient Admin(string region) => _admins.GetOrAdd(region, r => new Lazy<IAdminClient>(() =>
        new AdminClientBuilder(regions.Value.Cluster(r).BuildConfig(
            defaults: new Dictionary<string, string> { ["client.id"] = $"mesh-{regions.Value.LocalRegion}-admin-{r}" },
            required: new Dictionary<string, string>())).Build())).Value;

    public async Task<IReadOnlyDictionary<string, int>> ListTopicsAsync(string region, CancellationToken cancellationToken) =>
        (await MetadataAsync(region, cancellationToken)).Topics
            .Where(t => t.Error.Code == ErrorCode.NoError)
            .ToDictionary(t => t.Topic, t => t.Partitions.Count, StringComparer.Ordinal);

    /// <summary>The cluster's metadata; the caller is let go on the silo's stop (<see cref="SiloStopping"/>).</summary>
    private Task<Metadata> MetadataAsync(string region, CancellationToken cancellationToken) =>
        SiloStopping.RunAsync(() => Admin(region).GetMetadata(MetadataTimeout), cancellationToken, _stopping);

    /// <summary>The topic's config entries that have a value, as the cluster describes them.</summary>
    private async Task<List<ConfigEntryResult>> DescribeAsync(string region, string topic, CancellationToken cancellationToken)
    {
        var results = await SiloStopping.WaitAsync(Admin(region).DescribeConfigsAsync(
            [new ConfigResource { Type = ResourceType.Topic, Name = topic }],
            new DescribeConfigsOptions { RequestTimeout = MetadataTimeout }), cancellationToken, _stopping);
        return [.. results.Single().Entries.Values.Where(e => e.Value is not null)];
    }

    private CancellationTokenSource OrStopping(CancellationToken cancellationToken) => SiloStopping.Either(cancellationToken, _stopping);

    public Task CreateTopicAsync(string region, string topic, int partitions, IReadOnlyDictionary<string, string>? configs, CancellationToken cancellationToken) =>
        CreateTopicAsync(region, topic, partitions, replicationFactor: -1, configs, cancellationToken);

    /// <summary>As <see cref="CreateTopicAsync(string, string, int, IReadOnlyDictionary{string, string}?, CancellationToken)"/>, with a replication factor (-1: the cluster's default).</summary>
    public async Task CreateTopicAsync(string region, string topic, int partitions, int replicationFactor, IReadOnlyDictionary<string, string>? configs, CancellationToken cancellationToken)
    {
        var cluster = regions.Value.Cluster(region);
        if (!string.IsNullOrEmpty(cluster.EmbeddedControl))
        {
            await CreateOnEmbeddedAsync(cluster.EmbeddedControl, region, topic, partitions, replicationFactor, configs, cancellationToken);
            return;
        }
        try
        {
            using var cancelled = OrStopping(cancellationToken);
            await Admin(region).CreateTopicsAsync([new TopicSpecification
            {
                Name = topic,
                NumPartitions = partitions,
                ReplicationFactor = (short)replicationFactor,
                Configs = configs is null ? null : new Dictionary<string, string>(configs),
            }]).WaitAsync(cancelled.Token);
        }
        catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code == ErrorCode.TopicAlreadyExists))
        {
            var existing = await ListTopicsAsync(region, cancellationToken);
            if (existing.TryGetValue(topic, out var count) && count != partitions)
                throw new ReplicationFailedException($"topic '{topic}' already exists in {region} with {count} partitions, not {partitions}");
        }
    }

    public async Task<IReadOnlyDictionary<string, string>?> GetTopicConfigsAsync(string region, string topic, CancellationToken cancellationToken)
    {
        var cluster = regions.Value.Cluster(region);
        if (!string.IsNullOrEmpty(cluster.EmbeddedControl))
            return await GetFromEmbeddedAsync(cluster.EmbeddedControl, region, topic, cancellationToken);
        try
        {
            return (await DescribeAsync(region, topic, cancellationToken)).ToDictionary(e => e.Name, e => e.Value, StringComparer.Ordinal);
        }
        catch (DescribeConfigsException e) when (e.Results.All(r => r.Error.Code == ErrorCode.UnknownTopicOrPart))
        {
            return null;
        }
    }

    public async Task<TopicConfigView?> DescribeConfigsAsync(string region, string topic, CancellationToken cancellationToken)
    {
        var cluster = regions.Value.Cluster(region);
        if (!string.IsNullOrEmpty(cluster.EmbeddedControl))
            return await GetFromEmbeddedAsync(cluster.EmbeddedControl, region, topic, cancellationToken) is { } remembered
                ? TopicConfigView.OfTopicLevel(remembered)
                : null;
        try
        {
            var entries = await DescribeAsync(region, topic, cancellationToken);
            return new TopicConfigView(
                entries.Where(e => e.Source == ConfigSource.DynamicTopicConfig).ToDictionary(e => e.Name, e => e.Value, StringComparer.Ordinal),
                entries.ToDictionary(e => e.Name, e => e.Value, StringComparer.Ordinal));
        }
        catch (DescribeConfigsException e) when (e.Results.All(r => r.Error.Code == ErrorCode.UnknownTopicOrPart))
        {
            return null;
        }
    }

    /// <summary>
    /// The fewest replicas any partition of <paramref name="topic"/> has, from the cluster's metadata; null
    /// when the topic is not in it. The whole cluster's metadata is asked for: asking for one topic by name
    /// may create it on a cluster that creates topics on first use.
    /// </summary>
    public async Task<int?> ReplicationFactorAsync(string region, string topic, CancellationToken cancellationToken)
    {
        var found = (await MetadataAsync(region, cancellationToken)).Topics.FirstOrDefault(t => t.Topic == topic && t.Error.Code == ErrorCode.NoError);
        return found is null || found.Partitions.Count == 0 ? null : found.Partitions.Min(p => p.Replicas.Length);
    }

    private async Task<IReadOnlyDictionary<string, string>?> GetFromEmbeddedAsync(string control, string region, string topic, CancellationToken cancellationToken)
    {
        var url = $"{control.TrimEnd('/')}/topics/{Uri.EscapeDataString(topic)}";
        using var cancelled = OrStopping(cancellationToken);
        cancellationToken = cancelled.Token;
        using var response = await _http.GetAsync(url, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"reading the configs of topic '{topic}' in {region} through {control}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
        var described = await response.Content.ReadFromJsonAsync<EmbeddedTopic>(cancellationToken)
            ?? throw new HttpRequestException($"reading the configs of topic '{topic}' in {region} through {control}: empty answer");
        return described.Configs ?? new Dictionary<string, string>(StringComparer.Ordinal);
    }

    private sealed record EmbeddedTopic(string Name, int Partitions, Dictionary<string, string>? Configs);

    private async Task CreateOnEmbeddedAsync(string control, string region, string topic, int partitions, int replicationFactor,
        IReadOnlyDictionary<string, string>? configs, CancellationToken cancellationToken)
    {
        var url = $"{control.TrimEnd('/')}/topics/{Uri.EscapeDataString(topic)}?partitions={partitions}"
            + (replicationFactor > 0 ? $"&replicationFactor={replicationFactor}" : "")
            + string.Concat((configs ?? new Dictionary<string, string>()).Select(c =>
                $"&config.{Uri.EscapeDataString(c.Key)}={Uri.EscapeDataString(c.Value)}"));
        using var cancelled = OrStopping(cancellationToken);
        cancellationToken = cancelled.Token;
        using var response = await _http.PutAsync(url, content: null, cancellationToken);
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var message = $"creating topic '{topic}' ({partitions} partitions) in {region} through {control}: {(int)response.StatusCode} {body}";
        throw response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.BadRequest
            ? new ReplicationFailedException(message)
            : new HttpRequestException(message);
    }

    // Once: the container disposes it under each name it is registered as (the class and its interfaces).
    private int _disposed;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        foreach (var admin in _admins.Values)
            if (admin.IsValueCreated) admin.Value.Dispose();
        _http.Dispose();
    }
}
