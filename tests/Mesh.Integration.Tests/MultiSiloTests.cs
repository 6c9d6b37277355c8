using System.Text.RegularExpressions;
using Mesh.Client.Traffic;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// A region of two silos: replicators spread over both, and when one silo dies for good Orleans
/// re-activates its replicators on the other, which resume from their checkpoints. No consumer
/// group, so no rebalance of anything else; nothing lost, nothing duplicated.
/// </summary>
public sealed class MultiSiloTests
{
    private static readonly string[] Regions = ["us-east", "eu-west"];
    private const string Topic = "orders";
    private const int Partitions = 12;

    [Fact]
    public async Task When_one_of_a_regions_silos_dies_the_others_take_over_its_partitions_exactly()
    {
        await using var mesh = TestMesh.InNewFolder("silos");
        await mesh.Local.UpAsync(Regions, brokers: 3, Partitions, [Topic], TimeSpan.FromMinutes(2), silosPerRegion: 2);

        // Both of eu-west's silos run some of the us-east -> eu-west replicators.
        var onSecond = await Eventually.WaitAsync("eu-west's second silo to run replicators",
            () => Task.FromResult(ResumedPartitions(mesh, instance: 2)), p => p.Count > 0, TimeSpan.FromMinutes(1), p => p.Count.ToString());
        Assert.True(onSecond.Count < Partitions, "every replicator landed on the second silo; placement did not spread them");

        const int batches = 30, perBatch = 400;
        var produced = Regions.ToDictionary(r => r, _ => batches * perBatch);
        var producers = Regions.Select(region => Task.Run(async () =>
        {
            for (var b = 0; b < batches; b++)
            {
                await TestTraffic.ProduceAsync(mesh.Local.Bootstrap(region), region, Topic, perBatch, keys: 64, firstSequence: b * perBatch);
                await Task.Delay(100);
            }
        })).ToList();

        await Eventually.WaitAsync("eu-west to receive some of us-east's records",
            () => Task.FromResult(mesh.RecordCount("eu-west", Topic)), n => n > 3000, TimeSpan.FromMinutes(1));
        var killed = await mesh.Local.KillAsync("eu-west", silo: true, kafka: false, instance: 2);
        Assert.Single(killed);
        Assert.True(mesh.Local.IsSiloRunning("eu-west", 1));
        Assert.False(mesh.Local.IsSiloRunning("eu-west", 2));
        await Task.WhenAll(producers);

        var check = await mesh.WaitAndCheckAsync(Topic, produced, TimeSpan.FromMinutes(3));
        Assert.True(check.Ok, string.Join("\n", check.Problems));
        Assert.All(check.RecordsPerRegion.Values, n => Assert.Equal(2 * batches * perBatch, n));

        // The survivor resumed the dead silo's partitions.
        var onFirst = ResumedPartitions(mesh, instance: 1);
        Assert.Superset(onSecond, onFirst);
    }

    private static HashSet<int> ResumedPartitions(TestMesh mesh, int instance)
    {
        var log = mesh.Local.Paths.SiloLog("eu-west", instance);
        if (!File.Exists(log)) return [];
        using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var text = new StreamReader(stream).ReadToEnd();
        return [.. Regex.Matches(text, @"us-east->eu-west\|orders\|(\d+): resuming").Select(m => int.Parse(m.Groups[1].Value))];
    }
}
