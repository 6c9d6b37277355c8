using Mesh.Core.Replication;
using Mesh.Grains.Ports;

namespace Mesh.Grains.Tests.InMemory;

/// <summary>Topic configs, as Kafka keeps them: set when a topic is created (an existing one keeps its own) and altered on demand.</summary>
public sealed partial class InMemoryKafka
{
    private readonly Dictionary<(string Region, string Topic), Dictionary<string, string>> _topicConfigs = [];
    private readonly Lock _configGate = new();

    /// <summary>Creates <paramref name="topic"/> with <paramref name="configs"/>; an existing topic keeps the configs it has.</summary>
    public void CreateTopic(string region, string topic, int partitions, IReadOnlyDictionary<string, string>? configs)
    {
        lock (_configGate)
        {
            var existed = Topics(region).ContainsKey(topic);
            CreateTopic(region, topic, partitions);
            if (!existed) _topicConfigs[(region, topic)] = new Dictionary<string, string>(configs ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        }
    }

    /// <summary>Sets (or, with a null value, removes) configs of an existing topic, as kafka-configs.sh --alter does.</summary>
    public void AlterTopicConfigs(string region, string topic, params (string Key, string? Value)[] changes)
    {
        lock (_configGate)
        {
            if (!Topics(region).ContainsKey(topic)) throw new InvalidOperationException($"no topic '{topic}' in {region}");
            var configs = _topicConfigs.TryGetValue((region, topic), out var known) ? known : _topicConfigs[(region, topic)] = new(StringComparer.Ordinal);
            foreach (var (key, value) in changes)
            {
                if (value is null) configs.Remove(key);
                else configs[key] = value;
            }
        }
    }

    /// <summary>The configs set on the topic, or null when the region has no such topic.</summary>
    public IReadOnlyDictionary<string, string>? TopicConfigs(string region, string topic)
    {
        lock (_configGate)
        {
            if (!Topics(region).ContainsKey(topic)) return null;
            return _topicConfigs.TryGetValue((region, topic), out var configs)
                ? new Dictionary<string, string>(configs, StringComparer.Ordinal)
                : new Dictionary<string, string>(StringComparer.Ordinal);
        }
    }
}

/// <summary>Topic configs from the in-memory Kafka: everything it knows is set on the topic, as on the embedded Kafka.</summary>
public sealed class InMemoryTopicDescriptions(MeshWorld world) : ITopicDescriptions
{
    public Task<TopicConfigView?> DescribeConfigsAsync(string region, string topic, CancellationToken cancellationToken) =>
        Task.FromResult(world.Kafka.TopicConfigs(region, topic) is { } configs ? TopicConfigView.OfTopicLevel(configs) : null);
}
