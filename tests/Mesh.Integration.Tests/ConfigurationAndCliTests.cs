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
            // The links come from a topology now: the old per-silo peers are refused with the way forward.
            Assert.Contains("Mesh:Peers", result.Stderr);
            Assert.Contains("Mesh:Topology:File", result.Stderr);
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
    [InlineData("--regions us-east,eu+west", "region id 'eu+west'")]
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
    [InlineData("drill")]
    [InlineData("quarantine", "list")]
    [InlineData("quarantine", "replay")]
    [InlineData("topology", "apply")]
    [InlineData("topology", "get")]
    [InlineData("link", "pause")]
    [InlineData("link", "resume")]
    [InlineData("audit")]
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

    [Theory]
    [InlineData("--all", "--region is required")]
    [InlineData("--region us-east", "--offset N[,N...]")]
    [InlineData("--region us-east --offset 3 --all", "--offset and --all exclude each other")]
    [InlineData("--region us-east --offset 3,x", "--offset: 'x' is not a quarantine offset")]
    [InlineData("--region us-east --offset -1", "--offset: '-1' is not a quarantine offset")]
    public async Task Quarantine_replay_usage_errors_exit_2_and_name_the_option(string args, string message)
    {
        // No mesh in the folder: the options are checked before anything is loaded or connected.
        var dir = Path.Combine(Path.GetTempPath(), "mesh-tests", "replay-" + Guid.NewGuid().ToString("N")[..8]);
        var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), ["quarantine", "replay", .. args.Split(' '), "--dir", dir]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
        Assert.Contains("mesh quarantine replay --help", result.Stderr);
    }

    [Fact]
    public async Task Quarantine_explains_list_and_replay()
    {
        var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "quarantine", "--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("list", result.Stdout);
        Assert.Contains("replay", result.Stdout);
        Assert.Contains("__mesh_quarantine", result.Stdout);

        var replay = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "quarantine", "replay", "--help");
        Assert.Contains("topic and partition it was meant for", replay.Stdout);
        Assert.Contains("--force", replay.Stdout);
    }

    [Fact]
    public async Task Quarantine_list_of_a_folder_without_a_mesh_says_how_to_start_one_like_status()
    {
        var dir = "/tmp/no-mesh-here-" + Guid.NewGuid().ToString("N");
        var status = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "status", "--dir", dir);
        var list = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "quarantine", "list", "--dir", dir);
        Assert.NotEqual(0, list.ExitCode);
        Assert.Equal(status.ExitCode, list.ExitCode);
        Assert.Contains("mesh local up", list.Stderr);
        Assert.Contains(dir, list.Stderr);
    }

    [Fact]
    public async Task Quarantine_list_reports_each_region_it_cannot_reach_and_exits_3()
    {
        // A mesh whose processes are all stopped: no silo to ask, so no grain is needed.
        var dir = Path.Combine(Path.GetTempPath(), "mesh-tests", "quarantine-down-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "mesh.json"), """
            { "regions": [ { "id": "us-east", "silos": [ { "instance": 1, "siloPort": 1, "gatewayPort": 2 } ] },
                           { "id": "eu-west", "silos": [ { "instance": 1, "siloPort": 3, "gatewayPort": 4 } ] } ],
              "brokers": 1, "partitions": 1, "topics": [ "orders" ], "links": [] }
            """);
        try
        {
            var json = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "quarantine", "list", "--json", "--dir", dir);
            Assert.Equal(3, json.ExitCode);
            using var document = System.Text.Json.JsonDocument.Parse(json.Stdout);
            var regions = document.RootElement.GetProperty("regions").EnumerateArray().ToList();
            Assert.Equal(["us-east", "eu-west"], regions.Select(r => r.GetProperty("region").GetString()));
            Assert.All(regions, r =>
            {
                Assert.Empty(r.GetProperty("records").EnumerateArray());
                Assert.Contains("no silo is running", r.GetProperty("error").GetString());
            });

            var table = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "quarantine", "list", "--region", "eu-west", "--dir", dir);
            Assert.Equal(3, table.ExitCode);
            Assert.Contains("eu-west", table.Stdout);
            Assert.DoesNotContain("us-east", table.Stdout);
            Assert.Contains("mesh local start eu-west", table.Stdout);

            var unknown = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "quarantine", "list", "--region", "ap-south", "--dir", dir);
            Assert.Equal(2, unknown.ExitCode);
            Assert.Contains("--region", unknown.Stderr);
            Assert.Contains("us-east, eu-west", unknown.Stderr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Status_of_a_folder_without_a_mesh_says_how_to_start_one()
    {
        var result = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "status", "--dir", "/tmp/no-mesh-here-" + Guid.NewGuid().ToString("N"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("mesh local up", result.Stderr);
    }
}
