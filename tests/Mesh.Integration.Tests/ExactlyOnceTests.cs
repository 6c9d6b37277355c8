using System.Diagnostics;
using Mesh.Client.Local;
using Mesh.Client.Traffic;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// A topic in exactly-once mode between two regions of embedded Kafka: streamed into both, a destination silo
/// SIGKILLed mid-stream and restarted. Every record arrives once, each batch was a transaction (its commit marker
/// takes an offset, so a partition's end runs ahead of its records), and an outside read_committed consumer (kcat)
/// reads every record once.
/// </summary>
[Collection(Alone.Name)] // transactions, 1500 records a second from each region
public sealed class ExactlyOnceTests
{
    private static readonly string[] Regions = ["us-east", "eu-west"];
    private const string Topic = "orders";

    [Fact]
    public async Task An_exactly_once_topic_survives_a_silo_kill_with_every_record_once_in_committed_transactions()
    {
        await using var mesh = TestMesh.InNewFolder("eos");
        var file = Path.Combine(mesh.Dir, "eos.yaml");
        await File.WriteAllTextAsync(file, """
            name: eos
            version: 1
            pattern: mesh
            regions:
              us-east: {}
              eu-west: {}
            topics:
              exactly-once: [orders]
            """);
        mesh.WithShortTakeOver("eu-west"); // its silo is killed below: an 8 s take-over wait, not 19 s
        await mesh.UpAsync(LocalTopologyPlan.FromFile(file), partitions: 4, Topic);

        const int perRegion = 6000;
        var produced = Regions.ToDictionary(r => r, _ => perRegion);
        var clock = Stopwatch.StartNew();
        var producers = mesh.StreamIntoAsync(Regions, Topic, perRegion, recordsPerSecond: 1500);

        await Eventually.WaitAsync("us-east -> eu-west to replicate a part of the stream",
            () => mesh.ReplicatedAsync("us-east", "eu-west", Topic), n => n > 1500, TimeSpan.FromMinutes(1));
        Assert.Single(await mesh.Local.KillAsync("eu-west", silo: true, kafka: false));
        Assert.Equal(["silo"], await mesh.Local.StartAsync("eu-west"));
        await producers;

        // A partition's end counts commit markers too, so waiting on ends is not enough: wait for the exact check.
        var check = await Eventually.WaitAsync("both regions to hold every record once",
            () => Task.FromResult(ReplicaCheck.Check(
                Regions.ToDictionary(r => r, r => TestTraffic.ReadAll(mesh.Local.Bootstrap(r), Topic, TimeSpan.FromSeconds(60))), produced)),
            c => c.Ok, TimeSpan.FromMinutes(3), c => string.Join("; ", c.Problems.Take(5)));
        var seconds = clock.Elapsed.TotalSeconds;
        Assert.All(check.RecordsPerRegion.Values, n => Assert.Equal(2 * perRegion, n));

        // Every replicated batch is a committed transaction with a marker of its own: a region's ends exceed its records
        // by at least the transactions its replicators (the ones running now) report committed.
        foreach (var region in Regions)
        {
            var status = await mesh.StatusAsync(region);
            var partitions = status.InboundLinks.Single().Topics.Single(t => t.Topic == Topic).PartitionDetail;
            Assert.All(partitions, p => Assert.True(p.Transactions is { Committed: > 0 }, $"{region} {Topic}/{p.Partition}: transactions {p.Transactions}"));
            var committed = partitions.Sum(p => p.Transactions!.Committed);
            var markers = mesh.RecordCount(region, Topic) - 2 * perRegion;
            Assert.True(markers >= committed, $"{region}: the partitions' ends exceed the records by {markers}, fewer than the {committed} transactions committed");
            Console.WriteLine($"{region}: {committed} transactions committed since the last start ({partitions.Sum(p => p.Transactions!.Aborted)} aborted), " +
                              $"{markers} offsets beyond the records (markers)");
        }
        Console.WriteLine($"exactly-once: {4 * perRegion / seconds:N0} records/s replicated across both links, kill and take-over included ({seconds:N1} s)");

        // An outside client reading committed records only sees each record once.
        var committedRead = await Kcat.ReadAllAsync(mesh.Local.Bootstrap("eu-west"), Topic, "isolation.level=read_committed");
        var values = committedRead.Select(line => line.Split('|')[2]).ToList();
        Assert.Equal(2 * perRegion, values.Count);
        Assert.Equal(values.Count, values.Distinct(StringComparer.Ordinal).Count());

        var json = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "status", "--json", "--dir", mesh.Dir);
        Assert.Equal(0, json.ExitCode);
        Assert.Contains("\"transactions\": {", json.Stdout);
    }
}
