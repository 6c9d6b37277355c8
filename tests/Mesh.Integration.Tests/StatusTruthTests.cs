using System.Diagnostics;
using System.Text.Json;
using Mesh.Client.Traffic;
using Mesh.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Mesh.Integration.Tests;

/// <summary>Two regions of three brokers each, shared by the tests below: starting regions is the slow part.</summary>
public sealed class StatusTruthMesh : IAsyncLifetime
{
    public static readonly string[] Regions = ["r1", "r2"];
    public const string Topic = "orders";

    public TestMesh Mesh { get; } = TestMesh.InNewFolder("truth");

    public Task InitializeAsync() => Mesh.UpAsync(Regions, partitions: 2, Topic);

    public async Task DisposeAsync() => await Mesh.DisposeAsync();
}

/// <summary>
/// <c>mesh status</c> says what the silos see of the brokers, not whether the region host process runs: a region whose
/// brokers are all down is unreachable and the links into and out of it wait (with the reason and since when), exit 3;
/// one broker down is degraded; back up, everything is up and replicating again and the replicas are exact.
/// </summary>
public sealed class StatusTruthTests(StatusTruthMesh fixture, ITestOutputHelper output) : IClassFixture<StatusTruthMesh>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(1);
    private TestMesh Mesh => fixture.Mesh;

    private sealed record Seen(MeshProcesses.Result Result, JsonDocument? Json)
    {
        public JsonElement Region(string id) =>
            Json!.RootElement.GetProperty("regions").EnumerateArray().Single(r => r.GetProperty("region").GetString() == id);

        public string Kafka(string id) => Region(id).GetProperty("kafka").GetString()!;

        /// <summary>The topic states of the link source -> destination, as the destination reports it.</summary>
        public IReadOnlyList<JsonElement> Topics(string source, string destination) =>
            [.. Region(destination).GetProperty("links").EnumerateArray().Single(l => l.GetProperty("source").GetString() == source).GetProperty("topics").EnumerateArray()];

        public override string ToString() => Result.ToString();
    }

    private async Task<Seen> StatusAsync()
    {
        var result = await MeshProcesses.MeshAsync(CliTimeout, "status", "--json", "--dir", Mesh.Dir);
        try
        {
            return new Seen(result, JsonDocument.Parse(result.Stdout));
        }
        catch (JsonException)
        {
            return new Seen(result, null);
        }
    }

    private string Control(string region) => File.ReadAllText(Path.Combine(Mesh.Dir, region, "kafka", "control")).Trim().TrimEnd('/');

    private async Task BrokersAsync(string region, string which, string upOrDown)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        (await http.PostAsync($"{Control(region)}/brokers/{which}/{upOrDown}", null)).EnsureSuccessStatusCode();
    }

    private static bool Waiting(JsonElement topic) =>
        topic.GetProperty("state").GetString() == "waiting"
        && topic.GetProperty("error").GetString() is { Length: > 0 } error && error.Contains("r1")
        && topic.GetProperty("waitingSince").GetString() is { } since
        && DateTimeOffset.TryParse(since, out var at) && at.Offset == TimeSpan.Zero && since.EndsWith('Z');

    private static bool AllUp(Seen s) =>
        s.Json is not null && s.Result.ExitCode == 0 && StatusTruthMesh.Regions.All(r => s.Kafka(r) == "up")
        && s.Topics("r1", "r2").Concat(s.Topics("r2", "r1")).All(t => t.GetProperty("state").GetString() == "replicating");

    [Fact]
    public async Task All_brokers_of_a_region_down_make_it_unreachable_and_its_links_wait_then_everything_comes_back_exact()
    {
        var before = Mesh.RecordCount("r2", StatusTruthMesh.Topic);
        await Task.WhenAll(StatusTruthMesh.Regions.Select(r => Task.Run(() => TestTraffic.ProduceAsync(Mesh.Local.Bootstrap(r), r, StatusTruthMesh.Topic, 200, keys: 20, firstSequence: 0))));
        await Eventually.WaitAsync("every region up and every link replicating", StatusAsync, AllUp, Deadline, s => s.ToString());

        await BrokersAsync("r1", "all", "down");
        var downAt = Stopwatch.StartNew();
        var outage = await Eventually.WaitAsync("r1 unreachable, the links r1->r2 and r2->r1 waiting, exit code 3", StatusAsync,
            s => s.Json is not null && s.Result.ExitCode == 3 && s.Kafka("r1") == "unreachable" && s.Kafka("r2") == "up"
                 && s.Topics("r1", "r2").All(Waiting) && s.Topics("r2", "r1").All(Waiting),
            Deadline, s => s.ToString());
        output.WriteLine($"status showed the outage {downAt.Elapsed.TotalSeconds:0.0} s after the brokers went down");
        Assert.False(string.IsNullOrEmpty(outage.Region("r1").GetProperty("kafkaError").GetString()), outage.ToString());
        // Still reachable: r1's silos answer and say what they see.
        Assert.True(outage.Region("r1").GetProperty("reachable").GetBoolean(), outage.ToString());

        // r2 keeps taking writes while r1 cannot be reached; they reach r1 once it is back.
        await TestTraffic.ProduceAsync(Mesh.Local.Bootstrap("r2"), "r2", StatusTruthMesh.Topic, 300, keys: 20, firstSequence: 200);
        await BrokersAsync("r1", "all", "up");
        var upAt = Stopwatch.StartNew();
        await Eventually.WaitAsync("every region up and every link replicating again, exit code 0", StatusAsync, AllUp, Deadline, s => s.ToString());
        output.WriteLine($"status showed the recovery {upAt.Elapsed.TotalSeconds:0.0} s after the brokers came back");

        var check = await Mesh.WaitAndCheckAsync(StatusTruthMesh.Topic, new Dictionary<string, int> { ["r1"] = 200, ["r2"] = 500 }, TimeSpan.FromMinutes(2));
        Assert.True(check.Ok, string.Join("\n", check.Problems));
        Assert.Equal(0, before);
        Assert.All(check.RecordsPerRegion.Values, n => Assert.Equal(700, n));
    }

    [Fact]
    public async Task One_broker_down_makes_the_region_degraded_and_exit_3_until_it_is_back()
    {
        await Eventually.WaitAsync("every region up", StatusAsync, s => s.Json is not null && StatusTruthMesh.Regions.All(r => s.Kafka(r) == "up"), Deadline, s => s.ToString());
        await BrokersAsync("r2", "2", "down");
        try
        {
            var degraded = await Eventually.WaitAsync("r2 degraded (2 of 3 brokers), exit code 3", StatusAsync,
                s => s.Json is not null && s.Result.ExitCode == 3 && s.Kafka("r2") == "degraded" && s.Kafka("r1") == "up", Deadline, s => s.ToString());
            var r2 = degraded.Region("r2");
            Assert.Equal(3, r2.GetProperty("kafkaBrokers").GetInt32());
            Assert.Equal(2, r2.GetProperty("kafkaBrokersUp").GetInt32());
            Assert.Contains("2 (", r2.GetProperty("kafkaError").GetString());
        }
        finally
        {
            await BrokersAsync("r2", "2", "up");
        }
        await Eventually.WaitAsync("r2 up again, exit code 0", StatusAsync,
            s => s.Json is not null && s.Result.ExitCode == 0 && s.Kafka("r2") == "up", Deadline, s => s.ToString());
    }
}
