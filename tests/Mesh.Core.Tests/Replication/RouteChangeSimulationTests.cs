using System.Text;
using Mesh.Core.Replication;
using Mesh.Core.Topology;

namespace Mesh.Core.Tests.Replication;

/// <summary>
/// Regions a, b, hub and c, one partition each. a's and b's records reach the hub over a -> hub and
/// b -> hub; hub -> c carries the hub's and b's records, and a's reach c directly over a -> c. At random
/// points the route of a's records into c moves to the hub and later back, as the grains will do it:
/// the old carrier stops after a last step (it may die in it), then the new one starts. Moving to the
/// hub restarts hub -> c carrying a too: its checkpoint reassigned (back to the hub's low watermark with
/// a catch-up of a) and the whole of c read back. Moving back restarts hub -> c without a, then a -> c
/// from its old checkpoint, reading c back from there as recovery does. Producers, batches, checkpoints
/// and crashes (also between writing and committing) are interleaved at random; some records carry a
/// header the mesh does not believe. Once drained, every region holds every record it should exactly
/// once, in per-origin order, and neither another drain nor recovering every link writes anything.
/// </summary>
public sealed class RouteChangeSimulationTests
{
    private const string A = "a";
    private const string B = "b";
    private const string Hub = "hub";
    private const string C = "c";
    private static readonly string[] Regions = [A, B, Hub, C];
    private const string Topic = "orders";
    private const int Partition = 1;

    /// <summary>What each region ends up holding: its own records and those of the origins routed to it.</summary>
    private static readonly Dictionary<string, string[]> Expected = new()
    {
        [A] = [A],
        [B] = [B],
        [Hub] = [A, B, Hub],
        [C] = [A, B, Hub, C],
    };

    public static IEnumerable<object[]> SimulationSeeds => Enumerable.Range(0, 200).Select(s => new object[] { s });

    [Theory]
    [MemberData(nameof(SimulationSeeds))]
    public void Every_record_reaches_c_exactly_once_whichever_way_a_is_routed(int seed)
    {
        // Half the seeds run signed, half unsigned (structural trust only).
        var sim = new Simulation(seed, signed: seed % 2 == 0);
        sim.Run(150 + seed % 250);
        sim.DrainUntilQuiescent();
        sim.AssertConverged();

        var lengths = sim.LogLengths();
        var written = sim.DrainUntilQuiescent();
        Assert.True(written == 0, $"seed {seed}: a second drain wrote {written} records (a loop or a duplicate)");
        sim.RestartAllRunningLinks();
        Assert.True(sim.DrainUntilQuiescent() == 0, $"seed {seed}: restarting every link re-wrote records");
        Assert.Equal(lengths, sim.LogLengths());
        sim.AssertConverged();
    }

    [Fact]
    public void The_simulation_exercises_both_moves_the_catch_up_and_its_interesting_skips()
    {
        var totals = new Simulation.Counters();
        for (var seed = 0; seed < 60; seed++)
        {
            var sim = new Simulation(seed, signed: seed % 2 == 0);
            sim.Run(steps: 300);
            sim.DrainUntilQuiescent();
            sim.AssertConverged();
            totals.Add(sim.Stats);
        }

        // Without these the property above would prove little.
        Assert.True(totals.MovesToHub > 0, "a's route never moved to the hub");
        Assert.True(totals.MovesBack > 0, "a's route never moved back");
        Assert.True(totals.CaughtUp > 0, "the catch-up never forwarded a record of a");
        Assert.True(totals.AlreadyAppliedInWindow > 0, "the catch-up never skipped a record of a that a -> c had written");
        Assert.True(totals.HandledInWindow > 0, "the catch-up never skipped a record it had handled before the move");
        Assert.True(totals.UntrustedInWindow > 0, "the catch-up never met a header the mesh does not believe");
        Assert.True(totals.WindowsEnded > 0, "no catch-up ever ended");
        Assert.True(totals.CrashesInWindow > 0, "no link ever crashed during a catch-up");
        Assert.True(totals.ReassignedUnwritten > 0, "no link ever restarted from a checkpoint taken before it gained a");
        Assert.True(totals.ReturnedBehindTheHub > 0, "a -> c never came back to find records of a the hub had written");
        Assert.True(totals.CrashesAfterPartialWrite > 0, "no crash after a partial write");
        Assert.True(totals.CrashesAfterFullWrite > 0, "no crash between a full write and Commit");
        Assert.True(totals.ArrivedViaHub > 0 && totals.ArrivedDirect > 0, $"records of a arrived in c {totals.ArrivedViaHub} times via the hub, {totals.ArrivedDirect} times directly");
    }

    /// <summary>One region's partition as Kafka would hold it: offsets are list indexes.</summary>
    private sealed record LogRecord(byte[]? Key, byte[]? Value, long TimestampMs, IReadOnlyList<RecordHeader> Headers)
    {
        public SourceRecord At(long offset) => new(offset, Key, Value, TimestampMs, Headers);
    }

    private sealed class LinkState(string source, string destination, OriginSet carried)
    {
        public string Source { get; } = source;
        public string Destination { get; } = destination;

        /// <summary>What the topology says the link carries now.</summary>
        public OriginSet Carried { get; set; } = carried;

        /// <summary>Null while the link is stopped (a's route runs through the hub and this is a -> c).</summary>
        public PartitionReplication? Live { get; set; }

        /// <summary>The last checkpoint, as stored (text).</summary>
        public required string StoredCheckpoint { get; set; }

        public override string ToString() => $"{Source}->{Destination}";
    }

    private sealed class Simulation
    {
        private readonly int _seed;
        private readonly Random _random;
        private readonly ReplicationPolicy _policy;
        private readonly ProvenanceSigner? _signer;
        private readonly Dictionary<string, List<LogRecord>> _logs = Regions.ToDictionary(r => r, _ => new List<LogRecord>());
        private readonly LinkState _aToHub;
        private readonly LinkState _bToHub;
        private readonly LinkState _aToC;
        private readonly LinkState _hubToC;
        private readonly List<LinkState> _links;

        /// <summary>Every record produced anywhere, (origin, origin offset) -> the record.</summary>
        private readonly Dictionary<(string Origin, long Offset), LogRecord> _produced = [];

        private bool _viaHub;
        private long _clock;

        public sealed class Counters
        {
            public int MovesToHub;
            public int MovesBack;
            public int CaughtUp;
            public int AlreadyAppliedInWindow;
            public int HandledInWindow;
            public int UntrustedInWindow;
            public int WindowsEnded;
            public int CrashesInWindow;
            public int ReassignedUnwritten;
            public int ReturnedBehindTheHub;
            public int CrashesAfterPartialWrite;
            public int CrashesAfterFullWrite;
            public int ArrivedViaHub;
            public int ArrivedDirect;

            public void Add(Counters other)
            {
                MovesToHub += other.MovesToHub;
                MovesBack += other.MovesBack;
                CaughtUp += other.CaughtUp;
                AlreadyAppliedInWindow += other.AlreadyAppliedInWindow;
                HandledInWindow += other.HandledInWindow;
                UntrustedInWindow += other.UntrustedInWindow;
                WindowsEnded += other.WindowsEnded;
                CrashesInWindow += other.CrashesInWindow;
                ReassignedUnwritten += other.ReassignedUnwritten;
                ReturnedBehindTheHub += other.ReturnedBehindTheHub;
                CrashesAfterPartialWrite += other.CrashesAfterPartialWrite;
                CrashesAfterFullWrite += other.CrashesAfterFullWrite;
                ArrivedViaHub += other.ArrivedViaHub;
                ArrivedDirect += other.ArrivedDirect;
            }
        }

        public Counters Stats { get; } = new();

        public Simulation(int seed, bool signed)
        {
            _seed = seed;
            _random = new Random(seed);
            _policy = new ReplicationPolicy(signed ? MeshKeys.Create(TestData.KeyText, null) : null, StrictProvenance: false, KeepUntrustedHeader: true, BadRecordAction.Quarantine);
            _signer = _policy.Keys?.CreateSigner();
            _aToHub = NewLink(A, Hub, OriginSet.Of([A]));
            _bToHub = NewLink(B, Hub, OriginSet.Of([B]));
            _aToC = NewLink(A, C, OriginSet.Of([A]));
            _hubToC = NewLink(Hub, C, OriginSet.Of([Hub, B]));
            _links = [_aToHub, _bToHub, _aToC, _hubToC];
        }

        private LinkState NewLink(string source, string destination, OriginSet carried)
        {
            var start = ReplicationCheckpoint.Start(0, IncarnationOf(source), IncarnationOf(destination), carried);
            var link = new LinkState(source, destination, carried) { StoredCheckpoint = start.Encode() };
            link.Live = new PartitionReplication(source, destination, Topic, Topic, Partition, NamingPolicy.Identity, carried, _policy, start);
            return link;
        }

        private static string IncarnationOf(string region) => Incarnations.FromClusterId("cluster-of-" + region);

        private IEnumerable<LinkState> Running => _links.Where(l => l.Live is not null);

        public void Run(int steps)
        {
            // One to four moves, alternating: to the hub, back, to the hub, back.
            var moves = Enumerable.Range(0, steps).OrderBy(_ => _random.Next()).Take(_random.Next(1, 5)).ToHashSet();
            for (var step = 0; step < steps; step++)
            {
                if (moves.Contains(step)) MoveRouteOfA();
                var running = Running.ToList();
                var link = running[_random.Next(running.Count)];
                var roll = _random.Next(100);
                if (roll < 35) Produce(_random.Next(10) switch { < 4 => A, < 7 => Hub, < 9 => B, _ => C });
                else if (roll < 80) Replicate(link, _random.Next(1, 9), allowCrash: true);
                else if (roll < 92) TakeCheckpoint(link);
                else Restart(link);
            }
        }

        /// <summary>The old carrier of a's records into c stops after a last step; then the new one starts.</summary>
        private void MoveRouteOfA()
        {
            var (old, next) = _viaHub ? (_hubToC, _aToC) : (_aToC, _hubToC);
            Replicate(old, _random.Next(1, 9), allowCrash: true);
            if (_random.Next(2) == 0) TakeCheckpoint(old);
            if (_viaHub)
            {
                _hubToC.Carried = OriginSet.Of([Hub, B]);
                Restart(_hubToC);
                // Starts where it stopped; what the hub wrote of a meanwhile is found in c after its checkpoint.
                Restart(_aToC);
                var live = _aToC.Live!;
                if (live.Vector.HighestFor(OriginVector.Key(A, IncarnationOf(A))) >= live.NextSourceOffset) Stats.ReturnedBehindTheHub++;
                Stats.MovesBack++;
            }
            else
            {
                _aToC.Live!.Dispose();
                _aToC.Live = null;
                _hubToC.Carried = OriginSet.Of([Hub, A, B]);
                Restart(_hubToC);
                Stats.MovesToHub++;
            }
            _viaHub = !_viaHub;
            Assert.NotNull(next.Live);
        }

        /// <summary>Runs every running link until none has anything left to read; returns how many records were written.</summary>
        public int DrainUntilQuiescent()
        {
            var written = 0;
            for (var round = 0; ; round++)
            {
                Assert.True(round < 100, $"seed {_seed}: no quiescence after 100 drain rounds");
                var progressed = false;
                foreach (var link in Running)
                {
                    var before = link.Live!.NextSourceOffset;
                    written += Replicate(link, int.MaxValue, allowCrash: false);
                    progressed |= link.Live.NextSourceOffset != before;
                }
                if (!progressed) break;
            }
            foreach (var link in Running)
            {
                Assert.True(link.Live!.NextSourceOffset == _logs[link.Source].Count,
                    $"seed {_seed}: link {link} stopped at source offset {link.Live.NextSourceOffset} of {_logs[link.Source].Count}");
                Assert.True(link.Live.CatchUp is null, $"seed {_seed}: link {link} drained with its catch-up to {link.Live.CatchUp?.Until} left");
            }
            return written;
        }

        public void RestartAllRunningLinks()
        {
            foreach (var link in Running.ToList()) Restart(link);
        }

        public Dictionary<string, int> LogLengths() => _logs.ToDictionary(l => l.Key, l => l.Value.Count);

        public void AssertConverged()
        {
            foreach (var region in Regions)
            {
                var expected = _produced.Keys.Where(id => Expected[region].Contains(id.Origin)).ToHashSet();
                var log = _logs[region];
                var seen = new HashSet<(string Origin, long Offset)>();
                var lastPerOrigin = new Dictionary<string, long>();
                for (var offset = 0; offset < log.Count; offset++)
                {
                    var where = $"seed {_seed}, region {region}, partition {Partition}, offset {offset}";
                    var provenance = ProvenanceOf(region, offset, log[offset]);
                    var identity = (provenance.OriginRegion, provenance.OriginOffset);

                    Assert.True(seen.Add(identity), $"{where}: duplicate of {provenance.OriginRegion}@{provenance.OriginOffset}");
                    Assert.True(expected.Contains(identity), $"{where}: {provenance.OriginRegion}@{provenance.OriginOffset} was never produced for {region}");
                    Assert.True(lastPerOrigin.GetValueOrDefault(provenance.OriginRegion, -1) < provenance.OriginOffset,
                        $"{where}: {provenance.OriginRegion}@{provenance.OriginOffset} after {provenance.OriginRegion}@{lastPerOrigin.GetValueOrDefault(provenance.OriginRegion)}: per-origin order broken");
                    lastPerOrigin[provenance.OriginRegion] = provenance.OriginOffset;

                    var original = _produced[identity];
                    Assert.Equal(original.Key, log[offset].Key);
                    Assert.Equal(original.Value, log[offset].Value);
                    Assert.Equal(original.TimestampMs, log[offset].TimestampMs);
                }
                var missing = expected.Except(seen).OrderBy(i => i.Origin, StringComparer.Ordinal).ThenBy(i => i.Offset).Take(5).ToList();
                Assert.True(missing.Count == 0,
                    $"seed {_seed}, region {region}, partition {Partition}: missing {expected.Count - seen.Count} records, e.g. {string.Join(' ', missing.Select(m => $"{m.Origin}@{m.Offset}"))}");
                Assert.Equal(expected.Count, log.Count);
            }
        }

        /// <summary>The record's trusted provenance, or a local record's implicit provenance.</summary>
        private Provenance ProvenanceOf(string region, long offset, LogRecord record)
        {
            var reading = ProvenanceTrust.Read(record.At(offset), region, Topic, Partition, _signer);
            return reading.Verdict == ProvenanceVerdict.Trusted
                ? reading.Trusted!
                : Provenance.Local(region, IncarnationOf(region), Topic, Partition, offset, record.TimestampMs);
        }

        private void Produce(string region)
        {
            var log = _logs[region];
            var headers = new List<RecordHeader>();
            if (_random.Next(3) == 0) headers.Add(new RecordHeader("app", Encoding.UTF8.GetBytes($"{region}/{log.Count}")));
            // An application's header the mesh must not believe: the record is a local one like any other.
            if (_random.Next(6) == 0) headers.Insert(_random.Next(headers.Count + 1), new RecordHeader(ProvenanceCodec.HeaderName, Encoding.UTF8.GetBytes("garbage")));
            var record = new LogRecord(Encoding.UTF8.GetBytes($"key-{_random.Next(10)}"), Encoding.UTF8.GetBytes($"value {region}@{log.Count}"), _clock += _random.Next(0, 3), headers);
            _produced.Add((region, log.Count), record);
            log.Add(record);
        }

        /// <summary>One read-plan-write-commit round on a link; may crash part way. Returns records written.</summary>
        private int Replicate(LinkState link, int maxBatch, bool allowCrash)
        {
            var source = _logs[link.Source];
            var destination = _logs[link.Destination];
            var live = link.Live!;

            // The reader sometimes re-delivers a few records from before the position it was asked for.
            var from = Math.Clamp(live.NextSourceOffset - (allowCrash ? _random.Next(0, 3) : 0), 0, source.Count);
            var count = (int)Math.Min(maxBatch, source.Count - from);
            var batch = Enumerable.Range((int)from, count).Select(o => source[o].At(o)).ToList();

            var plan = live.Plan(batch);
            Assert.True(plan.Held is null, $"seed {_seed}: link {link} held source offset {plan.Held?.Record.Offset}: {plan.Held?.Reason}");
            Tally(link, batch, plan);

            // 0: dies before writing anything; 1: after writing part of the batch; 2: after writing it all, before Commit.
            var crash = allowCrash ? _random.Next(12) : -1;
            var toWrite = crash switch
            {
                0 => 0,
                1 => _random.Next(0, plan.Outbound.Count + 1),
                _ => plan.Outbound.Count,
            };
            foreach (var outbound in plan.Outbound.Take(toWrite))
            {
                destination.Add(new LogRecord(outbound.Key, outbound.Value, outbound.TimestampMs, outbound.Headers));
                if (link.Destination == C && outbound.Provenance.OriginRegion == A)
                {
                    if (link.Source == Hub) Stats.ArrivedViaHub++;
                    else Stats.ArrivedDirect++;
                }
            }
            if (crash is 0 or 1 or 2)
            {
                if (toWrite > 0 && toWrite < plan.Outbound.Count) Stats.CrashesAfterPartialWrite++;
                else if (toWrite > 0) Stats.CrashesAfterFullWrite++;
                Restart(link);
                return toWrite;
            }
            var inWindow = live.CatchUp is not null;
            live.Commit(plan, plan.Outbound.Count > 0 ? destination.Count : live.DestinationEndOffset);
            if (inWindow && live.CatchUp is null) Stats.WindowsEnded++;
            return toWrite;
        }

        /// <summary>What the plan did inside a catch-up, decided again record by record as the plan does.</summary>
        private void Tally(LinkState link, List<SourceRecord> batch, BatchPlan plan)
        {
            var live = link.Live!;
            if (live.CatchUp is not { } catchUp) return;
            var working = live.Vector.Clone();
            var next = live.NextSourceOffset;
            var skipped = 0;
            foreach (var record in batch)
            {
                if (record.Offset < next) continue;
                next = record.Offset + 1;
                var decision = live.Decide(record, working);
                var inside = record.Offset < catchUp.Until;
                switch (decision.Kind)
                {
                    case DecisionKind.Forward:
                        working.Advance(decision.Outbound!.Provenance.OriginKey, decision.Outbound.Provenance.OriginOffset);
                        if (inside) Stats.CaughtUp++;
                        break;
                    case DecisionKind.SkipAlreadyApplied:
                        if (inside) Stats.AlreadyAppliedInWindow++;
                        skipped++;
                        break;
                    case DecisionKind.SkipNotOnRoute:
                        if (inside && ProvenanceTrust.Read(record, link.Source, Topic, Partition, _signer).Verdict == ProvenanceVerdict.Untrusted) Stats.UntrustedInWindow++;
                        else if (inside) Stats.HandledInWindow++;
                        skipped++;
                        break;
                    default:
                        skipped++;
                        break;
                }
            }
            Assert.Equal(plan.Skipped, skipped);
        }

        private void TakeCheckpoint(LinkState link) => link.StoredCheckpoint = link.Live!.Checkpoint().Encode();

        /// <summary>
        /// Throws away the in-memory state and starts the link again from its stored checkpoint, as the grain
        /// does: the checkpoint reassigned to what the link carries now; c read back from the checkpoint's end,
        /// or whole when the link gained origins (their records arrived over the old route).
        /// </summary>
        private void Restart(LinkState link)
        {
            Assert.True(ReplicationCheckpoint.TryDecode(link.StoredCheckpoint, out var stored, out var reason),
                $"seed {_seed}: link {link} stored an unreadable checkpoint '{link.StoredCheckpoint}': {reason}");
            if (link.Live?.CatchUp is not null) Stats.CrashesInWindow++;
            var alreadyCarrying = link.Live?.Carried.Equals(link.Carried) == true;
            link.Live?.Dispose();
            // Nothing expires from the simulated logs: the low watermark is always 0.
            var checkpoint = stored!.Reassign(link.Carried, link.Source, sourceLowWatermark: 0, out var gained);
            if (!gained.IsEmpty && alreadyCarrying) Stats.ReassignedUnwritten++;
            var live = new PartitionReplication(link.Source, link.Destination, Topic, Topic, Partition, NamingPolicy.Identity, link.Carried, _policy, checkpoint);
            var destination = _logs[link.Destination];
            for (var offset = gained.IsEmpty ? checkpoint.DestinationEndOffset : 0; offset < destination.Count; offset++)
                live.Observe(destination[(int)offset].At(offset));
            link.Live = live;
            if (!gained.IsEmpty)
            {
                Assert.Equal(OriginSet.Of([A]), gained);
                // A crash before the reassigned checkpoint is written reassigns the old one again.
                if (_random.Next(2) == 0) TakeCheckpoint(link);
            }
        }
    }
}
