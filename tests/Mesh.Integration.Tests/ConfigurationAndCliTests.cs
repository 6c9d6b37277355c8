using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>Bad input and bad configuration fail at once, saying what is wrong, where, and how to fix it.</summary>
public sealed class ConfigurationAndCliTests
{
    [Fact]
    public async Task An_invalid_region_configuration_stops_the_silo_at_start_naming_each_setting()
    {
        var config = Path.GetTempFileName();
        await File.WriteAllTextAsync(config, """
            { "Mesh": {
                "Region": "US East",
                "Kafka": { "BootstrapServers": "" , "Settings": { "group.id": "x" } },
                "Peers": { "eu-west": { "BootstrapServers": "127.0.0.1:1" } },
                "Topics": { "Include": [ "orders(" ] },
                "Orleans": { "Clustering": "zookeeper" } } }
            """);
        try
        {
            var result = await MeshProcesses.SiloAsync(TimeSpan.FromMinutes(1), null, "--config", config);
            Assert.Equal(2, result.ExitCode);
            Assert.Contains("Mesh:Region", result.Stderr);
            Assert.Contains("MESH_Mesh__Region", result.Stderr);
            Assert.Contains("Mesh:Kafka:BootstrapServers (env MESH_Mesh__Kafka__BootstrapServers): is missing", result.Stderr);
            Assert.Contains("Mesh:Kafka:Settings:group.id", result.Stderr);
            Assert.Contains("Mesh:Topics:Include:0", result.Stderr);
            Assert.Contains("Mesh:Orleans:Clustering", result.Stderr);
            Assert.Contains("\"localhost\"", result.Stderr);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task Environment_variables_override_the_file_and_a_missing_file_is_named()
    {
        var missing = await MeshProcesses.SiloAsync(TimeSpan.FromMinutes(1), null, "--config", "/nonexistent/region.json");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("/nonexistent/region.json", missing.Stderr);

        var env = new Dictionary<string, string> { ["MESH_Mesh__Region"] = "BAD!" };
        var result = await MeshProcesses.SiloAsync(TimeSpan.FromMinutes(1), env);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("region id 'BAD!'", result.Stderr);
    }

    [Theory]
    [InlineData("--regions us-east", "at least two regions")]
    [InlineData("--regions us-east,us-east", "names a region twice")]
    [InlineData("--regions us-east,EU", "region id 'EU'")]
    [InlineData("--regions a,b --partitions 0", "--partitions must be from 1 to 1000")]
    [InlineData("--regions a,b --topics __x", "internal name")]
    public async Task Local_up_rejects_bad_arguments_with_exit_code_2(string args, string message)
    {
        var dir = Path.Combine(Path.GetTempPath(), "mesh-tests", "badargs-" + Guid.NewGuid().ToString("N")[..8]);
        var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), ["local", "up", .. args.Split(' '), "--dir", dir]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
    }

    [Theory]
    [InlineData("local", "up")]
    [InlineData("local", "down")]
    [InlineData("local", "kill")]
    [InlineData("local", "start")]
    [InlineData("status")]
    [InlineData("demo")]
    public async Task Every_verb_explains_itself_with_help(params string[] verb)
    {
        var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), [.. verb, "--help"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Usage:", result.Stdout);
        Assert.Contains("--dir", result.Stdout);
    }

    [Theory]
    [InlineData("topology validate", "Required argument 'file' missing", "mesh topology validate --help")]
    [InlineData("local kill us-east --bogus", "'--bogus'", "mesh local kill --help")]
    [InlineData("", "Required command was not provided", "mesh --help")]
    public async Task Usage_errors_exit_2_and_point_at_the_right_help(string args, string message, string help)
    {
        var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), args.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
        Assert.Contains(help, result.Stderr);
    }

    [Fact]
    public async Task Status_of_a_folder_without_a_mesh_says_how_to_start_one()
    {
        var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "status", "--dir", "/tmp/no-mesh-here-" + Guid.NewGuid().ToString("N"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("mesh local up", result.Stderr);
    }
}
