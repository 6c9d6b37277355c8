using System.Text;
using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Replication;

/// <summary>
/// Three regions in a full mesh, one partition each, six links. Producers, replication batches,
/// checkpoints and crashes (including between writing to the destination and committing) are
/// interleaved at random; once everything is drained every region must hold every record exactly
/// once, in per-origin order, and another drain must add nothing.
/// </summary>
public sealed class FullMeshSimulationTests
{
    private static readonly string[] Regions = ["us-east", "eu-west", "ap-south"];
    private const int Partition = 2;

    public static IEnumerable<object[]> SimulationSeeds => Enumerable.Range(0, 200).Select(s => new object[] { s });

    [Theory]
    [MemberData(nameof(SimulationSeeds))]
    public void Every_region_ends_with_every_record_exactly_once(int seed)
    {
        var sim = new Simulation(seed);

        sim.Run(steps: 150 + seed % 250);
        sim.DrainUntilQuiescent();
        sim.AssertConverged();

        var lengths = sim.LogLengths();
        var written = sim.DrainUntilQuiescent();
        Assert.True(written == 0, $"seed {seed}: a second drain wrote {written} records (a loop or a duplicate)");
        Assert.Equal(lengths, sim.LogLengths());

        // A crash and full recovery of every link after convergence must not write anything either.
        sim.CrashAllLinks();
        Assert.True(sim.DrainUntilQuiescent() == 0, $"seed {seed}: recovering every link re-wrote records");
        Assert.Equal(lengths, sim.LogLengths());
        sim.AssertConverged();
    }

    [Fact]
    public void The_simulation_exercises_crashes_redelivery_and_duplicate_skips()
    {
        var totals = new Simulation.Counters();
        for (var seed = 0; seed < 50; seed++)
        {
            var sim = new Simulation(seed);
            sim.Run(steps: 300);
            sim.DrainUntilQuiescent();
            totals.Add(sim.Stats);
        }

        // Without these the property above would prove little.
        Assert.True(totals.CrashesAfterPartialWrite > 0, "no crash after a partial write");
        Assert.True(totals.CrashesAfterFullWrite > 0, "no crash between a full write and Commit");
        Assert.True(totals.CrashesWithoutWrite > 0, "no crash before writing");
        Assert.True(totals.Redelivered > 0, "the reader never re-delivered a record");
        Assert.True(totals.SkippedAlreadyApplied > 0, "recovery never had to skip an applied record");
        Assert.True(totals.SkippedLoop > 0, "no record was ever offered back to its origin");
        Assert.True(totals.SkippedNotOnRoute > 0, "no record was ever offered to a link off its route");
    }

    /// <summary>One region's partition as Kafka would hold it: offsets are list indexes.</summary>
    private sealed record LogRecord(byte[]? Key, byte[]? Value, long TimestampMs, IReadOnlyList<RecordHeader> Headers)
    {
        public SourceRecord At(long offset) => new(offset, Key, Value, TimestampMs, Headers);
    }

    private sealed class LinkState(string source, string destination)
    {
        public string Source { get; } = source;
        public string Destination { get; } = destination;
        public required PartitionReplication Live { get; set; }

        /// <summary>The last checkpoint, as stored in the destination's compacted topic (text).</summary>
        public string StoredCheckpoint { get; set; } = new ReplicationCheckpoint(0, new OriginVector(), 0).Encode();

        public override string ToString() => $"{Source}->{Destination}";
    }

    private sealed class Simulation
    {
        private readonly int _seed;
        private readonly Random _random;
        private readonly Dictionary<string, List<LogRecord>> _logs = Regions.ToDictionary(r => r, _ => new List<LogRecord>());
        private readonly List<LinkState> _links = [];

        /// <summary>Every record produced anywhere: (origin, origin offset) -> what it must look like everywhere.</summary>
        private readonly Dictionary<(string Origin, long Offset), LogRecord> _produced = [];

        private long _clock = -50; // starts negative so some timestamps are before the epoch

        public sealed class Counters
        {
            public int CrashesWithoutWrite;
            public int CrashesAfterPartialWrite;
            public int CrashesAfterFullWrite;
            public int Redelivered;
            public int SkippedAlreadyApplied;
            public int SkippedLoop;
            public int SkippedNotOnRoute;

            public void Add(Counters other)
            {
                CrashesWithoutWrite += other.CrashesWithoutWrite;
                CrashesAfterPartialWrite += other.CrashesAfterPartialWrite;
                CrashesAfterFullWrite += other.CrashesAfterFullWrite;
                Redelivered += other.Redelivered;
                SkippedAlreadyApplied += other.SkippedAlreadyApplied;
                SkippedLoop += other.SkippedLoop;
                SkippedNotOnRoute += other.SkippedNotOnRoute;
            }
        }

        public Counters Stats { get; } = new();

        public Simulation(int seed)
        {
            _seed = seed;
            _random = new Random(seed);
            foreach (var source in Regions)
            foreach (var destination in Regions)
            {
                if (source == destination) continue;
                _links.Add(new LinkState(source, destination) { Live = NewReplication(source, destination, new ReplicationCheckpoint(0, new OriginVector(), 0)) });
            }
        }

        public void Run(int steps)
        {
            for (var step = 0; step < steps; step++)
            {
                var roll = _random.Next(100);
                var link = _links[_random.Next(_links.Count)];
                if (roll < 35) Produce(Regions[_random.Next(Regions.Length)]);
                else if (roll < 80) Replicate(link, _random.Next(1, 9), allowCrash: true);
                else if (roll < 92) TakeCheckpoint(link);
                else Crash(link);
            }
        }

        /// <summary>Runs every link until none has anything left to read; returns how many records were written.</summary>
        public int DrainUntilQuiescent()
        {
            var written = 0;
            for (var round = 0; ; round++)
            {
                Assert.True(round < 100, $"seed {_seed}: no quiescence after 100 drain rounds");
                var progressed = false;
                foreach (var link in _links)
                {
                    var before = link.Live.NextSourceOffset;
                    written += Replicate(link, int.MaxValue, allowCrash: false);
                    progressed |= link.Live.NextSourceOffset != before;
                }
                if (!progressed) break;
            }
            foreach (var link in _links)
                Assert.True(link.Live.NextSourceOffset == _logs[link.Source].Count,
                    $"seed {_seed}: link {link} stopped at source offset {link.Live.NextSourceOffset} of {_logs[link.Source].Count}");
            return written;
        }

        public void CrashAllLinks()
        {
            foreach (var link in _links) Crash(link);
        }

        public Dictionary<string, int> LogLengths() => _logs.ToDictionary(l => l.Key, l => l.Value.Count);

        public void AssertConverged()
        {
            var expected = _produced.Keys.ToHashSet();
            foreach (var region in Regions)
            {
                var log = _logs[region];
                var seen = new HashSet<(string Origin, long Offset)>();
                var lastPerOrigin = new Dictionary<string, long>();
                for (var offset = 0; offset < log.Count; offset++)
                {
                    var where = $"seed {_seed}, region {region}, partition {Partition}, offset {offset}";
                    var record = log[offset];
                    var provenance = ProvenanceOf(region, offset, record, where);
                    var identity = (provenance.OriginRegion, provenance.OriginOffset);

                    Assert.True(seen.Add(identity), $"{where}: duplicate of {provenance.OriginRegion}@{provenance.OriginOffset}");
                    Assert.True(_produced.TryGetValue(identity, out var original), $"{where}: {provenance.OriginRegion}@{provenance.OriginOffset} was never produced");
                    Assert.True(lastPerOrigin.GetValueOrDefault(provenance.OriginRegion, -1) < provenance.OriginOffset,
                        $"{where}: {provenance.OriginRegion}@{provenance.OriginOffset} after {provenance.OriginRegion}@{lastPerOrigin.GetValueOrDefault(provenance.OriginRegion)}: per-origin order broken");
                    lastPerOrigin[provenance.OriginRegion] = provenance.OriginOffset;

                    Assert.True(provenance.Hops.Distinct().Count() == provenance.Hops.Length, $"{where}: hops {string.Join(',', provenance.Hops)} repeat a region");
                    Assert.Equal(provenance.OriginRegion, provenance.Hops[0]);
                    Assert.Equal(region, provenance.Hops[^1]);
                    Assert.True(provenance.Hops.Length == (provenance.OriginRegion == region ? 1 : 2), $"{where}: full mesh should need one hop, hops {string.Join(',', provenance.Hops)}");
                    Assert.Equal(Partition, provenance.OriginPartition);
                    Assert.Equal(original.TimestampMs, provenance.OriginTimestampMs);

                    Assert.Equal(original.Key, record.Key);
                    Assert.Equal(original.Value, record.Value);
                    Assert.Equal(original.TimestampMs, record.TimestampMs);
                    var applicationHeaders = record.Headers.Where(h => h.Name != ProvenanceCodec.HeaderName).Select(Describe);
                    Assert.Equal(original.Headers.Select(Describe), applicationHeaders);
                }
                var missing = expected.Except(seen).OrderBy(i => i.Origin, StringComparer.Ordinal).ThenBy(i => i.Offset).Take(5).ToList();
                Assert.True(missing.Count == 0,
                    $"seed {_seed}, region {region}, partition {Partition}: missing {expected.Count - seen.Count} records, e.g. {string.Join(' ', missing.Select(m => $"{m.Origin}@{m.Offset}"))}");
                Assert.Equal(expected.Count, log.Count);
            }
        }

        private static string Describe(RecordHeader header) =>
            header.Value is null ? $"{header.Name}=<null>" : $"{header.Name}={Convert.ToHexString(header.Value)}";

        private void Produce(string region)
        {
            var log = _logs[region];
            var offset = log.Count;
            var headers = new List<RecordHeader>();
            for (var i = _random.Next(3); i > 0; i--)
                headers.Add(new RecordHeader($"app-{_random.Next(3)}", _random.Next(5) == 0 ? null : Encoding.UTF8.GetBytes($"{region}/{offset}/{i}")));
            var record = new LogRecord(
                _random.Next(8) == 0 ? null : Encoding.UTF8.GetBytes($"key-{_random.Next(10)}"),
                Encoding.UTF8.GetBytes($"value {region}@{offset}"),
                _clock += _random.Next(0, 3),
                headers);
            log.Add(record);
            _produced.Add((region, offset), record);
        }

        /// <summary>One read-plan-write-commit round on a link; may crash part way. Returns records written.</summary>
        private int Replicate(LinkState link, int maxBatch, bool allowCrash)
        {
            var source = _logs[link.Source];
            var destination = _logs[link.Destination];
            var live = link.Live;

            // The reader sometimes re-delivers a few records from before the position it was asked for.
            var from = live.NextSourceOffset - (allowCrash ? _random.Next(0, 3) : 0);
            from = Math.Clamp(from, 0, source.Count);
            var count = (int)Math.Min(maxBatch, source.Count - from);
            var batch = Enumerable.Range((int)from, count).Select(o => source[o].At(o)).ToList();

            var plan = live.Plan(batch);
            Assert.True(plan.Rejection is null, $"seed {_seed}: link {link} rejected a record: {plan.Rejection}");
            Stats.Redelivered += (int)Math.Max(0, Math.Min(live.NextSourceOffset, from + count) - from);
            Stats.SkippedAlreadyApplied += plan.Skipped.GetValueOrDefault(DecisionKind.SkipAlreadyApplied);
            Stats.SkippedLoop += plan.Skipped.GetValueOrDefault(DecisionKind.SkipLoop);
            Stats.SkippedNotOnRoute += plan.Skipped.GetValueOrDefault(DecisionKind.SkipNotOnRoute);

            var crash = allowCrash ? _random.Next(10) : -1;
            // 0: dies before writing anything; 1: after writing part of the batch; 2: after writing it all, before Commit.
            var toWrite = crash switch
            {
                0 => 0,
                1 => _random.Next(0, plan.Outbound.Count + 1),
                _ => plan.Outbound.Count,
            };
            foreach (var outbound in plan.Outbound.Take(toWrite))
                destination.Add(new LogRecord(outbound.Key, outbound.Value, outbound.TimestampMs, outbound.Headers));

            if (crash is 0 or 1 or 2)
            {
                if (toWrite == 0) Stats.CrashesWithoutWrite++;
                else if (toWrite < plan.Outbound.Count) Stats.CrashesAfterPartialWrite++;
                else Stats.CrashesAfterFullWrite++;
                Crash(link);
                return toWrite;
            }
            live.Commit(plan, plan.Outbound.Count > 0 ? destination.Count : live.DestinationEndOffset);
            return toWrite;
        }

        private void TakeCheckpoint(LinkState link) => link.StoredCheckpoint = link.Live.Checkpoint().Encode();

        /// <summary>Throws away the in-memory state and rebuilds it as a restarted grain would.</summary>
        private void Crash(LinkState link)
        {
            Assert.True(ReplicationCheckpoint.TryDecode(link.StoredCheckpoint, out var checkpoint, out var reason),
                $"seed {_seed}: link {link} stored an unreadable checkpoint '{link.StoredCheckpoint}': {reason}");
            var recovered = NewReplication(link.Source, link.Destination, checkpoint!);
            var destination = _logs[link.Destination];
            for (var offset = checkpoint!.DestinationEndOffset; offset < destination.Count; offset++)
            {
                var where = $"seed {_seed}, recovering {link}, region {link.Destination}, partition {Partition}, offset {offset}";
                recovered.Observe(ProvenanceOf(link.Destination, offset, destination[(int)offset], where), offset);
            }
            link.Live = recovered;
        }

        private static PartitionReplication NewReplication(string source, string destination, ReplicationCheckpoint start) =>
            new(source, destination, Partition, FullMeshForwarding.Instance, start);

        /// <summary>The record's provenance header, or a local record's implicit provenance.</summary>
        private static Provenance ProvenanceOf(string region, long offset, LogRecord record, string where)
        {
            var headers = record.Headers.Where(h => h.Name == ProvenanceCodec.HeaderName).ToList();
            Assert.True(headers.Count <= 1, $"{where}: {headers.Count} provenance headers");
            if (headers.Count == 0) return Provenance.Local(region, Partition, offset, record.TimestampMs);
            Assert.True(ProvenanceCodec.TryDecode(headers[0].Value, out var provenance, out var reason), $"{where}: {reason}");
            return provenance!;
        }
    }
}
