using Mesh.Core.Backup;
using Mesh.Core.Backup.Archiving;
using Mesh.Core.Offsets;
using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Backup.Archiving;

/// <summary>
/// Regions that produce, replicate to each other and back up one partition, in random interleavings with
/// archivers that crash and come back (from stale checkpoints) and a region that dies for good: at the
/// end every origin stream's chain holds every record any surviving region holds, once, in origin order,
/// byte for byte. With retention on, regions drop the oldest records of their logs now and then: a record a
/// surviving region still holds is then in the chain or, where it was recorded missing before that region
/// could fill it in, inside one of the chain's gaps.
/// </summary>
public sealed class ArchiverSimulationTests
{
    private static readonly ArchiverSettings Settings = new(600, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(12));
    private static readonly string[] Regions = ["a", "b", "c"];
    private static readonly Dictionary<string, string> Incarnations = new() { ["a"] = "0000000a", ["b"] = "0000000b", ["c"] = "0000000c" };

    private sealed class Region(string id, int seed)
    {
        public string Id { get; } = id;
        public List<(SourceRecord Record, RecordIdentity Identity)> Log { get; } = [];
        /// <summary>Retention removed the records below this local offset.</summary>
        public int LogStart { get; set; }
        public bool Dead { get; set; }
        public PartitionArchiver? Archiver { get; set; }
        public int DownFor { get; set; }
        public ArchiverCheckpoint? Checkpoint { get; set; }
        public Random Random { get; } = new(seed);
    }

    private sealed record Totals(long TakeOvers, long RacesLost, long Restarts, long GapRecords);

    public static IEnumerable<object[]> Seeds() => Enumerable.Range(0, 40).Select(s => new object[] { s });

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Every_record_is_backed_up_once_whoever_writes_it(int seed) => Run(seed, killOne: seed % 2 == 1, time => new FakeSimulatedChains());

    [Theory]
    [MemberData(nameof(Seeds))]
    public void With_retention_every_record_still_held_somewhere_is_backed_up_or_inside_a_recorded_gap(int seed) =>
        Run(seed, killOne: seed % 2 == 1, time => new FakeSimulatedChains(), retention: true);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Every_record_is_backed_up_once_through_real_chains_and_segments(int seed) =>
        Run(seed, killOne: seed % 2 == 1, time => new StoreSimulatedChains(time));

    [Fact]
    public void The_interesting_paths_run()
    {
        var totals = Enumerable.Range(0, 40).Select(s => Run(s, killOne: s % 2 == 1, time => new FakeSimulatedChains())).ToArray();
        Assert.True(totals.Sum(t => t.TakeOvers) > 0, "no stream was ever taken over");
        Assert.True(totals.Sum(t => t.RacesLost) > 0, "no append ever lost a race");
        Assert.True(totals.Sum(t => t.Restarts) > 0, "no archiver ever restarted");
        var withRetention = Enumerable.Range(0, 40).Select(s => Run(s, killOne: s % 2 == 1, time => new FakeSimulatedChains(), retention: true)).ToArray();
        Assert.True(withRetention.Sum(t => t.GapRecords) > 0, "retention never made a gap");
    }

    private static Totals Run(int seed, bool killOne, Func<TimeProvider, ISimulatedChains> chainsOf, bool retention = false)
    {
        var random = new Random(seed);
        var time = new ManualTime();
        var chains = chainsOf(time);
        var regions = Regions.Select((id, i) => new Region(id, seed * 31 + i)).ToDictionary(r => r.Id);
        var pending = new Dictionary<(string From, string To), Queue<(long Offset, string Text)>>();
        foreach (var from in Regions)
            foreach (var to in Regions.Where(t => t != from)) pending[(from, to)] = new();
        var produced = new Dictionary<(string Region, long Offset), string>();
        long takeOvers = 0, races = 0, restarts = 0, gapRecords = 0;
        var killed = false;

        foreach (var region in regions.Values) Restart(region);

        for (var step = 0; step < 1500; step++)
        {
            var region = regions[Regions[random.Next(Regions.Length)]];
            switch (random.Next(10))
            {
                case 0 or 1 when !region.Dead:
                    Produce(region, random.Next(1, 4));
                    break;
                case 2 or 3:
                    var link = pending.Keys.ElementAt(random.Next(pending.Count));
                    for (var n = random.Next(1, 5); n > 0 && pending[link].Count > 0; n--) Replicate(link.From, link.To);
                    break;
                case 4 when region.Archiver is not null:
                    Read(region, random.Next(1, 8));
                    break;
                case 5:
                    time.Advance(TimeSpan.FromMilliseconds(random.Next(0, 3000)));
                    if (retention && random.Next(4) == 0) region.LogStart = Math.Min(region.Log.Count, region.LogStart + random.Next(1, 8));
                    foreach (var down in regions.Values.Where(r => r.Archiver is null && !r.Dead))
                        if (--down.DownFor <= 0) Restart(down);
                    break;
                case 6 when region.Archiver is not null:
                    Append(region, flush: random.Next(5) == 0);
                    break;
                case 7 when region.Archiver is not null:
                    Refresh(region);
                    region.Archiver.TakeOver();
                    break;
                case 8 when region.Archiver is not null:
                    region.Checkpoint = region.Archiver.Checkpoint();
                    break;
                case 9 when region.Archiver is not null && random.Next(6) == 0:
                    Crash(region);
                    break;
                case 9 when killOne && !killed && step > 500 && !region.Dead:
                    Kill(region);
                    killed = true;
                    break;
            }
        }

        // Quiet down: everything produced reaches the live regions, and the archivers run until nothing is left.
        foreach (var link in pending.Keys) while (pending[link].Count > 0) Replicate(link.From, link.To);
        foreach (var region in regions.Values.Where(r => !r.Dead && r.Archiver is null)) Restart(region);
        for (var round = 0; round < 30; round++)
        {
            time.Advance(TimeSpan.FromSeconds(2));
            foreach (var region in regions.Values.Where(r => r.Archiver is not null))
            {
                Read(region, int.MaxValue);
                Refresh(region);
                region.Archiver!.TakeOver();
                Read(region, int.MaxValue);
                Append(region, flush: false);
            }
        }

        foreach (var origin in Regions)
        {
            var stream = new BackupStream("orders", 0, origin, Incarnations[origin]);
            var backed = chains.Records(stream);
            var offsets = backed.Select(r => r.OriginOffset).ToArray();
            Assert.True(offsets.Zip(offsets.Skip(1)).All(p => p.First < p.Second), $"seed {seed}: {stream} is not in strict origin order");
            foreach (var record in backed)
                Assert.Equal(produced[(origin, record.OriginOffset)], System.Text.Encoding.UTF8.GetString(record.Value!));
            var held = regions.Values.Where(r => !r.Dead)
                .SelectMany(r => r.Log.Skip(r.LogStart).Where(l => l.Identity.Origin.Region == origin).Select(l => l.Identity.OriginOffset))
                .ToHashSet();
            var gaps = chains.Gaps(stream);
            Assert.All(gaps, g => Assert.DoesNotContain(offsets, o => o >= g.FromOffset && o <= g.ToOffset));
            gapRecords += gaps.Sum(g => g.Count);
            var missing = held.Except(offsets).Where(o => !gaps.Any(g => o >= g.FromOffset && o <= g.ToOffset)).Order().ToArray();
            Assert.True(missing.Length == 0,
                $"seed {seed}: {stream} misses {missing.Length} records held by a live region, first {missing.FirstOrDefault()} " +
                $"(held by {string.Join(", ", regions.Values.Where(r => !r.Dead && r.Log.Skip(r.LogStart).Any(l => l.Identity.Origin.Region == origin && l.Identity.OriginOffset == missing.FirstOrDefault())).Select(r => r.Id))}; " +
                $"chain offsets {Ranges(offsets)}; gaps {string.Join(", ", gaps.Select(g => $"{g.FromOffset}..{g.ToOffset}"))})");
        }
        takeOvers += regions.Values.Sum(r => r.Archiver?.Progress.TakeOvers ?? 0);
        return new Totals(takeOvers, races, restarts, gapRecords);

        static string Ranges(long[] sorted)
        {
            var parts = new List<string>();
            for (var i = 0; i < sorted.Length;)
            {
                var j = i;
                while (j + 1 < sorted.Length && sorted[j + 1] == sorted[j] + 1) j++;
                parts.Add(i == j ? $"{sorted[i]}" : $"{sorted[i]}..{sorted[j]}");
                i = j + 1;
            }
            return string.Join(",", parts);
        }

        void Produce(Region region, int count)
        {
            for (var i = 0; i < count; i++)
            {
                var offset = region.Log.Count;
                var text = $"{region.Id}-{offset}-{random.Next()}";
                produced[(region.Id, offset)] = text;
                region.Log.Add((Records.At(offset, text), Records.Own(region.Id, Incarnations[region.Id], offset)));
                foreach (var to in Regions.Where(t => t != region.Id)) pending[(region.Id, to)].Enqueue((offset, text));
            }
        }

        void Replicate(string from, string to)
        {
            var (originOffset, text) = pending[(from, to)].Dequeue();
            var destination = regions[to];
            if (destination.Dead || regions[from].Dead) return;
            var offset = destination.Log.Count;
            destination.Log.Add((Records.At(offset, text), Records.From(from, Incarnations[from], originOffset)));
        }

        void Read(Region region, int max)
        {
            var archiver = region.Archiver!;
            if (archiver.Position < region.LogStart) archiver.AcceptGap(archiver.Position, region.LogStart);
            for (var n = 0; n < max && archiver.Position < region.Log.Count; n++)
            {
                var (record, identity) = region.Log[(int)archiver.Position];
                archiver.Accept(record, identity);
            }
        }

        void Append(Region region, bool flush)
        {
            var archiver = region.Archiver!;
            foreach (var segment in archiver.Due(flush))
            {
                var result = chains.Append(region.Id, segment);
                if (!result.Appended) races++;
                archiver.Appended(segment, result);
            }
        }

        void Refresh(Region region)
        {
            foreach (var stream in region.Archiver!.Watched)
            {
                region.Archiver.TipRefreshed(stream, chains.Refresh(region.Id, stream));
            }
        }

        void Crash(Region region)
        {
            takeOvers += region.Archiver!.Progress.TakeOvers;
            region.Archiver = null;
            region.DownFor = random.Next(1, 40);
            restarts++;
        }

        void Kill(Region region)
        {
            if (region.Archiver is not null) takeOvers += region.Archiver.Progress.TakeOvers;
            region.Archiver = null;
            region.Dead = true;
        }

        void Restart(Region region)
        {
            var archiver = new PartitionArchiver(region.Id, Incarnations[region.Id], "orders", 0, Settings, time);
            var own = new BackupStream("orders", 0, region.Id, Incarnations[region.Id]);
            chains.Forget(region.Id);
            archiver.Start(chains.Refresh(region.Id, own), region.LogStart, region.Checkpoint);
            region.Archiver = archiver;
        }
    }
}
