using Mesh.Core.Replication;

namespace Mesh.Kafka.Clients;

/// <summary>
/// Which compression the mesh writes records into its own region with. Filled from
/// <c>Mesh:Replication:Compression</c> and the <c>Mesh:TopicPolicies</c> entries that set one.
/// </summary>
public sealed class ProducerCompressionOptions
{
    /// <summary>The region's codec. Default <c>none</c>: every client can read it (kafkajs has no LZ4 codec of its own).</summary>
    public string Default { get; set; } = ProducerCompression.None;

    /// <summary>Per-topic overrides in order; the first entry whose pattern matches and that sets a codec wins.</summary>
    public List<TopicCompression> Topics { get; set; } = [];
}

/// <param name="Topics">Whole-name regular expression, as in <c>Mesh:Topics</c>.</param>
/// <param name="Compression">The codec for those topics; null: this entry says nothing about compression.</param>
public sealed record TopicCompression(string Topics, string? Compression);

/// <summary>The compression decision, apart from any producer so that it can be tested alone.</summary>
public static class ProducerCompression
{
    public const string None = "none";

    /// <summary>librdkafka's <c>compression.type</c> values, which every Kafka broker accepts.</summary>
    public static IReadOnlyList<string> Codecs { get; } = [None, "gzip", "snappy", "lz4", "zstd"];

    public static bool IsCodec(string? value) => value is not null && Codecs.Contains(value.ToLowerInvariant());

    /// <summary>
    /// The codec records of <paramref name="topic"/> are written with: the first policy that matches the
    /// whole name and sets a codec, else the region's. Internal topics (checkpoints, quarantine) always
    /// take the region's: they are the mesh's own, and a pattern such as <c>.*</c> is not meant for them.
    /// </summary>
    public static string For(string topic, string regionDefault, IEnumerable<TopicCompression> policies)
    {
        if (!TopicFilter.IsInternal(topic))
        {
            foreach (var policy in policies)
            {
                // TopicFilter's matching (whole name, the topology's regex dialect), so that a policy
                // selects exactly the topics the same pattern selects under Mesh:Topics.
                if (policy.Compression is { } codec && new TopicFilter([policy.Topics], []).Matches(topic))
                    return codec.ToLowerInvariant();
            }
        }
        return regionDefault.ToLowerInvariant();
    }
}
