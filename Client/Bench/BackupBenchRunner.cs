using System.Diagnostics;
using Confluent.Kafka;
using Mesh.Backup;
using Mesh.Client.Admin;
using Mesh.Client.Backup;
using Mesh.Client.Local;
using Mesh.Core.Backup;
using Mesh.Core.Topology;
using Mesh.Grains;

namespace Mesh.Client.Bench;

/// <summary>
/// <c>mesh bench backup</c>: on a two-region full mesh of its own, in one run over the same clusters and data,
/// measures replication without a backup, a bare consumer, the backup of the same topic, replication while the
/// backup runs and, if asked, a restore. Each replication measure produces into the source region while the
/// destination's silos are down, then times the destination from starting them until it holds every record.
/// </summary>
public sealed class BackupBenchRunner(LocalMesh mesh, BackupBenchOptions options, Action<string> progress)
{
    public const string Source = "r1";
    public const string Destination = "r2";
    /// <summary>The topic replicated without a backup, read bare, backed up and restored.</summary>
    public const string Topic = "bench";
    /// <summary>The topic replicated while the backup runs: a second topic, so that each partition holds only one run's records.</summary>
    public const string LiveTopic = "bench-live";
    public const string RestoredTopic = "bench-restored";

    /// <summary>Pair k's (k from 2) topic replicated without a backup.</summary>
    public static string BaseTopic(int pair) => $"bench-base-{pair}";

    /// <summary>Pair k's topic replicated while the backup runs (pair 1's is <see cref="LiveTopic"/>).</summary>
    public static string LiveTopicOf(int pair) => pair == 1 ? LiveTopic : $"bench-live-{pair}";

    /// <summary>Every topic the bench measures with, in the order it fills them.</summary>
    private IEnumerable<string> Topics =>
        new[] { Topic, LiveTopic }.Concat(Enumerable.Range(2, options.Pairs - 1).SelectMany(k => new[] { BaseTopic(k), LiveTopicOf(k) }));
    public const int SegmentSeconds = 2;
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(5);
    // The topology version the bench applied last.
    private long _version;

    public string StoreDirectory => Path.Combine(mesh.Paths.Root, "backup-store");

    // Generous for a shared two-core machine: a minute plus a millisecond per record.
    private TimeSpan Deadline => TimeSpan.FromSeconds(60 + options.Records / 1000.0);

    public async Task<BackupBenchReport> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var plan = await StartMeshAsync(cancellationToken);

        using var watermarks = BareRead.Watermarks(mesh.Bootstrap(Destination));
        var replication = await ReplicateAsync(Topic, watermarks, "replication without a backup", cancellationToken);

        progress($"bare read: a plain consumer reads {Source}'s '{Topic}' from the beginning to the end");
        var bare = await Task.Run(() => BareRead.Run(mesh.Bootstrap(Source), Topic, options.Partitions, Deadline, cancellationToken), cancellationToken);
        if (bare.Records != options.Records)
            throw new MeshCommandException($"The bare read found {bare.Records} records in {Source}'s '{Topic}', not the {options.Records} produced: the embedded Kafka dropped some. " +
                                           $"See the logs under {mesh.Paths.Root} (run with --dir to keep them).");
        var bareFigures = new BareReadFigures(bare.Records, bare.RawBytes, Round(bare.Elapsed.TotalSeconds), Rate(bare.Records, bare.Elapsed),
            Rate(bare.RawBytes / 1e6, bare.Elapsed));
        progress($"bare read: {bare.Records} records in {bare.Elapsed.TotalSeconds:0.0} s ({bareFigures.RecordsPerSecond:0} records/s, {bareFigures.MegabytesPerSecond:0.0##} MB/s)");

        var store = BackupStores.Open(StoreDirectory);
        var backup = await BackUpAsync(plan, store, bareFigures, cancellationToken);

        // Pair 1: measure 1 against replication while the backup runs; further pairs switch the backup off and on again.
        var pairs = new List<ReplicationPair> { Pair(replication, await ReplicateWhileBackingUpAsync(LiveTopic, watermarks, store, "replication while the backup runs", cancellationToken)) };
        for (var k = 2; k <= options.Pairs; k++)
        {
            var what = $"pair {k} of {options.Pairs}";
            await ApplyVersionAsync(plan, withBackup: false, allowUnreachable: false, $"{what}: the backup switched off", cancellationToken);
            var without = await ReplicateAsync(BaseTopic(k), watermarks, $"{what}: replication without a backup", cancellationToken);
            await ApplyVersionAsync(plan, withBackup: true, allowUnreachable: false, $"{what}: the backup switched on again", cancellationToken);
            // It takes up what came while it was off; the measure is of a backup that keeps up, as in pair 1.
            foreach (var region in new[] { Source, Destination })
                await ArchiversCaughtUpAsync(region, Topics.Take(2 * k - 1).ToArray(), what, cancellationToken);
            pairs.Add(Pair(without, await ReplicateWhileBackingUpAsync(LiveTopicOf(k), watermarks, store, $"{what}: replication while the backup runs", cancellationToken)));
        }
        var live = LiveFigures.Of(pairs);
        if (pairs.Count > 1)
            progress($"replication slowed by {string.Join(", ", pairs.Select(p => p.Slowdown.ToString("P1", System.Globalization.CultureInfo.InvariantCulture)))} " +
                     $"in the {pairs.Count} pairs: median {live.Slowdown:P1}");

        var restore = options.Restore ? await RestoreAsync(cancellationToken) : null;
        return new BackupBenchReport(
            new BenchParameters(options.Records, options.Partitions, options.RecordBytes, [Source, Destination], options.Restore, SegmentSeconds, options.Pairs),
            replication, bareFigures, backup, live, restore, BackupBenchReport.TargetsOf(backup, live), Round(clock.Elapsed.TotalSeconds));
    }

    private async Task<LocalTopologyPlan> StartMeshAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        var plan = LocalTopologyPlan.FullMesh([Source, Destination]);
        // One broker per region: the bench measures the mesh, not the embedded Kafka's own replication.
        await mesh.UpAsync(plan, brokers: 1, options.Partitions, [.. Topics], LocalMesh.DefaultReadyTimeout, cancellationToken);
        _version = plan.Version;
        progress($"{Source} and {Destination} up and replicating (full mesh, no backup) in {started.Elapsed.TotalSeconds:0.0} s; state and logs in {mesh.Paths.Root}");
        return plan;
    }

    /// <summary>
    /// Produces the records into the source while the destination's silos are down, then starts them and times
    /// the destination until it holds every record; <paramref name="produced"/> runs once the last record was acknowledged,
    /// and the destination starts when it has finished.
    /// </summary>
    private async Task<ReplicationFigures> ReplicateAsync(string topic, IConsumer<byte[], byte[]> watermarks, string what, CancellationToken cancellationToken,
        Func<Task>? produced = null)
    {
        // Stopped the orderly way: their partitions are given up, so the restarted silos take them at once (a silo
        // killed outright holds its claims until they expire, a fixed wait of about 19 s that would dwarf the streaming).
        await mesh.StopSilosAsync(Destination);
        progress($"{what}: {Destination}'s silos stopped; producing {options.Records} records of {options.RecordBytes} bytes " +
                 $"into {Source}'s '{topic}' ({options.Partitions} partitions)");
        var produce = await Task.Run(() => BenchRecords.Produce(mesh.Bootstrap(Source), topic, options.Partitions, options.Records, options.RecordBytes, cancellationToken),
            cancellationToken);
        progress($"{what}: produced in {produce.TotalSeconds:0.0} s ({options.Records / produce.TotalSeconds:0} records/s)");
        if (produced is not null) await produced();
        progress($"{what}: starting {Destination}'s silos");

        var clock = Stopwatch.StartNew();
        await mesh.StartAsync(Destination, cancellationToken);
        var siloStart = clock.Elapsed;
        progress($"{what}: {Destination}'s silos answer after {siloStart.TotalSeconds:0.0} s; waiting for {Destination} to hold {options.Records} records of '{topic}'");
        // The stream starts after the last look that found nothing (a small run can arrive whole between two looks).
        TimeSpan? first = null;
        var none = TimeSpan.Zero;
        await WaitAsync(() =>
        {
            var lookedAt = clock.Elapsed;
            var held = BareRead.Count(watermarks, topic, options.Partitions);
            if (held > 0) first ??= clock.Elapsed;
            else none = lookedAt;
            return Task.FromResult(held);
        }, options.Records, $"{Destination} to hold the {options.Records} records of '{topic}'", clock, cancellationToken);
        var elapsed = clock.Elapsed;
        var streaming = elapsed - none;
        progress($"{what}: {Destination} holds them {elapsed.TotalSeconds:0.0} s after its silos were started ({options.Records / elapsed.TotalSeconds:0} records/s); " +
                 $"the first arrived after {first!.Value.TotalSeconds:0.0} s, the rest at {options.Records / Math.Max(streaming.TotalSeconds, 1e-3):0} records/s");
        return new ReplicationFigures(options.Records, Round(elapsed.TotalSeconds), Rate(options.Records, elapsed), Round(siloStart.TotalSeconds),
            Round(first.Value.TotalSeconds), Rate(options.Records, streaming), Round(produce.TotalSeconds));
    }

    private async Task<BackupFigures> BackUpAsync(LocalTopologyPlan plan, IBackupStore store, BareReadFigures bare, CancellationToken cancellationToken)
    {
        // The destination's archivers would only watch r1's streams here (standbys that take over if r1's backup stops), and on
        // these two cores their reading would compete with the source's archiving as it never does across regions' own
        // machines: the destination's silos are down while the backup is timed. Measure 4 runs both regions' archivers.
        await mesh.StopSilosAsync(Destination);
        progress($"backup: {Destination}'s silos stopped while {Source}'s backup is timed (a standby's reading is timed in the next measure)");
        // The source's own replicators read back what measure 1 wrote into the destination (the link back, whose records
        // they drop as their own): the backup gives way to that work, so it is timed once the links are idle.
        await LinksIdleAsync(Source, "backup", cancellationToken);
        // Timed from the apply's start: the archivers start as soon as the region has the version, before the apply returns.
        var clock = Stopwatch.StartNew();
        await ApplyVersionAsync(plan, withBackup: true, allowUnreachable: true, $"backup: applying to {Source}", cancellationToken);
        var applied = clock.Elapsed;
        progress($"backup: applied to {Source} in {applied.TotalSeconds:0.0} s; waiting for the store to hold the {options.Records} records of {Source}'s '{Topic}'");
        var tally = new StoreTally(store, Topic);
        var covered = await WaitAsync(() => tally.ReadAsync(cancellationToken), options.Records,
            $"the backup in {StoreDirectory} to hold the {options.Records} records of '{Topic}'", clock, cancellationToken, c => c.Records);
        var elapsed = clock.Elapsed;
        var recordsPerSecond = Rate(covered.Records, elapsed);
        // The same records the bare read counted: the same bytes, so the two MB/s compare.
        var figures = new BackupFigures(covered.Records, covered.Segments, bare.Bytes, covered.RawBytes, covered.StoredBytes, Round(applied.TotalSeconds),
            Round(elapsed.TotalSeconds), recordsPerSecond, Rate(bare.Bytes / 1e6, elapsed), Round((double)covered.RawBytes / Math.Max(1, covered.StoredBytes), 3),
            Round(recordsPerSecond / bare.RecordsPerSecond, 3));
        progress($"backup: {covered.Records} records in {covered.Segments} segments {elapsed.TotalSeconds:0.0} s from the apply's start ({figures.RecordsPerSecond:0} records/s, " +
                 $"{figures.MegabytesPerSecond:0.0##} MB/s, {figures.RatioToBareRead:0.00}x the bare read); compression {figures.CompressionRatio:0.00}x");

        // The destination back, on the same version (applied again: a region already on it answers unchanged), for measure 4.
        await mesh.StartAsync(Destination, cancellationToken);
        await ApplyVersionAsync(plan, withBackup: true, allowUnreachable: false, $"backup: {Destination} started again", cancellationToken, again: true);
        // Its standbys read '{Topic}' once now; measure 4 is about the records it replicates, not this backlog.
        await ArchiversCaughtUpAsync(Destination, [Topic], "backup", cancellationToken);
        return figures;
    }

    /// <summary>
    /// Applies the bench's full mesh as the next version (or, with <paramref name="again"/>, the current one once more), with or
    /// without the backup section, as <c>mesh topology apply</c> does; <paramref name="allowUnreachable"/> while the destination is down.
    /// </summary>
    private async Task ApplyVersionAsync(LocalTopologyPlan plan, bool withBackup, bool allowUnreachable, string what, CancellationToken cancellationToken, bool again = false)
    {
        if (!again) _version++;
        var shaped = withBackup ? plan.WithBackup(new BackupSettings(StoreDirectory) { SegmentSeconds = SegmentSeconds }) : plan;
        var document = shaped.Document with { Version = _version };
        var name = $"bench-topology-v{document.Version}.yaml";
        var yaml = LocalTopologyFile.ToYaml(document, name,
            [$"Written by 'mesh bench backup': the bench's full mesh {(withBackup ? "with" : "without")} a backup section."]);
        var topology = Topology.Load(yaml, name).Topology
            ?? throw new InvalidOperationException($"the bench's own topology {name} does not load:\n{yaml}");
        LocalTopologyFile.Write(Path.Combine(mesh.Paths.Root, name), yaml);
        progress(withBackup
            ? $"{what}: version {document.Version}, a backup section (store {StoreDirectory}, segment-seconds {SegmentSeconds})"
            : $"{what}: version {document.Version}, no backup section");
        await RolloutAsync(yaml, name, topology, allowUnreachable, cancellationToken);
    }

    private async Task<RolloutResult> RolloutAsync(string yaml, string name, Topology topology, bool allowUnreachable, CancellationToken cancellationToken)
    {
        var rollout = await new TopologyRollout(new LocalGateways(mesh), mesh, progress, _ => { })
            .RunAsync(new TopologyRollout.Input(yaml, name, topology), dryRun: false, allowUnreachable, cancellationToken);
        if (rollout.ExitCode != 0)
            throw new MeshCommandException($"Applying the bench's backup topology failed (exit {rollout.ExitCode}): {string.Join("; ", rollout.Errors)}");
        return rollout;
    }

    /// <summary>Replication of <paramref name="topic"/> while the backup runs, the backup's lag, and when the destination's standbys had read it all.</summary>
    private async Task<LiveRun> ReplicateWhileBackingUpAsync(string topic, IConsumer<byte[], byte[]> watermarks, IBackupStore store, string what,
        CancellationToken cancellationToken)
    {
        // The backup's catalog is watched from the first record on; its lag counts from the last record acknowledged.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Stopwatch? sinceProduced = null;
        TimeSpan? lag = null;
        long backedUp = 0;
        var tally = new StoreTally(store, topic);
        var watch = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                backedUp = (await tally.ReadAsync(stop.Token)).Records;
                if (backedUp >= options.Records && sinceProduced is { } produced)
                {
                    lag = produced.Elapsed;
                    return;
                }
                await Task.Delay(Poll, stop.Token);
            }
        }, stop.Token);
        // The source's archivers back the records up as they are written; replication is timed once the store holds
        // them all, so that both measures of a pair start from a source at rest and the slowdown is what the backup
        // costs replication itself (the destination's standbys, the source's idle archivers), not the tail of the
        // writes' backup. That tail is the backup's lag, reported beside it.
        async Task BackedUpAsync()
        {
            sinceProduced = Stopwatch.StartNew();
            try
            {
                await watch.WaitAsync(Deadline, cancellationToken);
            }
            catch (TimeoutException)
            {
                progress($"the backup held {backedUp} of the {options.Records} records of '{topic}' {Deadline.TotalSeconds:0} s after they were produced");
            }
            finally
            {
                await stop.CancelAsync();
            }
        }
        var replication = await ReplicateAsync(topic, watermarks, what, cancellationToken, produced: BackedUpAsync);
        if (lag is { } l) progress($"the backup held every record of '{topic}' {l.TotalSeconds:0.0} s after the last was acknowledged");
        var standby = await ArchiversCaughtUpAsync(Destination, [topic], what, cancellationToken);
        return new LiveRun(replication, backedUp, lag is { } seconds ? Round(seconds.TotalSeconds) : null, standby is { } s ? Round(s.TotalSeconds) : null);
    }

    /// <summary>Waits until every inbound link of <paramref name="region"/> has read its sources to the end (every topic's lag is 0).</summary>
    private async Task LinksIdleAsync(string region, string what, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        await using var connection = await mesh.ConnectAsync(region, TimeSpan.FromSeconds(30), cancellationToken);
        while (true)
        {
            var topics = (await connection.GetStatusAsync(TimeSpan.FromSeconds(15))).InboundLinks.SelectMany(l => l.Topics).ToList();
            if (topics.All(t => t.LagRecords == 0))
            {
                progress($"{what}: {region}'s links have read their sources to the end ({clock.Elapsed.TotalSeconds:0.0} s)");
                return;
            }
            if (clock.Elapsed > Deadline)
                throw new MeshCommandException($"Waited {Deadline.TotalSeconds:0} s for {region}'s links to read their sources to the end; " +
                                               $"{topics.Sum(t => t.LagRecords ?? 0)} records are left. See the logs under {mesh.Paths.Root} (run with --dir to keep them).");
            await Task.Delay(Poll, cancellationToken);
        }
    }

    /// <summary>
    /// Waits until every archiver of <paramref name="topics"/> in <paramref name="region"/> has read its partition to the end
    /// (their status's lag is 0): how long that took, or null when not within the deadline.
    /// </summary>
    private async Task<TimeSpan?> ArchiversCaughtUpAsync(string region, IReadOnlyCollection<string> topics, string what, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var kind = region == Destination ? "standby archivers" : "archivers";
        var named = string.Join(", ", topics.Select(t => $"'{t}'"));
        await using var connection = await mesh.ConnectAsync(region, TimeSpan.FromSeconds(30), cancellationToken);
        var backup = connection.Client.GetGrain<IBackupGrain>(region);
        var next = ProgressEvery;
        while (true)
        {
            var partitions = (await backup.GetStatusAsync()).Partitions.Where(p => topics.Contains(p.Topic)).ToList();
            var behind = partitions.Sum(p => p.LagRecords ?? 0);
            if (partitions.Count == topics.Count * options.Partitions && partitions.All(p => p.LagRecords == 0))
            {
                progress($"{what}: {region}'s {kind} have read every record of {named} ({clock.Elapsed.TotalSeconds:0.0} s)");
                return clock.Elapsed;
            }
            if (clock.Elapsed > Deadline)
            {
                progress($"{what}: {region}'s {kind} had not read every record of {named} after {Deadline.TotalSeconds:0} s");
                return null;
            }
            if (clock.Elapsed > next)
            {
                next += ProgressEvery;
                progress($"  {region}'s {kind}: {partitions.Count} of {topics.Count * options.Partitions} running, {behind} records known left to read");
            }
            await Task.Delay(Poll, cancellationToken);
        }
    }

    private async Task<RestoreFigures> RestoreAsync(CancellationToken cancellationToken)
    {
        var at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        progress($"restore: '{Topic}' as it is now into {Destination} as '{RestoredTopic}'");
        var request = new RestoreRequest(StoreDirectory, Topic, at, Destination, AllRegions: false, RestoredTopic, Groups: false, DryRun: false,
            AllowNonEmpty: false, SegmentKeyEnv: null);
        var clock = Stopwatch.StartNew();
        var report = await RestoreRunner.RunAsync(request, () => BackupRegions.Open(mesh.Paths.Root, null, null), TimeProvider.System, progress, cancellationToken);
        var elapsed = clock.Elapsed;
        if (report.Records != options.Records)
            throw new MeshCommandException($"The restore wrote {report.Records} records of '{Topic}', not the {options.Records} backed up.");
        progress($"restore: {report.Records} records from {report.SegmentsRead} segments in {elapsed.TotalSeconds:0.0} s ({report.Records / elapsed.TotalSeconds:0} records/s)");
        return new RestoreFigures(Destination, RestoredTopic, report.Records, report.SegmentsRead, Round(elapsed.TotalSeconds), Rate(report.Records, elapsed));
    }

    private sealed record Covered(long Records, int Segments, long RawBytes, long StoredBytes);

    private sealed record LiveRun(ReplicationFigures Replication, long BackedUp, double? BackupLagSeconds, double? StandbyCaughtUpSeconds);

    private static ReplicationPair Pair(ReplicationFigures without, LiveRun with) =>
        new(without, with.Replication, Slowdown(without.RecordsPerSecond, with.Replication.RecordsPerSecond),
            Slowdown(without.StreamingRecordsPerSecond, with.Replication.StreamingRecordsPerSecond), with.BackedUp, with.BackupLagSeconds, with.StandbyCaughtUpSeconds);

    /// <summary>
    /// What the store's manifests hold of the source region's streams of <paramref name="topic"/>, read as the bench watches
    /// it: each look lists the topic and reads only the entries it has not read before. (A full catalog load per look
    /// read every entry again, four times a second, on the cores the archivers it times were using.)
    /// </summary>
    private sealed class StoreTally(IBackupStore store, string topic)
    {
        private readonly Dictionary<string, ManifestEntry> _entries = new(StringComparer.Ordinal);

        public async Task<Covered> ReadAsync(CancellationToken cancellationToken)
        {
            foreach (var listed in await store.ListAsync($"{BackupLayout.TopicsPrefix}{topic}/", cancellationToken))
            {
                if (_entries.ContainsKey(listed.Name) || !BackupLayout.TryParseStreamObject(listed.Name, out var stream, out var relative)) continue;
                if (stream.OriginRegion != Source || BackupLayout.ParseManifestSequence(relative) is null) continue;
                if (await store.ReadAsync(listed.Name, cancellationToken) is { } bytes)
                    _entries[listed.Name] = BackupJson.Deserialize<ManifestEntry>(bytes, listed.Name, store.Description);
            }
            var entries = _entries.Values;
            return new Covered(entries.Sum(e => (long)e.Records), entries.Count, entries.Sum(e => e.RawBytes), entries.Sum(e => e.StoredBytes));
        }
    }

    private Task<long> WaitAsync(Func<Task<long>> count, long expected, string what, Stopwatch clock, CancellationToken cancellationToken) =>
        WaitAsync(count, expected, what, clock, cancellationToken, n => n);

    /// <summary>Polls until <paramref name="measure"/> of what <paramref name="read"/> returns reaches <paramref name="expected"/>; a line every few seconds meanwhile.</summary>
    private async Task<T> WaitAsync<T>(Func<Task<T>> read, long expected, string what, Stopwatch clock, CancellationToken cancellationToken, Func<T, long> measure)
    {
        var next = ProgressEvery;
        while (true)
        {
            var value = await read();
            var seen = measure(value);
            if (seen >= expected) return value;
            if (clock.Elapsed > Deadline)
                throw new MeshCommandException($"Waited {Deadline.TotalSeconds:0} s for {what}; there are {seen}. See the logs under {mesh.Paths.Root} (run with --dir to keep them).");
            if (clock.Elapsed > next)
            {
                next += ProgressEvery;
                progress($"  {seen} of {expected} after {clock.Elapsed.TotalSeconds:0} s");
            }
            await Task.Delay(Poll, cancellationToken);
        }
    }

    /// <summary>How much slower <paramref name="with"/> is than <paramref name="without"/>, as a fraction of it (negative: faster).</summary>
    private static double Slowdown(double without, double with) => Round((without - with) / without, 4);

    private static double Rate(double amount, TimeSpan elapsed) => BenchRounding.PerSecond(amount, elapsed);

    private static double Round(double value, int digits = 3) => Math.Round(value, digits);
}
