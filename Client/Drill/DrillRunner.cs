using System.Diagnostics;
using Confluent.Kafka;
using Mesh.Client.Audit;
using Mesh.Client.Local;
using Mesh.Client.Traffic;

namespace Mesh.Client.Drill;

/// <summary>
/// Runs a region-loss drill on a local mesh of its own: steady producers in every region and a
/// consumer group in the region that will die; kills that region whole (Kafka and silos, SIGKILL);
/// measures what was not replicated (RPO) and how long the group takes to consume in a survivor
/// (RTO); restarts the region empty, waits for it to be rebuilt, and audits the mesh.
/// </summary>
public sealed class DrillRunner(LocalMesh mesh, DrillOptions options, Action<string> progress)
{
    public const string Topic = "orders";
    public const string Group = "mesh-drill";
    private const int Brokers = 3;
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);
    // Replication has quiesced when what a region holds has not changed for this long.
    private static readonly TimeSpan QuietWindow = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan QuietDeadline = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FailoverDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(60);

    private readonly string _dead = options.KilledRegion;
    private readonly IReadOnlyList<string> _survivors = options.Survivors;
    private readonly string _failover = options.FailoverRegion;

    public async Task<DrillReport> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        await StartMeshAsync(cancellationToken);

        var producers = new Dictionary<string, DrillProducer>(StringComparer.Ordinal);
        var tails = new Dictionary<string, RegionTail>(StringComparer.Ordinal);
        DrillConsumer? before = null, after = null;
        RegionTail? restarted = null;
        try
        {
            // Traffic everywhere; the group reads where the region will die.
            foreach (var region in options.Regions)
                producers[region] = new DrillProducer(mesh.Bootstrap(region), region, Topic, options.Rate);
            before = new DrillConsumer(mesh.Bootstrap(_dead), _dead, Topic, Group);
            before.Start(options.Partitions);
            foreach (var region in _survivors)
                tails[region] = new RegionTail(mesh.Bootstrap(region), region, Topic, options.Partitions);
            progress($"producing {options.Rate} records/s into each of {string.Join(", ", options.Regions)}; group '{Group}' consuming in {_dead}; " +
                     $"warming up for {options.Warmup.TotalSeconds:0} s");
            await WarmUpAsync(producers, before, cancellationToken);

            // The region dies with its application: nothing more is produced or processed there.
            var killedAt = DateTimeOffset.UtcNow;
            before.Abandon();
            producers[_dead].Abandon();
            var killed = await mesh.KillAsync(_dead, silo: true, kafka: true);
            progress($"killed {_dead} without warning: {string.Join(" and ", killed)} (SIGKILL); its producer and its group member died with it");

            // The group fails over at once, while the survivors' copies of the dead region's records settle.
            after = new DrillConsumer(mesh.Bootstrap(_failover), _failover, Topic, Group);
            var consumer = after;
            var failingOver = Task.Run(async () =>
            {
                consumer.Start(options.Partitions);
                return await WaitForFirstRecordAsync(consumer, killedAt, cancellationToken);
            }, cancellationToken);
            await QuiesceAsync(() => _survivors.Sum(s => tails[s].From(_dead)), $"the survivors' copies of {_dead}'s records", cancellationToken);
            var rto = await failingOver;

            // RPO: what the dead region acknowledged that no survivor holds, now that nothing more arrives.
            var acked = producers[_dead].Acked.ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal);
            var survivorsHold = _survivors.SelectMany(s => Values(s)).ToHashSet(StringComparer.Ordinal);
            var rpo = DrillMeasures.RecoveryPoint(acked, survivorsHold.Contains, killedAt);
            progress($"RPO: {rpo.Records} of the {acked.Count} records {_dead} acknowledged reached no survivor" +
                     (rpo.Records > 0 ? $", the oldest sent {rpo.Seconds:0.0} s before the kill" : ""));

            // The dead region comes back empty; it is rebuilt when it holds everything the survivors held.
            var expected = _survivors.SelectMany(s => tails[s].Snapshot()).ToHashSet(StringComparer.Ordinal);
            var restartClock = Stopwatch.StartNew();
            progress($"restarting {_dead} (its Kafka comes back empty, a new incarnation)");
            await mesh.StartAsync(_dead, cancellationToken);
            var restartSeconds = restartClock.Elapsed.TotalSeconds;
            restarted = new RegionTail(mesh.Bootstrap(_dead), _dead, Topic, options.Partitions);
            var rebuild = await WaitForRebuildAsync(restarted, expected, restartClock, cancellationToken);

            // The end of traffic: the group drains what the survivor holds, then what it missed is counted.
            await Task.WhenAll(_survivors.Select(s => producers[s].StopAsync(TimeSpan.FromSeconds(30))));
            progress("producers stopped; waiting for replication to settle and the group to catch up");
            // A replicator that takes over from a silo that did not release its partitions waits out that silo's
            // writes before it replicates (fencing); quiet counts mean nothing until every link replicates again.
            try
            {
                await mesh.WaitUntilReplicatingAsync(mesh.State, TimeSpan.FromSeconds(90), cancellationToken);
            }
            catch (MeshCommandException e)
            {
                progress($"not every link replicates again yet ({e.Message}); measuring anyway");
            }
            var everyRegion = tails.Values.Append(restarted).ToList();
            await QuiesceAsync(() => everyRegion.Sum(t => t.Records), "every region's records", cancellationToken);
            var behind = await WaitForCatchUpAsync(after, cancellationToken);
            var held = Values(_failover);
            after.Stop();
            var outcome = DrillMeasures.GroupOutcome(held, DrillMeasures.Tally(before.Processed, after.Processed));
            var outOfReach = DrillMeasures.OutOfReach(held, _survivors.Where(s => s != _failover).SelectMany(Values));
            if (outOfReach.Records > 0)
                progress($"{outOfReach.Records} records another survivor holds never reached {_failover} (e.g. {string.Join(", ", outOfReach.Examples)}): out of the group's reach there");

            var (identical, audit) = await AuditAsync(cancellationToken);

            var failures = new List<string>();
            if (outcome.Lost > 0)
                failures.Add($"the group never processed {outcome.Lost} records that {_failover} held (e.g. {string.Join(", ", outcome.LostExamples)})" +
                             (rto is null ? $"; it never consumed in {_failover}" : behind > 0 ? $"; it was still {behind} records behind there when the drill ended" : ""));
            if (!identical)
                failures.Add($"the audit found the regions disagree ({audit.LastOrDefault()})" + (rebuild.Rebuilt ? "" :
                    $"; {_dead} was not rebuilt within {options.RebuildTimeout.TotalSeconds:0} s: it lacked {rebuild.Missing} records the survivors held, {rebuild.MissingOwn} of them its own from before the kill"));

            return new DrillReport
            {
                Regions = options.Regions,
                KilledRegion = _dead,
                Survivor = _failover,
                Group = Group,
                Topic = Topic,
                Partitions = options.Partitions,
                RatePerRegion = options.Rate,
                WarmupSeconds = options.Warmup.TotalSeconds,
                Produced = producers.ToDictionary(p => p.Key, p => p.Value.Acked.Count, StringComparer.Ordinal),
                KilledAt = killedAt,
                RpoRecords = rpo.Records,
                RpoSeconds = Math.Round(rpo.Seconds, 3),
                RpoExamples = rpo.Examples,
                RtoSeconds = rto is { } r ? Math.Round(r.TotalSeconds, 3) : null,
                ResumedFrom = after.CommittedAtStart.Count > 0 ? "committed offsets" : "earliest",
                GroupOffsetsInSurvivor = after.CommittedAtStart,
                ProcessedBeforeKill = before.ProcessedCount,
                ProcessedAfterFailover = after.ProcessedCount,
                Lost = outcome.Lost,
                LostExamples = outcome.LostExamples,
                OutOfReach = outOfReach.Records,
                OutOfReachExamples = outOfReach.Examples,
                Redelivered = outcome.Redelivered,
                ExtraDeliveries = outcome.ExtraDeliveries,
                RestartSeconds = Math.Round(restartSeconds, 3),
                Rebuilt = rebuild.Rebuilt,
                RebuildSeconds = rebuild.Seconds is { } s ? Math.Round(s, 3) : null,
                RebuildTimeoutSeconds = options.RebuildTimeout.TotalSeconds,
                RebuildMissing = rebuild.Missing,
                RebuildMissingOwn = rebuild.MissingOwn,
                Identical = identical,
                Audit = audit,
                DurationSeconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
                Failures = failures,
            };
        }
        finally
        {
            foreach (var producer in producers.Values) producer.Dispose();
            before?.Dispose();
            after?.Dispose();
            foreach (var tail in tails.Values) tail.Dispose();
            restarted?.Dispose();
        }
    }

    /// <summary>A full mesh whose silos keep the group's offsets in step across regions.</summary>
    private async Task StartMeshAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(mesh.Paths.Root);
        var file = Path.Combine(mesh.Paths.Root, "drill-topology.yaml");
        File.WriteAllText(file, string.Join('\n',
        [
            "# Written by 'mesh drill': a full mesh whose silos sync the drill group's committed offsets into every other region.",
            "name: drill",
            "version: 1",
            "naming: identity",
            "pattern: mesh",
            "regions:",
            .. options.Regions.Select(r => $"  {r}: {{}}"),
            "offsets:",
            $"  groups: [{Group}]",
            "  intervalSeconds: 1",
            "",
        ]));
        var started = Stopwatch.StartNew();
        await mesh.UpAsync(LocalTopologyPlan.FromFile(file), Brokers, options.Partitions, [Topic], LocalMesh.DefaultReadyTimeout, cancellationToken);
        progress($"{options.Regions.Count} regions up and replicating (full mesh) in {started.Elapsed.TotalSeconds:0.0} s; state and logs in {mesh.Paths.Root}");
    }

    private async Task WarmUpAsync(Dictionary<string, DrillProducer> producers, DrillConsumer group, CancellationToken cancellationToken)
    {
        var warm = Stopwatch.StartNew();
        var next = ProgressEvery;
        while (warm.Elapsed < options.Warmup)
        {
            await Pace.UntilAsync(warm, Min(warm.Elapsed + Poll, options.Warmup), cancellationToken);
            foreach (var producer in producers.Values.Where(p => p.Failed > 0))
                throw new MeshCommandException($"Producing into {producer.Region} failed before the kill: {producer.FirstError}. See the logs under {mesh.Paths.Root}.");
            if (warm.Elapsed < next) continue;
            next += ProgressEvery;
            progress($"warm-up {warm.Elapsed.TotalSeconds:0} s: acknowledged {string.Join(", ", producers.Values.Select(p => $"{p.Region} {p.Acked.Count}"))}; " +
                     $"group processed {group.ProcessedCount} in {group.Region}");
        }
    }

    private async Task<TimeSpan?> WaitForFirstRecordAsync(DrillConsumer consumer, DateTimeOffset killedAt, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (consumer.FirstRecordAt is null)
        {
            if (consumer.FatalError is { } error)
            {
                progress($"the group's consumer in {consumer.Region} failed: {error}");
                return null;
            }
            if (deadline.Elapsed > FailoverDeadline)
            {
                progress($"the group did not consume in {consumer.Region} within {FailoverDeadline.TotalSeconds:0} s of the kill");
                return null;
            }
            await Task.Delay(20, cancellationToken);
        }
        var rto = consumer.FirstRecordAt.Value - killedAt;
        progress($"group '{Group}' consuming again in {consumer.Region} {rto.TotalSeconds:0.0} s after the kill, from " +
                 (consumer.CommittedAtStart.Count > 0
                     ? $"the offsets the mesh synced there ({string.Join(", ", consumer.CommittedAtStart.OrderBy(c => c.Key).Select(c => $"p{c.Key}@{c.Value}"))})"
                     : "the earliest offsets (the group had no committed offsets there: everything is re-delivered)"));
        return rto;
    }

    /// <summary>Waits (up to a deadline) until <paramref name="count"/> has not changed for the quiet window.</summary>
    private async Task QuiesceAsync(Func<long> count, string what, CancellationToken cancellationToken)
    {
        var quiet = new Quiescence(QuietWindow);
        var waited = Stopwatch.StartNew();
        while (!quiet.Observe(count(), DateTimeOffset.UtcNow))
        {
            if (waited.Elapsed > QuietDeadline)
            {
                progress($"{what} were still changing after {QuietDeadline.TotalSeconds:0} s; measuring anyway");
                return;
            }
            await Task.Delay(Poll, cancellationToken);
        }
        progress($"{what} settled ({count()} records, unchanged for {QuietWindow.TotalSeconds:0} s)");
    }

    private sealed record RebuildOutcome(bool Rebuilt, double? Seconds, int Missing, int MissingOwn);

    private async Task<RebuildOutcome> WaitForRebuildAsync(RegionTail region, HashSet<string> expected, Stopwatch sinceRestart, CancellationToken cancellationToken)
    {
        var own = expected.Where(v => v.StartsWith(_dead + ":", StringComparison.Ordinal)).ToList();
        progress($"{_dead} restarted in {sinceRestart.Elapsed.TotalSeconds:0.0} s; waiting up to {options.RebuildTimeout.TotalSeconds:0} s from the restart " +
                 $"for it to hold the {expected.Count} records the survivors held ({own.Count} of them its own from before the kill)");
        // A line when the count moves, and at most every ten seconds while it does not.
        var (lastShown, shownAt) = (-1, TimeSpan.Zero);
        while (true)
        {
            var missing = DrillMeasures.Missing(expected, region.Holds);
            if (missing == 0)
            {
                progress($"{_dead} rebuilt {sinceRestart.Elapsed.TotalSeconds:0.0} s after its restart");
                return new RebuildOutcome(true, sinceRestart.Elapsed.TotalSeconds, 0, 0);
            }
            var missingOwn = DrillMeasures.Missing(own, region.Holds);
            if (sinceRestart.Elapsed > options.RebuildTimeout)
            {
                progress($"{_dead} was not rebuilt within {options.RebuildTimeout.TotalSeconds:0} s: it lacks {missing} of the {expected.Count} records, {missingOwn} of them its own from before the kill");
                return new RebuildOutcome(false, null, missing, missingOwn);
            }
            if (sinceRestart.Elapsed - shownAt >= (missing == lastShown ? TimeSpan.FromSeconds(10) : ProgressEvery))
            {
                (lastShown, shownAt) = (missing, sinceRestart.Elapsed);
                progress($"rebuilding {_dead}: holds {expected.Count - missing} of {expected.Count} ({own.Count - missingOwn} of its own {own.Count})");
            }
            await Task.Delay(Min(TimeSpan.FromMilliseconds(500), options.RebuildTimeout), cancellationToken);
        }
    }

    /// <summary>Waits (up to a deadline) until the group's position in the survivor is at the end of every partition; returns how far behind it still is.</summary>
    private async Task<long> WaitForCatchUpAsync(DrillConsumer group, CancellationToken cancellationToken)
    {
        using var watermarks = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = mesh.Bootstrap(group.Region), GroupId = "mesh-drill-watermarks" }).Build();
        var ends = Enumerable.Range(0, options.Partitions)
            .ToDictionary(p => p, p => watermarks.QueryWatermarkOffsets(new TopicPartition(Topic, p), TimeSpan.FromSeconds(10)).High.Value);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var positions = group.Positions;
            var behind = ends.Sum(e => Math.Max(0, e.Value - positions.GetValueOrDefault(e.Key, group.CommittedAtStart.GetValueOrDefault(e.Key))));
            if (behind == 0) return 0;
            if (waited.Elapsed > QuietDeadline)
            {
                progress($"the group was still {behind} records behind in {group.Region} after {QuietDeadline.TotalSeconds:0} s");
                return behind;
            }
            await Task.Delay(Poll, cancellationToken);
        }
    }

    /// <summary>The audit as <c>mesh audit</c> runs it on the local mesh: true when the regions agree, with its lines.</summary>
    private async Task<(bool Identical, IReadOnlyList<string> Lines)> AuditAsync(CancellationToken cancellationToken)
    {
        progress("auditing every region");
        try
        {
            var targets = AuditTargets.FromLocalMesh(mesh.Paths.Root, topologyFile: null);
            var report = await Auditor.RunAsync(targets.Regions, targets.Topology, [Topic], progress, cancellationToken);
            var lines = AuditOutput.Lines(report).ToList();
            progress($"audit: {lines[^1]}");
            // The verdict and the first problems: the full report is one 'mesh audit --dir' away when the mesh is kept.
            if (lines.Count > 11) lines = [.. lines.Take(10), $"({lines.Count - 11} more lines: mesh audit --dir {mesh.Paths.Root})", lines[^1]];
            return (report.Agree, lines);
        }
        catch (MeshCommandException e)
        {
            progress($"audit failed: {e.Message}");
            return (false, [$"audit failed: {e.Message}"]);
        }
    }

    private List<string> Values(string region)
    {
        try
        {
            return [.. TestTraffic.ReadAll(mesh.Bootstrap(region), Topic, ReadTimeout).Select(r => r.Value ?? "")];
        }
        catch (TimeoutException e)
        {
            throw new MeshCommandException($"The drill could not read {region}'s copy of '{Topic}' to measure it: {e.Message}. See the logs under {mesh.Paths.Root} (run with --dir to keep them).");
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
