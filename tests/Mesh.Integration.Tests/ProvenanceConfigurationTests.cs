using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>The provenance and bad-record settings are checked at start, naming each setting and never echoing a key.</summary>
public sealed class ProvenanceConfigurationTests
{
    [Fact]
    public async Task Bad_provenance_and_bad_record_settings_stop_the_silo_at_start_without_echoing_the_key()
    {
        const string shortKey = "short-secret-key-1234";
        var env = new Dictionary<string, string>
        {
            ["MESH_Mesh__Region"] = "us-east",
            ["MESH_Mesh__Kafka__BootstrapServers"] = "127.0.0.1:1",
            ["MESH_Mesh__Provenance__Key"] = shortKey,
            ["MESH_Mesh__Provenance__AdditionalKey"] = " padded-additional-key-with-spaces-around ",
            ["MESH_Mesh__Provenance__Untrusted"] = "lenient",
            ["MESH_Mesh__Provenance__UntrustedHeader"] = "hide",
            ["MESH_Mesh__Replication__OnBadRecord"] = "drop",
            ["MESH_Mesh__TopicPolicies__0__Topics"] = "payments",
            ["MESH_Mesh__TopicPolicies__0__OnBadRecord"] = "skip",
        };
        var result = await MeshProcesses.SiloAsync(TimeSpan.FromMinutes(1), env);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Mesh:Provenance:Key (env MESH_Mesh__Provenance__Key): is 21 characters long; a mesh key needs at least 32", result.Stderr);
        Assert.Contains("Mesh:Provenance:AdditionalKey", result.Stderr);
        Assert.Contains("white space", result.Stderr);
        Assert.Contains("Mesh:Provenance:Untrusted (env MESH_Mesh__Provenance__Untrusted): 'lenient' is not a choice", result.Stderr);
        Assert.Contains("Mesh:Provenance:UntrustedHeader", result.Stderr);
        Assert.Contains("Mesh:Replication:OnBadRecord", result.Stderr);
        Assert.Contains("Mesh:TopicPolicies:0:OnBadRecord", result.Stderr);
        Assert.DoesNotContain(shortKey, result.Stderr + result.Stdout);
        Assert.DoesNotContain("padded-additional-key", result.Stderr + result.Stdout);
    }

    [Fact]
    public async Task An_additional_key_needs_the_signing_key()
    {
        var env = new Dictionary<string, string>
        {
            ["MESH_Mesh__Region"] = "us-east",
            ["MESH_Mesh__Kafka__BootstrapServers"] = "127.0.0.1:1",
            ["MESH_Mesh__Provenance__AdditionalKey"] = "an-additional-key-that-is-long-enough-0123",
        };
        var result = await MeshProcesses.SiloAsync(TimeSpan.FromMinutes(1), env);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Mesh:Provenance:AdditionalKey (env MESH_Mesh__Provenance__AdditionalKey): is set without Mesh:Provenance:Key", result.Stderr);
    }
}
