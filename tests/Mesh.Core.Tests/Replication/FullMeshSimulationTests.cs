using System.Text;
using Mesh.Core.Replication;
using Mesh.Core.Topology;

namespace Mesh.Core.Tests.Replication;

/// <summary>
/// Three regions in a full mesh, one partition each, six links. Producers, replication batches,
/// checkpoints and crashes (including between writing to the destination and committing) are
/// interleaved at random; once everything is drained every region must hold every record exactly
/// once, in per-origin order, and another drain must add nothing. In the adversarial variant the
/// producers also write records carrying provenance headers the mesh must not believe (forged,
/// copied from replicated records, malformed): those are genuine local records like any other. In a
/// signed mesh a header the region cannot verify (unsigned, or signed with a key it does not hold) is
/// not re-labelled as local: its record goes to the link's quarantine instead, and is accounted there
/// (exactly the records with such headers, each in the quarantine and never also in the destination).
/// </summary>
public sealed class FullMeshSimulationTests
{
    private static readonly string[] Regions = ["us-east", "eu-west", "ap-south"];
    private const string Topic = "orders";
    private const int Partition = 2;
    private const string KeyText = "simulation-key-000000000000000000000000000000000";
    private const string OtherKeyText = "simulation-key-111111111111111111111111111111111";

    public static IEnumerable<object[]> SimulationSeeds => Enumerable.Range(0, 200).Select(s => new object[] { s });

    public static IEnumerable<object[]> AdversarialSeeds => Enumerable.Range(0, 120).Select(s => new object[] { s });

    [Theory]
    [MemberData(nameof(SimulationSeeds))]
    public void Every_region_ends_with_every_record_exactly_once(int seed)
    {
        // Half the seeds run signed, half unsigned (structural trust only).
        var sim = new Simulation(seed, signed: seed % 2 == 0, adversarial: false, keepUntrusted: true);
        RunAndCheck(sim, seed, 150 + seed % 250);
    }

    [Theory]
    [MemberData(nameof(AdversarialSeeds))]
    public void With_forged_copied_and_malformed_headers_every_genuine_record_still_arrives_exactly_once(int seed)
    {
        var sim = new Simulation(seed, signed: true, adversarial: true, keepUntrusted: seed % 3 != 0);
        RunAndCheck(sim, seed, 150 + seed % 200);
    }

    [Theory]
    [MemberData(nameof(AdversarialSeeds))]
    public void Unsigned_headers_that_are_structurally_wrong_never_cost_a_record(int seed)
    {
        // Without a key only the structure protects the mesh: malformed headers, two headers, a last hop
        // that is not where the record was read, another partition.
        var sim = new Simulation(seed, signed: false, adversarial: true, keepUntrusted: seed % 2 == 0);
        RunAndCheck(sim, seed, 100 + seed % 150);
    }

    private static void RunAndCheck(Simulation sim, int seed, int steps)
    {
        sim.Run(steps);
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
    public void The_simulation_exercises_crashes_redelivery_duplicate_skips_and_untrusted_headers()
    {
        var totals = new Simulation.Counters();
        for (var seed = 0; seed < 50; seed++)
        {
            var sim = new Simulation(seed, signed: seed % 2 == 0, adversarial: seed % 4 == 0, keepUntrusted: true);
            sim.Run(steps: 300);
            sim.DrainUntilQuiescent();
            totals.Add(sim.Stats);
        }

        // Without these the properties above would prove little.
        Assert.True(totals.CrashesAfterPartialWrite > 0, "no crash after a partial write");
        Assert.True(totals.CrashesAfterFullWrite > 0, "no crash between a full write and Commit");
        Assert.True(totals.CrashesWithoutWrite > 0, "no crash before writing");
        Assert.True(totals.Redelivered > 0, "the reader never re-delivered a record");
        Assert.True(totals.SkippedAlreadyApplied > 0, "recovery never had to skip an applied record");
        Assert.True(totals.SkippedLoop > 0, "no record was ever offered back to its origin");
        Assert.True(totals.SkippedNotOnRoute > 0, "no record was ever offered to a link off its route");
        Assert.True(totals.UntrustedHeaders > 0, "no untrusted header was ever replicated as local");
        Assert.True(totals.Quarantined > 0, "no unverifiable header was ever quarantined");
        Assert.True(totals.CrashesAfterQuarantine > 0, "no crash between a quarantine write and Commit");
        foreach (var kind in Enum.GetValues<Simulation.BadHeader>())
            Assert.True(totals.BadHeaders.GetValueOrDefault(kind) > 0, $"no record was produced with a {kind} header");
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
        public required string StoredCheckpoint { get; set; }

        /// <summary>The quarantine entries this link wrote, as stored (key, value, the quarantine time as timestamp, headers).</summary>
        public List<(byte[]? Key, byte[]? Value, long TimestampMs, List<RecordHeader> Headers)> Quarantine { get; } = [];

        public override string ToString() => $"{Source}->{Destination}";
    }

    private sealed class Simulation
    {
        /// <summary>The kinds of header an application (or an attacker) puts on a local record.</summary>
        public enum BadHeader
        {
            /// <summary>Claims the record's own region as origin with a huge offset (would make the vector jump).</summary>
            ForgedLocalHugeOffset,
            /// <summary>Claims to have visited another region (would make the record skip it).</summary>
            ForgedHopsNameAnotherRegion,
            /// <summary>A stream processor's copy: another record's genuine replicated header on a new value.</summary>
            CopiedFromReplicatedRecord,
            /// <summary>Signed by a key the mesh does not hold.</summary>
            SignedWithForeignKey,
            /// <summary>A genuine signature for this record, but made for another partition.</summary>
            SignedForAnotherPartition,
            /// <summary>A header whose last hop is not the region it is read in.</summary>
            LastHopElsewhere,
            Malformed,
            VersionOne,
            NullValue,
            TwoHeaders,
        }

        private static readonly BadHeader[] NeedsKeys =
            [BadHeader.ForgedLocalHugeOffset, BadHeader.ForgedHopsNameAnotherRegion, BadHeader.CopiedFromReplicatedRecord, BadHeader.SignedWithForeignKey];

        /// <summary>
        /// Headers a signed region cannot judge (unsigned, or signed with a key it does not hold) on a record that otherwise
        /// belongs where it is read: held for the quarantine on every link out of the region, never replicated as local.
        /// </summary>
        private static readonly BadHeader[] Unverifiable = [BadHeader.ForgedHopsNameAnotherRegion, BadHeader.SignedWithForeignKey];

        private readonly int _seed;
        private readonly Random _random;
        private readonly bool _adversarial;
        private readonly bool _signed;
        private readonly BadHeader[] _badHeaders;
        private readonly ReplicationPolicy _policy;
        private readonly ProvenanceSigner? _signer;
        private readonly ProvenanceSigner _foreignSigner = MeshKeys.Create(OtherKeyText, null)!.CreateSigner();
        private readonly Dictionary<string, List<LogRecord>> _logs = Regions.ToDictionary(r => r, _ => new List<LogRecord>());
        private readonly List<LinkState> _links = [];

        /// <summary>Every record produced anywhere: (origin, origin offset) -> what it must look like everywhere.</summary>
        private readonly Dictionary<(string Origin, long Offset), LogRecord> _produced = [];

        /// <summary>Records produced with a header their region cannot verify: every link out of the region must quarantine them.</summary>
        private readonly HashSet<(string Origin, long Offset)> _unverifiable = [];

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
            public int UntrustedHeaders;
            public int Quarantined;
            public int CrashesAfterQuarantine;
            public Dictionary<BadHeader, int> BadHeaders { get; } = [];

            public void Add(Counters other)
            {
                CrashesWithoutWrite += other.CrashesWithoutWrite;
                CrashesAfterPartialWrite += other.CrashesAfterPartialWrite;
                CrashesAfterFullWrite += other.CrashesAfterFullWrite;
                Redelivered += other.Redelivered;
                SkippedAlreadyApplied += other.SkippedAlreadyApplied;
                SkippedLoop += other.SkippedLoop;
                SkippedNotOnRoute += other.SkippedNotOnRoute;
                UntrustedHeaders += other.UntrustedHeaders;
                Quarantined += other.Quarantined;
                CrashesAfterQuarantine += other.CrashesAfterQuarantine;
                foreach (var (kind, count) in other.BadHeaders) BadHeaders[kind] = BadHeaders.GetValueOrDefault(kind) + count;
            }
        }

        public Counters Stats { get; } = new();

        public Simulation(int seed, bool signed, bool adversarial, bool keepUntrusted)
        {
            _seed = seed;
            _random = new Random(seed);
            _adversarial = adversarial;
            _signed = signed;
            _badHeaders = Enum.GetValues<BadHeader>().Where(k => signed || !NeedsKeys.Contains(k)).ToArray();
            _policy = new ReplicationPolicy(signed ? MeshKeys.Create(KeyText, null) : null, StrictProvenance: false, keepUntrusted, BadRecordAction.Quarantine);
            _signer = _policy.Keys?.CreateSigner();
            foreach (var source in Regions)
            foreach (var destination in Regions)
            {
                if (source == destination) continue;
                var start = ReplicationCheckpoint.Start(0, IncarnationOf(source), IncarnationOf(destination), OriginSet.Of([source]));
                _links.Add(new LinkState(source, destination) { Live = NewReplication(source, destination, start), StoredCheckpoint = start.Encode() });
            }
        }

        private static string IncarnationOf(string region) => Incarnations.FromClusterId("cluster-of-" + region);

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
            var quarantined = AssertQuarantinesAccounted();
            foreach (var region in Regions)
            {
                // Every record produced anywhere, except those a link into this region quarantined.
                var expected = _produced.Keys.Where(id => id.Origin == region || !quarantined[(id.Origin, region)].Contains(id.Offset)).ToHashSet();
                var log = _logs[region];
                var seen = new HashSet<(string Origin, long Offset)>();
                var lastPerOrigin = new Dictionary<string, long>();
                for (var offset = 0; offset < log.Count; offset++)
                {
                    var where = $"seed {_seed}, region {region}, partition {Partition}, offset {offset}";
                    var record = log[offset];
                    var (provenance, trusted) = ProvenanceOf(region, offset, record);
                    var identity = (provenance.OriginRegion, provenance.OriginOffset);

                    Assert.True(seen.Add(identity), $"{where}: duplicate of {provenance.OriginRegion}@{provenance.OriginOffset}");
                    Assert.True(_produced.TryGetValue(identity, out var original), $"{where}: {provenance.OriginRegion}@{provenance.OriginOffset} was never produced");
                    Assert.True(lastPerOrigin.GetValueOrDefault(provenance.OriginRegion, -1) < provenance.OriginOffset,
                        $"{where}: {provenance.OriginRegion}@{provenance.OriginOffset} after {provenance.OriginRegion}@{lastPerOrigin.GetValueOrDefault(provenance.OriginRegion)}: per-origin order broken");
                    lastPerOrigin[provenance.OriginRegion] = provenance.OriginOffset;

                    Assert.True(trusted == (provenance.OriginRegion != region), $"{where}: a {(trusted ? "trusted" : "missing or untrusted")} header on a record of origin {provenance.OriginRegion}");
                    Assert.True(provenance.Hops.Distinct().Count() == provenance.Hops.Length, $"{where}: hops {string.Join(',', provenance.Hops)} repeat a region");
                    Assert.Equal(provenance.OriginRegion, provenance.Hops[0]);
                    Assert.Equal(region, provenance.Hops[^1]);
                    Assert.True(provenance.Hops.Length == (provenance.OriginRegion == region ? 1 : 2), $"{where}: full mesh should need one hop, hops {string.Join(',', provenance.Hops)}");
                    Assert.Equal(IncarnationOf(provenance.OriginRegion), provenance.OriginIncarnation);
                    Assert.Equal(Topic, provenance.OriginTopic);
                    Assert.Equal(Partition, provenance.OriginPartition);
                    Assert.Equal(original.TimestampMs, provenance.OriginTimestampMs);

                    Assert.Equal(original.Key, record.Key);
                    Assert.Equal(original.Value, record.Value);
                    Assert.Equal(original.TimestampMs, record.TimestampMs);
                    var keep = _policy.KeepUntrustedHeader || provenance.OriginRegion == region;
                    var applicationHeaders = record.Headers.Where(h => !(trusted && h.Name == ProvenanceCodec.HeaderName)).Select(h => Describe(h, keep: true));
                    Assert.Equal(original.Headers.Select(h => Describe(h, keep)).OfType<string>(), applicationHeaders.OfType<string>());
                }
                var missing = expected.Except(seen).OrderBy(i => i.Origin, StringComparer.Ordinal).ThenBy(i => i.Offset).Take(5).ToList();
                Assert.True(missing.Count == 0,
                    $"seed {_seed}, region {region}, partition {Partition}: missing {expected.Count - seen.Count} records, e.g. {string.Join(' ', missing.Select(m => $"{m.Origin}@{m.Offset}"))}");
                Assert.Equal(expected.Count, log.Count);
            }
        }

        /// <summary>
        /// Each link quarantined exactly the records of its source with a header the source region cannot verify (more than
        /// once only after a crash between the quarantine write and Commit), each as the source held it; its count says so too.
        /// Returns, per link, the quarantined source offsets.
        /// </summary>
        private Dictionary<(string Source, string Destination), HashSet<long>> AssertQuarantinesAccounted()
        {
            var result = new Dictionary<(string, string), HashSet<long>>();
            foreach (var link in _links)
            {
                var offsets = new HashSet<long>();
                foreach (var (key, value, quarantinedAt, headers) in link.Quarantine)
                {
                    Assert.True(QuarantineCodec.TryDecode(key, value, quarantinedAt, headers, out var entry, out var reason), $"seed {_seed}: link {link}: {reason}");
                    var where = $"seed {_seed}, link {link}, quarantined source offset {entry!.SourceOffset}";
                    Assert.Equal((link.Source, IncarnationOf(link.Source), link.Destination, Topic, Partition), (entry.Source, entry.SourceIncarnation, entry.Destination, entry.Topic, entry.Partition));
                    Assert.True(entry.Kind.StartsWith(QuarantineKinds.UnverifiableProvenance, StringComparison.Ordinal), $"{where}: kind {entry.Kind} ({entry.Reason})");
                    Assert.True(entry.RecordKept, where);
                    var original = _produced[(link.Source, entry.SourceOffset)];
                    Assert.Equal(original.Key, entry.Record.Key);
                    Assert.Equal(original.Value, entry.Record.Value);
                    Assert.Equal(original.TimestampMs, entry.Record.TimestampMs); // from 'ts', not the stored record's quarantine time
                    Assert.Equal(original.Headers.Select(h => Describe(h, keep: true)), entry.Record.Headers.Select(h => Describe(h, keep: true)));
                    offsets.Add(entry.SourceOffset);
                }
                var expected = _unverifiable.Where(id => id.Origin == link.Source).Select(id => id.Offset).ToHashSet();
                Assert.True(expected.SetEquals(offsets),
                    $"seed {_seed}, link {link}: quarantined [{string.Join(',', offsets.Order())}], expected [{string.Join(',', expected.Order())}]");
                Assert.True(link.Live.RecordsQuarantined == offsets.Count, $"seed {_seed}, link {link}: counts {link.Live.RecordsQuarantined} quarantined, holds {offsets.Count}");
                result[(link.Source, link.Destination)] = offsets;
            }
            return result;
        }

        /// <summary>An application header as it must look everywhere: an untrusted provenance header travels renamed (or not at all).</summary>
        private static string? Describe(RecordHeader header, bool keep)
        {
            var name = header.Name;
            if (name == ProvenanceCodec.HeaderName)
            {
                if (!keep) return null;
                name = ProvenanceCodec.UntrustedHeaderName;
            }
            return header.Value is null ? $"{name}=<null>" : $"{name}={Convert.ToHexString(header.Value)}";
        }

        private void Produce(string region)
        {
            var log = _logs[region];
            var offset = log.Count;
            var headers = new List<RecordHeader>();
            for (var i = _random.Next(3); i > 0; i--)
                headers.Add(new RecordHeader($"app-{_random.Next(3)}", _random.Next(5) == 0 ? null : Encoding.UTF8.GetBytes($"{region}/{offset}/{i}")));
            var key = _random.Next(8) == 0 ? null : Encoding.UTF8.GetBytes($"key-{_random.Next(10)}");
            var value = Encoding.UTF8.GetBytes($"value {region}@{offset}");
            var timestamp = _clock += _random.Next(0, 3);
            BadHeader? bad = null;
            if (_adversarial && _random.Next(3) == 0)
                headers.InsertRange(_random.Next(headers.Count + 1), BadHeaders(region, key, value, timestamp, out bad));
            var record = new LogRecord(key, value, timestamp, headers);
            log.Add(record);
            _produced.Add((region, offset), record);
            if (_signed && bad is { } kind && Unverifiable.Contains(kind)) _unverifiable.Add((region, offset));
        }

        private List<RecordHeader> BadHeaders(string region, byte[]? key, byte[]? value, long timestamp, out BadHeader? added)
        {
            added = null;
            var kind = _badHeaders[_random.Next(_badHeaders.Length)];
            var other = Regions.Where(r => r != region).ElementAt(_random.Next(Regions.Length - 1));
            var offset = _random.Next(2) == 0 ? long.MaxValue : _random.Next(0, 1000);
            RecordHeader Unsigned(Provenance p) => new(ProvenanceCodec.HeaderName, ProvenanceCodec.Encode(p));
            RecordHeader Text(string text) => new(ProvenanceCodec.HeaderName, Encoding.UTF8.GetBytes(text));

            List<RecordHeader>? headers = kind switch
            {
                BadHeader.ForgedLocalHugeOffset =>
                    [Unsigned(new Provenance(region, IncarnationOf(region), Topic, Partition, long.MaxValue - _random.Next(10), timestamp, [region]))],
                BadHeader.ForgedHopsNameAnotherRegion =>
                    [Unsigned(new Provenance(other, IncarnationOf(other), Topic, Partition, offset, timestamp, [other, region]))],
                BadHeader.CopiedFromReplicatedRecord => CopyOfAReplicatedHeader(region),
                BadHeader.SignedWithForeignKey =>
                    [new(ProvenanceCodec.HeaderName, _foreignSigner.Encode(new Provenance(other, IncarnationOf(other), Topic, Partition, offset, timestamp, [other, region]), key, value))],
                BadHeader.SignedForAnotherPartition => _signer is null
                    ? [Unsigned(new Provenance(other, IncarnationOf(other), Topic, Partition + 1, offset, timestamp, [other, region]))]
                    : [new(ProvenanceCodec.HeaderName, _signer.Encode(new Provenance(other, IncarnationOf(other), Topic, Partition + 1, offset, timestamp, [other, region]), key, value))],
                BadHeader.LastHopElsewhere => [Unsigned(new Provenance(other, IncarnationOf(other), Topic, Partition, offset, timestamp, [other]))],
                BadHeader.Malformed => [Text(_random.Next(2) == 0 ? "garbage" : $"2|{other}|{IncarnationOf(other)}|{Topic}|{Partition}|x|0|{other},{region}|-")],
                BadHeader.VersionOne => [Text($"1|{other}|{Partition}|{offset}|0|{other},{region}")],
                BadHeader.NullValue => [new RecordHeader(ProvenanceCodec.HeaderName, null)],
                BadHeader.TwoHeaders =>
                [
                    Unsigned(new Provenance(other, IncarnationOf(other), Topic, Partition, offset, timestamp, [other, region])),
                    Unsigned(new Provenance(other, IncarnationOf(other), Topic, Partition, offset, timestamp, [other, region])),
                ],
                _ => throw new InvalidOperationException(kind.ToString()),
            };
            if (headers is null) return [];
            Stats.BadHeaders[kind] = Stats.BadHeaders.GetValueOrDefault(kind) + 1;
            added = kind;
            return headers;
        }

        /// <summary>The header of a record the mesh replicated into <paramref name="region"/>, as a stream processor would copy it; null when there is none yet.</summary>
        private List<RecordHeader>? CopyOfAReplicatedHeader(string region)
        {
            var log = _logs[region];
            var replicated = Enumerable.Range(0, log.Count).Where(o => !_produced.ContainsKey((region, o))).ToList();
            if (replicated.Count == 0) return null;
            var source = log[replicated[_random.Next(replicated.Count)]];
            return [source.Headers.Last(h => h.Name == ProvenanceCodec.HeaderName)];
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
            if (plan.Held is { } held)
            {
                Assert.True(held.Kind == DecisionKind.Quarantine, $"seed {_seed}: link {link} stopped at a record: {held.Reason}");
                Assert.True(_unverifiable.Contains((link.Source, held.Record.Offset)),
                    $"seed {_seed}: link {link} held source offset {held.Record.Offset} ({held.QuarantineKind}): {held.Reason}");
                Assert.StartsWith(QuarantineKinds.UnverifiableProvenance, held.QuarantineKind);
            }
            Stats.Redelivered += (int)Math.Max(0, Math.Min(live.NextSourceOffset, from + count) - from);
            Stats.UntrustedHeaders += plan.UntrustedHeaders;
            CountSkips(live, batch, plan);

            var crash = allowCrash ? _random.Next(10) : -1;
            // 0: dies before writing anything; 1: after writing part of the batch; 2: after writing it all (and the
            // quarantine entry of a held record), before Commit.
            var toWrite = crash switch
            {
                0 => 0,
                1 => _random.Next(0, plan.Outbound.Count + 1),
                _ => plan.Outbound.Count,
            };
            foreach (var outbound in plan.Outbound.Take(toWrite))
                destination.Add(new LogRecord(outbound.Key, outbound.Value, outbound.TimestampMs, outbound.Headers));

            if (crash is 0 or 1)
            {
                if (toWrite == 0) Stats.CrashesWithoutWrite++;
                else if (toWrite < plan.Outbound.Count) Stats.CrashesAfterPartialWrite++;
                else Stats.CrashesAfterFullWrite++;
                Crash(link);
                return toWrite;
            }
            if (plan.Held is { Kind: DecisionKind.Quarantine } quarantine)
            {
                // As the grain does: the quarantine topic stores the entry with the time it was quarantined as its timestamp.
                var entry = live.QuarantineEntryFor(quarantine, 1_800_000_000_000 + _clock);
                link.Quarantine.Add((entry.Record.Key, entry.Record.Value, entry.QuarantinedAtMs, QuarantineCodec.Headers(entry)));
                Stats.Quarantined++;
            }
            if (crash == 2)
            {
                if (plan.Held is not null) Stats.CrashesAfterQuarantine++;
                else if (plan.Outbound.Count == 0) Stats.CrashesWithoutWrite++;
                else Stats.CrashesAfterFullWrite++;
                Crash(link);
                return toWrite;
            }
            live.Commit(plan, plan.Outbound.Count > 0 ? destination.Count : live.DestinationEndOffset);
            // As the grain does: checkpoint past a quarantined record at once (a crash before would quarantine it twice).
            if (plan.Held is not null) TakeCheckpoint(link);
            return toWrite;
        }

        /// <summary>Which kinds of skip the plan made (the plan only counts them): the same rule, record by record.</summary>
        private void CountSkips(PartitionReplication live, List<SourceRecord> batch, BatchPlan plan)
        {
            var working = live.Vector.Clone();
            var next = live.NextSourceOffset;
            var skipped = 0;
            foreach (var record in batch)
            {
                if (record.Offset < next) continue;
                next = record.Offset + 1;
                var decision = live.Decide(record, working);
                if (decision.Kind is DecisionKind.Quarantine or DecisionKind.Stop) break; // the plan ends at a held record
                switch (decision.Kind)
                {
                    case DecisionKind.Forward: working.Advance(decision.Outbound!.Provenance.OriginKey, decision.Outbound.Provenance.OriginOffset); break;
                    case DecisionKind.SkipAlreadyApplied: Stats.SkippedAlreadyApplied++; skipped++; break;
                    case DecisionKind.SkipLoop: Stats.SkippedLoop++; skipped++; break;
                    case DecisionKind.SkipNotOnRoute: Stats.SkippedNotOnRoute++; skipped++; break;
                }
            }
            Assert.Equal(plan.Skipped, skipped);
        }

        private void TakeCheckpoint(LinkState link) => link.StoredCheckpoint = link.Live.Checkpoint().Encode();

        /// <summary>Throws away the in-memory state and rebuilds it as a restarted grain would.</summary>
        private void Crash(LinkState link)
        {
            Assert.True(ReplicationCheckpoint.TryDecode(link.StoredCheckpoint, out var checkpoint, out var reason),
                $"seed {_seed}: link {link} stored an unreadable checkpoint '{link.StoredCheckpoint}': {reason}");
            link.Live.Dispose();
            var recovered = NewReplication(link.Source, link.Destination, checkpoint!);
            var destination = _logs[link.Destination];
            for (var offset = checkpoint!.DestinationEndOffset; offset < destination.Count; offset++)
                recovered.Observe(destination[(int)offset].At(offset));
            link.Live = recovered;
        }

        private PartitionReplication NewReplication(string source, string destination, ReplicationCheckpoint start) =>
            new(source, destination, Topic, Topic, Partition, NamingPolicy.Identity, OriginSet.Of([source]), _policy, start);

        /// <summary>The record's trusted provenance, or a local record's implicit provenance.</summary>
        private (Provenance Provenance, bool Trusted) ProvenanceOf(string region, long offset, LogRecord record)
        {
            var reading = ProvenanceTrust.Read(record.At(offset), region, Topic, Partition, _signer);
            return reading.Verdict == ProvenanceVerdict.Trusted
                ? (reading.Trusted!, true)
                : (Provenance.Local(region, IncarnationOf(region), Topic, Partition, offset, record.TimestampMs), false);
        }
    }
}
