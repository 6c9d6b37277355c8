using System.Globalization;
using System.Text;
using Mesh.Core.Replication;
using Mesh.Client.Traffic;
using Mesh.Integration.Tests.Infrastructure;
using Mesh.Silo.Options;

namespace Mesh.Integration.Tests;

/// <summary>
/// Every silo of a local mesh serves Prometheus metrics: what the destination's silos together scrape as replicated for a link
/// and topic is exactly what was produced, record for record and byte for byte, with one latency per record, and the
/// lag goes back to 0; the shared Kafka clients report librdkafka's statistics there too.
/// </summary>
public sealed class MetricsTests
{
    private const int Records = 600;

    [Fact]
    public async Task The_destinations_silos_count_every_record_replicated_once_with_its_bytes_and_latency()
    {
        await using var mesh = TestMesh.InNewFolder("metrics");
        // librdkafka's statistics are off unless asked for.
        foreach (var region in new[] { "us-east", "eu-west" })
            mesh.Local.SiloEnvironment[region] = new() { ["MESH_Mesh__Metrics__KafkaStatisticsIntervalMs"] = "1000" };
        // Two silos a region: counters are each silo's own, and the link's partitions spread over both.
        await mesh.Local.UpAsync(["us-east", "eu-west"], brokers: 3, partitions: 4, ["orders"], TimeSpan.FromMinutes(2), silosPerRegion: 2);
        var silos = mesh.Local.State.Regions.SelectMany(r => r.Silos.Select(s => (Region: r.Id, s.MetricsUrl))).ToList();
        Assert.Equal(4, silos.Select(s => s.MetricsUrl).Distinct().Count());
        Assert.All(silos, s => Assert.NotNull(s.MetricsUrl));

        await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("us-east"), "us-east", "orders", Records, keys: 40);
        var check = await mesh.WaitAndCheckAsync("orders", new Dictionary<string, int> { ["us-east"] = Records }, TimeSpan.FromMinutes(2));
        Assert.True(check.Ok, string.Join("\n", check.Problems));
        var bytes = TestTraffic.ReadAll(mesh.Local.Bootstrap("eu-west"), "orders", TimeSpan.FromSeconds(30))
            .Sum(r => (long)Encoding.UTF8.GetByteCount(r.Key ?? "") + Encoding.UTF8.GetByteCount(r.Value ?? ""));

        var link = new Dictionary<string, string> { ["source"] = "us-east", ["destination"] = "eu-west", ["topic"] = "orders" };
        var destination = silos.Where(s => s.Region == "eu-west").Select(s => s.MetricsUrl!).ToList();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var scrape = await Eventually.WaitAsync($"eu-west's silos ({string.Join(", ", destination)}) to count {Records} records of us-east -> eu-west orders and a lag of 0",
            () => PrometheusText.ScrapeAsync(http, destination),
            s => s.Sum("mesh_records_replicated_total", link) == Records
                 && s.Sum("mesh_replication_latency_milliseconds_count", link) == Records
                 && s.Matching("mesh_replication_lag", link).Any() && s.Sum("mesh_replication_lag", link) == 0,
            TimeSpan.FromMinutes(1),
            s => $"records {s.Sum("mesh_records_replicated_total", link)}, latencies {s.Sum("mesh_replication_latency_milliseconds_count", link)}, " +
                 $"lag {string.Join("+", s.Matching("mesh_replication_lag", link).Select(l => l.Value))}");

        Assert.Equal(bytes, scrape.Sum("mesh_bytes_replicated_total", link));
        Assert.Equal(Records, scrape.Sum("mesh_replication_latency_milliseconds_bucket", new Dictionary<string, string>(link) { ["le"] = "+Inf" }));
        // The buckets run from 1 ms to a minute, and a local record takes far less than a minute.
        Assert.Equal([.. ReplicationMetrics.LatencyBucketsMs.Select(b => b.ToString(CultureInfo.InvariantCulture)), "+Inf"],
            scrape.Matching("mesh_replication_latency_milliseconds_bucket", link).Select(s => s.Labels["le"]).Distinct());
        Assert.Equal(Records, scrape.Sum("mesh_replication_latency_milliseconds_bucket", new Dictionary<string, string>(link) { ["le"] = "60000" }));

        // librdkafka's statistics of eu-west's shared clients: its reader of us-east caught up, its writer sent bytes.
        await Eventually.WaitAsync("eu-west's reader of us-east to report a consumer lag of 0 on orders, and its writer bytes sent",
            () => PrometheusText.ScrapeAsync(http, destination),
            s => s.Samples.Any(x => x.Name == "mesh_kafka_consumer_lag" && x.Labels["client"].StartsWith("mesh-eu-west-reads-us-east#", StringComparison.Ordinal)
                                    && x.Labels["topic"] == "orders" && x.Value == 0)
                 && s.Samples.Any(x => x.Name == "mesh_kafka_sent_bytes_total" && x.Labels["client"].StartsWith("mesh-eu-west-writer", StringComparison.Ordinal) && x.Value > 0),
            TimeSpan.FromSeconds(30),
            s => string.Join(", ", s.Samples.Where(x => x.Name.StartsWith("mesh_kafka_", StringComparison.Ordinal)).Select(x => $"{x.Name}{{{string.Join(",", x.Labels.Select(l => $"{l.Key}={l.Value}"))}}} {x.Value}")));

        // Nothing originated in eu-west, so the other direction wrote nothing; and each silo serves Orleans' own meters.
        var source = await PrometheusText.ScrapeAsync(http, silos.Where(s => s.Region == "us-east").Select(s => s.MetricsUrl!));
        Assert.Equal(0, source.Sum("mesh_records_replicated_total", new Dictionary<string, string> { ["source"] = "eu-west" }));
        Assert.Contains(source.Samples, s => s.Name.StartsWith("orleans_", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0, "127.0.0.1", 5000, null)]
    [InlineData(9464, "10.0.0.5", 0, null)]
    [InlineData(-1, "127.0.0.1", 5000, "Mesh:Metrics:Port (env MESH_Mesh__Metrics__Port): -1 is not a TCP port")]
    [InlineData(65536, "127.0.0.1", 5000, "Mesh:Metrics:Port (env MESH_Mesh__Metrics__Port): 65536 is not a TCP port")]
    [InlineData(30000, "127.0.0.1", 5000, "Mesh:Metrics:Port (env MESH_Mesh__Metrics__Port): equals the silo's Orleans port (30000)")]
    [InlineData(9464, "*", 5000, "Mesh:Metrics:Host (env MESH_Mesh__Metrics__Host): '*' is not an IP address")]
    [InlineData(9464, "127.0.0.1", 50, "Mesh:Metrics:KafkaStatisticsIntervalMs (env MESH_Mesh__Metrics__KafkaStatisticsIntervalMs): is 50")]
    public void The_metrics_settings_are_checked_naming_the_setting_its_variable_and_the_fix(int port, string host, int statisticsMs, string? problem)
    {
        var options = new RegionOptions { Region = "us-east" };
        options.Kafka.BootstrapServers = "b1:9092";
        options.Metrics.Port = port;
        options.Metrics.Host = host;
        options.Metrics.KafkaStatisticsIntervalMs = statisticsMs;

        var problems = RegionOptionsValidator.Validate(options);

        if (problem is null) Assert.Empty(problems);
        else Assert.StartsWith(problem, Assert.Single(problems));
    }

    [Fact]
    public async Task A_metrics_port_another_process_holds_stops_the_silo_before_it_starts_and_says_which_setting()
    {
        using var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        holder.Start();
        var port = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port;
        var result = await MeshProcesses.SiloAsync(TimeSpan.FromMinutes(1), new Dictionary<string, string>
        {
            ["MESH_Mesh__Region"] = "us-east",
            ["MESH_Mesh__Kafka__BootstrapServers"] = "127.0.0.1:1",
            ["MESH_Mesh__Metrics__Port"] = port.ToString(CultureInfo.InvariantCulture),
        });
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"Mesh:Metrics:Port (env MESH_Mesh__Metrics__Port): 127.0.0.1:{port} cannot be listened on", result.Stderr);
        Assert.Contains("Give each silo a port of its own, or 0 for no metrics endpoint", result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
    }
}
