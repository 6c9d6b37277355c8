using Mesh.Kafka.Clients;

namespace Mesh.Core.Tests.Kafka;

public sealed class ProducerCompressionTests
{
    private static readonly TopicCompression[] Policies =
    [
        new("audit.*", null),             // says nothing about compression: skipped
        new("audit.*|metrics", "zstd"),
        new("orders", "LZ4"),             // codecs are case-insensitive, written lower-case
        new(".*", "gzip"),
    ];

    [Theory]
    // No policies: the region's codec, default none.
    [InlineData("orders", "none", false, "none")]
    [InlineData("orders", "snappy", false, "snappy")]
    // The first policy that matches the whole name and sets a codec.
    [InlineData("orders", "none", true, "lz4")]
    [InlineData("audit.logins", "none", true, "zstd")]
    [InlineData("metrics", "none", true, "zstd")]
    // Whole-name matching: 'orders' does not select 'orders-dlq'; the catch-all does.
    [InlineData("orders-dlq", "none", true, "gzip")]
    [InlineData("metrics.raw", "none", true, "gzip")]
    // Internal topics keep the region's codec whatever the patterns say.
    [InlineData("__mesh_checkpoints", "none", true, "none")]
    [InlineData("__mesh_quarantine", "snappy", true, "snappy")]
    [InlineData("__consumer_offsets", "ZSTD", true, "zstd")]
    public void A_topic_is_written_with_the_first_matching_policy_else_the_region_default(
        string topic, string regionDefault, bool withPolicies, string expected) =>
        Assert.Equal(expected, ProducerCompression.For(topic, regionDefault, withPolicies ? Policies : []));

    [Fact]
    public void The_default_options_write_uncompressed() =>
        Assert.Equal("none", new ProducerCompressionOptions().Default);

    [Theory]
    [InlineData("none", true)]
    [InlineData("gzip", true)]
    [InlineData("snappy", true)]
    [InlineData("lz4", true)]
    [InlineData("ZSTD", true)]
    [InlineData("brotli", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Only_the_five_kafka_codecs_are_codecs(string? value, bool expected) =>
        Assert.Equal(expected, ProducerCompression.IsCodec(value));
}
