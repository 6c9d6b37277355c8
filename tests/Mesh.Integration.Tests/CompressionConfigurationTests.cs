using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>Compression settings that cannot work stop the silo at start, each named with its fix.</summary>
public sealed class CompressionConfigurationTests
{
    [Fact]
    public async Task Unknown_codecs_bad_policy_patterns_and_compression_in_kafka_settings_are_each_named()
    {
        var config = Path.GetTempFileName();
        await File.WriteAllTextAsync(config, """
            { "Mesh": {
                "Region": "us-east",
                "Kafka": { "BootstrapServers": "127.0.0.1:1", "Settings": { "compression.type": "lz4", "compression.codec": "gzip" } },
                "Replication": { "Compression": "brotli" },
                "TopicPolicies": [
                  { "Topics": "orders.*", "Compression": "zstd" },
                  { "Topics": "payments(", "Compression": "lz5" },
                  { "Compression": "gzip" } ] } }
            """);
        try
        {
            var result = await MeshProcesses.SiloAsync(TimeSpan.FromMinutes(1), null, "--config", config);
            Assert.Equal(2, result.ExitCode);
            Assert.Contains("Mesh:Replication:Compression (env MESH_Mesh__Replication__Compression): 'brotli' is not a compression codec", result.Stderr);
            Assert.Contains("none, gzip, snappy, lz4, zstd", result.Stderr);
            Assert.Contains("Mesh:TopicPolicies:1:Topics (env MESH_Mesh__TopicPolicies__1__Topics): 'payments(' is not a valid regular expression", result.Stderr);
            Assert.Contains("Mesh:TopicPolicies:1:Compression (env MESH_Mesh__TopicPolicies__1__Compression): 'lz5'", result.Stderr);
            Assert.Contains("Mesh:TopicPolicies:2:Topics (env MESH_Mesh__TopicPolicies__2__Topics): is missing", result.Stderr);
            Assert.Contains("Mesh:Kafka:Settings:compression.type (env MESH_Mesh__Kafka__Settings__compression.type)", result.Stderr);
            Assert.Contains("Mesh:Kafka:Settings:compression.codec", result.Stderr);
            Assert.Contains("set Mesh:Replication:Compression", result.Stderr);
            // The valid entry is not reported.
            Assert.DoesNotContain("Mesh:TopicPolicies:0", result.Stderr);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task The_codec_can_be_set_through_the_environment_and_is_checked_there_too()
    {
        var env = new Dictionary<string, string>
        {
            ["MESH_Mesh__Region"] = "us-east",
            ["MESH_Mesh__Kafka__BootstrapServers"] = "127.0.0.1:1",
            ["MESH_Mesh__Replication__Compression"] = "LZ5",
        };
        var result = await MeshProcesses.SiloAsync(TimeSpan.FromMinutes(1), env);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("MESH_Mesh__Replication__Compression", result.Stderr);
        Assert.Contains("'LZ5' is not a compression codec", result.Stderr);
    }

    [Fact]
    public async Task The_silo_help_lists_the_compression_settings()
    {
        var result = await MeshProcesses.SiloAsync(TimeSpan.FromMinutes(1), null, "--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Mesh:Replication:Compression", result.Stdout);
        Assert.Contains("none (default) | gzip | snappy | lz4 | zstd", result.Stdout);
        Assert.Contains("Mesh:TopicPolicies:<i>:Compression", result.Stdout);
    }
}
