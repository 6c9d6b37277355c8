using Mesh.Core.Replication;

namespace Mesh.Grains.Ports;

/// <summary>Describes the configs of topics in any region's cluster; one per silo, sharing the silo's admin clients.</summary>
public interface ITopicDescriptions
{
    /// <summary>
    /// The configs of <paramref name="topic"/> in <paramref name="region"/>: those set on the topic itself
    /// (Kafka's DYNAMIC_TOPIC_CONFIG) and every value the cluster reports; null when the topic does not
    /// exist. Throws when they cannot be read (no permission to describe configs, cluster unreachable).
    /// </summary>
    Task<TopicConfigView?> DescribeConfigsAsync(string region, string topic, CancellationToken cancellationToken);
}
