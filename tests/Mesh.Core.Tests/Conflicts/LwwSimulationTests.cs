using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Mesh.Core.Conflicts;
using Mesh.Core.Replication;
using Mesh.Core.Topology;

namespace Mesh.Core.Tests.Conflicts;

/// <summary>
/// Three regions in a full mesh write the same fifty keys of an lww topic at nearly the same time: clocks
/// skewed, timestamps (or application versions) deliberately equal across regions, some tombstones, some bad
/// version headers. Producers, link batches (each planned by <see cref="PartitionReplication"/>, its writes
/// filtered by the destination's <see cref="LwwRepairer.ShouldWrite(OutboundRecord)"/>), link crashes,
/// repairers tailing their own partition and repairers starting over are interleaved at random. Once everything
/// is drained, every region's last record for every key must be the same write, the one with the greatest version
/// produced for that key, and no repair record may ever have crossed to another region.
/// </summary>
public sealed class LwwSimulationTests
{
    private static readonly string[] Regions = ["us-east", "eu-west", "ap-south"];
    private const string Topic = "profiles";
    private const int Partition = 0;
    private const int Keys = 50;
    private const string VersionHeader = "app-version";
    private const string KeyText = "lww-simulation-key-00000000000000000000000000000";

    public static IEnumerable<object[]> Seeds => Enumerable.Range(0, 200).Select(s => new object[] { s });

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Every_region_ends_with_the_same_last_record_per_key_the_greatest_version(int seed)
    {
        var sim = new Simulation(seed);
        sim.Run(200 + seed % 200);
        sim.DrainUntilQuiescent();
        sim.AssertConverged();

        var lengths = sim.LogLengths();
        Assert.True(sim.DrainUntilQuiescent() == 0, $"seed {seed}: a second drain wrote records");

        // Links that recover rewrite nothing: what they dropped before still loses. Repairers that start over find
        // nothing to repair. (Both at once would let links write old losers into an index not yet rebuilt, which the
        // repairers would then answer: correct, but not quiet.)
        sim.CrashAllLinks();
        Assert.True(sim.DrainUntilQuiescent() == 0, $"seed {seed}: links that recovered wrote records");
        sim.RestartAllRepairers();
        Assert.True(sim.DrainUntilQuiescent() == 0, $"seed {seed}: repairers that started over wrote records");
        Assert.Equal(lengths, sim.LogLengths());
        sim.AssertConverged();
    }

    [Fact]
    public void The_simulation_exercises_drops_repairs_restarts_ties_tombstones_and_bad_versions()
    {
        var totals = new Simulation.Counters();
        for (var seed = 0; seed < 40; seed++)
        {
            var sim = new Simulation(seed);
            sim.Run(300);
            sim.DrainUntilQuiescent();
            sim.AssertConverged();
            totals.Add(sim.Stats);
        }

        // Without these the property above would prove little.
        Assert.True(totals.ConflictDropped > 0, "no link ever dropped a write that lost to the destination's");
        Assert.True(totals.Repaired > 0, "no repairer ever repaired while tailing");
        Assert.True(totals.RepairedAtCatchUp > 0, "no repairer that started over ever repaired what it found pending");
        Assert.True(totals.SkippedRepairs > 0, "no link ever read a repair record");
        Assert.True(totals.RepairsOfRemoteWinners > 0, "no repair ever copied a replicated write");
        Assert.True(totals.RepairsOfLocalWinners > 0, "no repair ever copied a region's own write");
        Assert.True(totals.TiesAcrossRegions > 0, "no key's winner was decided by region between equal versions");
        Assert.True(totals.TombstoneWinners > 0, "no tombstone ever won");
        Assert.True(totals.BadVersions > 0, "no bad version header was ever read");
        Assert.True(totals.LinkCrashes > 0, "no link ever crashed");
    }

    /// <summary>A record as a region's partition holds it: offsets are list indexes.</summary>
    private sealed record LogRecord(byte[] Key, byte[]? Value, long TimestampMs, IReadOnlyList<RecordHeader> Headers)
    {
        public SourceRecord At(long offset) => new(offset, Key, Value, TimestampMs, Headers);
    }

    /// <summary>A write as produced, with the version the test expects every region to give it.</summary>
    private sealed record Write(string Key, byte[]? Value, long TimestampMs, RecordVersion Version);

    private sealed class LinkState(string source, string destination)
    {
        public string Source { get; } = source;
        public string Destination { get; } = destination;
        public required PartitionReplication Live { get; set; }
        public required string StoredCheckpoint { get; set; }

        public override string ToString() => $"{Source}->{Destination}";
    }

    private sealed class RepairerState
    {
        public required LwwRepairer Live { get; set; }

        /// <summary>A repairer that started over reads up to here writing nothing, then writes what it found pending.</summary>
        public long ReplayUntil { get; set; }
    }

    private sealed class Simulation
    {
        public sealed class Counters
        {
            public int ConflictDropped;
            public int Repaired;
            public int RepairedAtCatchUp;
            public int SkippedRepairs;
            public int RepairsOfRemoteWinners;
            public int RepairsOfLocalWinners;
            public int TiesAcrossRegions;
            public int TombstoneWinners;
            public long BadVersions;
            public int LinkCrashes;

            public void Add(Counters other)
            {
                ConflictDropped += other.ConflictDropped;
                Repaired += other.Repaired;
                RepairedAtCatchUp += other.RepairedAtCatchUp;
                SkippedRepairs += other.SkippedRepairs;
                RepairsOfRemoteWinners += other.RepairsOfRemoteWinners;
                RepairsOfLocalWinners += other.RepairsOfLocalWinners;
                TiesAcrossRegions += other.TiesAcrossRegions;
                TombstoneWinners += other.TombstoneWinners;
                BadVersions += other.BadVersions;
                LinkCrashes += other.LinkCrashes;
            }
        }

        private readonly int _seed;
        private readonly Random _random;
        private readonly LwwRule _rule;
        private readonly ReplicationPolicy _policy;
        private readonly Dictionary<string, ProvenanceSigner?> _signers;
        private readonly Dictionary<string, List<LogRecord>> _logs = Regions.ToDictionary(r => r, _ => new List<LogRecord>());
        private readonly Dictionary<string, RepairerState> _repairers = [];
        private readonly Dictionary<string, long> _skew;
        private readonly List<LinkState> _links = [];
        private readonly Dictionary<(string Origin, long Offset), Write> _produced = [];
        private readonly Dictionary<string, (long Timestamp, long Version)> _lastByKey = [];
        private long _clock = 1_000;

        public Counters Stats { get; } = new();

        public Simulation(int seed)
        {
            _seed = seed;
            _random = new Random(seed);
            var signed = seed % 2 == 0;
            _rule = new LwwRule(seed % 3 == 0 ? VersionHeader : null);
            _policy = ReplicationPolicy.Default with { Keys = signed ? MeshKeys.Create(KeyText, null) : null };
            _signers = Regions.ToDictionary(r => r, _ => _policy.Keys?.CreateSigner());
            // Each region's clock is off by up to 20 ms either way.
            _skew = Regions.ToDictionary(r => r, _ => (long)_random.Next(-20, 21));
            foreach (var region in Regions) _repairers[region] = new RepairerState { Live = NewRepairer(region) };
            foreach (var source in Regions)
            foreach (var destination in Regions)
            {
                if (source == destination) continue;
                var start = ReplicationCheckpoint.Start(0, IncarnationOf(source), IncarnationOf(destination), OriginSet.Of([source]));
                _links.Add(new LinkState(source, destination) { Live = NewReplication(source, destination, start), StoredCheckpoint = start.Encode() });
            }
        }

        private static string IncarnationOf(string region) => Incarnations.FromClusterId("cluster-of-" + region);

        private LwwRepairer NewRepairer(string region) => new(_rule, region, Topic, Partition, _signers[region]);

        private PartitionReplication NewReplication(string source, string destination, ReplicationCheckpoint start) =>
            new(source, destination, Topic, Topic, Partition, NamingPolicy.Identity, OriginSet.Of([source]), _policy, start);

        public void Run(int steps)
        {
            for (var step = 0; step < steps; step++)
            {
                var roll = _random.Next(100);
                var region = Regions[_random.Next(Regions.Length)];
                var link = _links[_random.Next(_links.Count)];
                if (roll < 40) Produce(region);
                else if (roll < 70) Replicate(link, _random.Next(1, 9));
                else if (roll < 90) Repair(region, _random.Next(1, 12));
                else if (roll < 94) link.StoredCheckpoint = link.Live.Checkpoint().Encode();
                else if (roll < 97) Crash(link);
                else Restart(region);
            }
        }

        /// <summary>Runs every link and repairer until nothing moves; returns how many records were written.</summary>
        public int DrainUntilQuiescent()
        {
            var before = _logs.Values.Sum(l => l.Count);
            for (var round = 0; ; round++)
            {
                Assert.True(round < 100, $"seed {_seed}: no quiescence after 100 drain rounds");
                var moved = false;
                foreach (var link in _links)
                {
                    var next = link.Live.NextSourceOffset;
                    Replicate(link, int.MaxValue);
                    moved |= link.Live.NextSourceOffset != next;
                }
                foreach (var region in Regions)
                {
                    var next = _repairers[region].Live.NextOffset;
                    Repair(region, int.MaxValue);
                    moved |= _repairers[region].Live.NextOffset != next;
                }
                if (!moved) break;
            }
            return _logs.Values.Sum(l => l.Count) - before;
        }

        public Dictionary<string, int> LogLengths() => _logs.ToDictionary(l => l.Key, l => l.Value.Count);

        public void RestartAllRepairers()
        {
            foreach (var region in Regions) Restart(region);
        }

        public void CrashAllLinks()
        {
            foreach (var link in _links) Crash(link);
        }

        private void Produce(string region)
        {
            var log = _logs[region];
            var offset = log.Count;
            var key = $"key-{_random.Next(Keys)}";
            var value = _random.Next(10) == 0 ? null : Encoding.UTF8.GetBytes($"{region}@{offset}");
            _clock += _random.Next(0, 3);
            var last = _lastByKey.TryGetValue(key, out var known) ? known : (Timestamp: _clock, Version: _clock / 2);
            // Some writes deliberately tie with the key's last write elsewhere: the same timestamp, or the same version.
            var timestamp = _random.Next(6) == 0 ? last.Timestamp : _clock + _skew[region] + _random.Next(-3, 4);
            var headers = new List<RecordHeader>();
            if (_random.Next(4) == 0) headers.Add(new RecordHeader("app-trace", Encoding.UTF8.GetBytes($"{region}/{offset}")));
            var expected = timestamp;
            if (_rule.VersionHeader is { } name)
            {
                var version = _random.Next(6) == 0 ? last.Version : _clock / 2 + _random.Next(-3, 4);
                switch (_random.Next(20))
                {
                    case 0: break; // no header: ordered by timestamp
                    case 1: headers.Add(new RecordHeader(name, [])); break;
                    case 2: headers.Add(new RecordHeader(name, Encoding.ASCII.GetBytes("v" + version))); break;
                    case 3: headers.Add(new RecordHeader(name, Encoding.ASCII.GetBytes("99999999999999999999"))); break;
                    default:
                        var bytes = new byte[8];
                        BinaryPrimitives.WriteInt64BigEndian(bytes, version);
                        headers.Add(new RecordHeader(name, _random.Next(2) == 0 ? bytes : Encoding.ASCII.GetBytes(version.ToString(CultureInfo.InvariantCulture))));
                        expected = version;
                        break;
                }
                _lastByKey[key] = (timestamp, version);
            }
            else
            {
                _lastByKey[key] = (timestamp, last.Version);
            }
            var keyBytes = Encoding.UTF8.GetBytes(key);
            log.Add(new LogRecord(keyBytes, value, timestamp, headers));
            _produced.Add((region, offset), new Write(key, value, timestamp, new RecordVersion(expected, region, offset)));
        }

        /// <summary>One read-plan-filter-write-commit round on a link.</summary>
        private void Replicate(LinkState link, int maxBatch)
        {
            var source = _logs[link.Source];
            var destination = _logs[link.Destination];
            var live = link.Live;
            var from = (int)live.NextSourceOffset;
            var batch = Enumerable.Range(from, (int)Math.Min(maxBatch, source.Count - from)).Select(o => source[o].At(o)).ToList();
            if (batch.Count == 0) return;

            var plan = live.Plan(batch);
            Assert.True(plan.Held is null, $"seed {_seed}: link {link} held source offset {plan.Held?.Record.Offset}: {plan.Held?.Reason}");
            var working = live.Vector.Clone();
            foreach (var record in batch)
            {
                var decision = live.Decide(record, working);
                if (decision.Kind == DecisionKind.SkipRepair) Stats.SkippedRepairs++;
                if (decision.Kind == DecisionKind.Forward) working.Advance(decision.Outbound!.Provenance.OriginKey, decision.Outbound.Provenance.OriginOffset);
            }

            var repairer = _repairers[link.Destination].Live;
            foreach (var outbound in plan.Outbound)
            {
                Assert.True(outbound.Headers.All(h => h.Name != RepairMarker.HeaderName),
                    $"seed {_seed}: link {link} replicated the repair record at source offset {outbound.SourceOffset}");
                if (!repairer.ShouldWrite(outbound))
                {
                    Stats.ConflictDropped++;
                    continue;
                }
                destination.Add(new LogRecord(outbound.Key!, outbound.Value, outbound.TimestampMs, outbound.Headers));
            }
            live.Commit(plan, destination.Count);
        }

        /// <summary>The repairer reads up to <paramref name="maxRecords"/> of its region's partition, writing repairs as a grain does.</summary>
        private void Repair(string region, int maxRecords)
        {
            var state = _repairers[region];
            var repairer = state.Live;
            var log = _logs[region];
            for (var read = 0; read < maxRecords && repairer.NextOffset < log.Count; read++)
            {
                var offset = repairer.NextOffset;
                var action = repairer.Observe(log[(int)offset].At(offset));
                if (repairer.NextOffset < state.ReplayUntil) continue; // starting over: nothing written on the way
                if (repairer.NextOffset == state.ReplayUntil)
                {
                    // Read to where the log ended when it started: what is still wrong is what is pending.
                    foreach (var pending in repairer.Pending.ToList()) WriteRepair(region, pending, atCatchUp: true);
                    continue;
                }
                if (action is not null) WriteRepair(region, action, atCatchUp: false);
            }
        }

        private void WriteRepair(string region, RepairAction action, bool atCatchUp)
        {
            var log = _logs[region];
            var repairer = _repairers[region].Live;
            var winner = log[(int)action.WinnerOffset].At(action.WinnerOffset);
            var repair = repairer.BuildRepair(winner, action.Winner);
            log.Add(new LogRecord(repair.Key!, repair.Value, repair.TimestampMs, repair.Headers));
            repairer.NoteRepaired();
            if (atCatchUp) Stats.RepairedAtCatchUp++;
            else Stats.Repaired++;
            if (action.Winner.OriginRegion == region) Stats.RepairsOfLocalWinners++;
            else Stats.RepairsOfRemoteWinners++;
        }

        private void Restart(string region)
        {
            var state = _repairers[region];
            Stats.BadVersions += state.Live.BadVersions;
            state.Live = NewRepairer(region);
            state.ReplayUntil = _logs[region].Count;
        }

        /// <summary>Throws away the link's state and rebuilds it as a restarted grain would: its checkpoint, then what the destination holds after it.</summary>
        private void Crash(LinkState link)
        {
            Assert.True(ReplicationCheckpoint.TryDecode(link.StoredCheckpoint, out var checkpoint, out var reason), $"seed {_seed}: link {link}: {reason}");
            link.Live.Dispose();
            var recovered = NewReplication(link.Source, link.Destination, checkpoint!);
            var destination = _logs[link.Destination];
            for (var offset = checkpoint!.DestinationEndOffset; offset < destination.Count; offset++)
                recovered.Observe(destination[(int)offset].At(offset));
            link.Live = recovered;
            Stats.LinkCrashes++;
        }

        public void AssertConverged()
        {
            foreach (var region in Regions) Stats.BadVersions += _repairers[region].Live.BadVersions;
            var winners = _produced
                .GroupBy(p => p.Value.Key)
                .ToDictionary(g => g.Key, g => g.MaxBy(p => p.Value.Version));
            foreach (var (key, (identity, write)) in winners)
            {
                if (write.Value is null) Stats.TombstoneWinners++;
                if (_produced.Values.Any(w => w.Key == key && w.Version.Value == write.Version.Value && w.Version.OriginRegion != write.Version.OriginRegion))
                    Stats.TiesAcrossRegions++;
            }

            foreach (var region in Regions)
            {
                var log = _logs[region];
                var last = new Dictionary<string, (long Offset, (string Origin, long Offset) Identity)>();
                for (var offset = 0; offset < log.Count; offset++)
                {
                    var record = log[offset].At(offset);
                    var identity = IdentityOf(region, record, out var isRepair);
                    var where = $"seed {_seed}, region {region}, {Topic}/{Partition} offset {offset}";
                    Assert.True(_produced.TryGetValue(identity, out var write), $"{where}: {identity.Origin}/{identity.Offset} was never produced");
                    Assert.Equal(write.Key, Encoding.UTF8.GetString(record.Key!));
                    Assert.Equal(write.Value, record.Value);
                    Assert.Equal(write.TimestampMs, record.TimestampMs);
                    Assert.True(isRepair || identity.Origin == region || record.Headers.All(h => h.Name != RepairMarker.HeaderName),
                        $"{where}: a replicated record carries a repair marker");
                    last[write.Key] = (offset, identity);
                }

                foreach (var (key, (winner, write)) in winners)
                {
                    Assert.True(last.TryGetValue(key, out var found), $"seed {_seed}, region {region}: no record of {key}; its winner is {write.Version}");
                    Assert.True(found.Identity == winner,
                        $"seed {_seed}, region {region}, {Topic}/{Partition} offset {found.Offset}: the last record of {key} is " +
                        $"{found.Identity.Origin}/{found.Identity.Offset} ({_produced[found.Identity].Version}), expected the winner {write.Version}");
                }
            }
        }

        /// <summary>The write a record of <paramref name="region"/> is: a valid repair marker's, trusted provenance's, or the region's own at its offset.</summary>
        private (string Origin, long Offset) IdentityOf(string region, SourceRecord record, out bool isRepair)
        {
            var signer = _signers[region];
            isRepair = RepairMarker.TryRead(record, signer, out var marker);
            if (isRepair) return (marker!.OriginRegion, marker.OriginOffset);
            var reading = ProvenanceTrust.Read(record, region, Topic, Partition, signer);
            return reading.Verdict == ProvenanceVerdict.Trusted ? (reading.Trusted!.OriginRegion, reading.Trusted.OriginOffset) : (region, record.Offset);
        }
    }
}
