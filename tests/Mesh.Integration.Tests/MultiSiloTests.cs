using System.Text.RegularExpressions;
using Mesh.Backup;
using Mesh.Client.Local;
using Mesh.Client.Traffic;
using Mesh.Core.Topology;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// A region of two silos: replicators spread over both, and when one silo dies for good Orleans
/// re-activates its replicators on the other, which resume from their checkpoints. No consumer
/// group, so no rebalance of anything else; nothing lost, nothing duplicated. The backup runs all
/// along: the dead silo's partition archivers resume on the survivor too, and the store ends with
/// every record of each region once.
/// </summary>
[Collection(Alone.Name)] // two silos a region, 4000 records a second from each region
public sealed class MultiSiloTests
{
    private static readonly string[] Regions = ["us-east", "eu-west"];
    private const string Topic = "orders";
    private const int Partitions = 12;

    [Fact]
    public async Task When_one_of_a_regions_silos_dies_the_others_take_over_its_partitions_exactly()
    {
        await using var mesh = TestMesh.InNewFolder("silos");
        mesh.WithShortTakeOver(Regions);
        var store = Path.Combine(mesh.Dir, "backup-store");
        var plan = LocalTopologyPlan.FromPattern(Regions, "active-active", hub: null, primary: null)
            .WithBackup(new BackupSettings(store) { SegmentSeconds = 2, SegmentBytes = 256 * 1024 });
        await mesh.Local.UpAsync(plan, brokers: 3, Partitions, [Topic], TimeSpan.FromMinutes(2), silosPerRegion: 2);

        // Both of eu-west's silos run some of the us-east -> eu-west replicators, evenly once the spread
        // grain has moved any surplus (a replicator it moves resumes on its new silo, so both logs may name it).
        var spread = await Eventually.WaitAsync("eu-west's replicators to spread over both silos", () => SiloSpread.OfAsync(mesh, "eu-west"),
            s => s.Placed == Partitions && s.PerSilo.Count == 2 && s.PerSilo.Values.Max() - s.PerSilo.Values.Min() <= 1, TimeSpan.FromMinutes(1));
        var onSecond = ResumedPartitions(mesh, instance: 2);
        Assert.True(onSecond.Count is > 0, $"replicators were not spread: {spread}");

        const int perRegion = 12000;
        var produced = Regions.ToDictionary(r => r, _ => perRegion);
        var producers = mesh.StreamIntoAsync(Regions, Topic, perRegion, recordsPerSecond: 4000);

        await Eventually.WaitAsync("us-east -> eu-west to replicate a part of the stream",
            () => mesh.ReplicatedAsync("us-east", "eu-west", Topic), n => n > 3000, TimeSpan.FromMinutes(1));
        // Archivers set up only once replication has no backlog (at most 30 s later): the silo to be killed must have
        // run some, or the backup check below would not cover a dead silo's share.
        await Eventually.WaitAsync("eu-west's second silo to run archivers", () => Task.FromResult(SiloLogText(mesh, instance: 2)),
            text => ArchiverStarted.IsMatch(text), TimeSpan.FromMinutes(1), _ => "none yet");
        var killed = await mesh.Local.KillAsync("eu-west", silo: true, kafka: false, instance: 2);
        Assert.Single(killed);
        Assert.True(mesh.Local.IsSiloRunning("eu-west", 1));
        Assert.False(mesh.Local.IsSiloRunning("eu-west", 2));
        await producers;
        // Records after the kill, so every partition the dead silo ran has work that only a take-over does
        // (on a fast machine the stream can be replicated whole before the kill).
        const int afterKill = 1200;
        await Task.WhenAll(Regions.Select(r => Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap(r), r, Topic, afterKill, keys: 100, firstSequence: perRegion))));
        produced = Regions.ToDictionary(r => r, _ => perRegion + afterKill);

        var check = await mesh.WaitAndCheckAsync(Topic, produced, TimeSpan.FromMinutes(3));
        Assert.True(check.Ok, string.Join("\n", check.Problems));
        Assert.All(check.RecordsPerRegion.Values, n => Assert.Equal(2 * (perRegion + afterKill), n));

        // The survivor resumed the dead silo's partitions from their checkpoints.
        var onFirst = ResumedPartitions(mesh, instance: 1);
        Assert.Superset(onSecond, onFirst);
        Assert.Equal(Partitions, onFirst.Count);

        // The backup, in the dead silo's share as elsewhere, holds exactly each region's own records: those its log holds without provenance.
        var own = Regions.ToDictionary(r => r, r => TestTraffic.ReadAll(mesh.Local.Bootstrap(r), Topic, TimeSpan.FromSeconds(30))
            .Where(x => x.Provenance is null).GroupBy(x => x.Partition).ToDictionary(g => g.Key, g => g.Select(x => x.Offset).Order().ToList()));
        Assert.All(own, o => Assert.Equal(perRegion + afterKill, o.Value.Values.Sum(v => v.Count)));
        var backed = await Eventually.WaitAsync("the backup to hold every record of both regions", () => BackupContents.ReadAsync(BackupStores.Open(store), Topic),
            b => Regions.All(r => own[r].All(p => b.TryGetValue((r, p.Key), out var records) && records.Count >= p.Value.Count)), TimeSpan.FromMinutes(2),
            b => string.Join(", ", b.Select(e => $"{e.Key.Region}/{e.Key.Partition}: {e.Value.Count}")));
        foreach (var region in Regions)
            foreach (var (partition, offsets) in own[region])
                Assert.Equal(offsets, backed[(region, partition)].Select(r => r.OriginOffset).Order().ToList());
        var killedSilo = await File.ReadAllTextAsync(mesh.Local.Paths.SiloLog("eu-west", 2));
        Assert.Matches(@"eu-west\|orders\|\d+: backing up to", killedSilo); // it ran archivers before it died
    }

    private static readonly System.Text.RegularExpressions.Regex ArchiverStarted = new(@"eu-west\|orders\|\d+: backing up to");

    private static string SiloLogText(TestMesh mesh, int instance)
    {
        var log = mesh.Local.Paths.SiloLog("eu-west", instance);
        if (!File.Exists(log)) return "";
        using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
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
