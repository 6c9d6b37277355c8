using System.Diagnostics;
using Confluent.Kafka;
using HdrHistogram;
using Mesh.Client.Admin;
using Mesh.Client.Local;
using Mesh.Kafka.Replication;

namespace Mesh.Client.Bench;

/// <summary>
/// <c>mesh bench</c>: replication measured against a bare Confluent.Kafka pipe, in one run over the same clusters and
/// data. Two regions of its own, <c>r1</c> (source) and <c>r2</c> (destination), one embedded Kafka broker each, an
/// active-passive topology that replicates the <c>bench*</c> topics from r1 into r2; the pipe's topics are not
/// replicated. Measures, in order: the pipe draining a backlog; the mesh draining the same backlog (r2's silos started
/// into it); both at a steady rate (half the mesh's catch-up rate) for latency; the mesh's catch-up by its running silo
/// (the link paused while the backlog is produced, then resumed); the mesh's catch-up again with a round-trip time on
/// r1's brokers; then, on a mesh of its own, one silo holding many partitions. Each measure reads
/// its destination and checks that every record arrived once.
/// </summary>
public sealed class ReplicationBenchRunner(string root, ReplicationBenchOptions options, Action<string> progress)
{
    public const string Source = "r1";
    public const string Destination = "r2";

    public const string CatchUpTopic = "bench";
    public const string SteadyTopic = "bench-steady";
    public const string WanTopic = "bench-wan";
    public const string WarmTopic = "bench-warm";
    public const string PipeTopic = "pipe";
    public const string PipeSteadyTopic = "pipe-steady";
    public const string ScaleTopic = "bench-scale";
    public const string ScaleReadyTopic = "bench-scale-ready";

    /// <summary>The pipe's copy of <paramref name="topic"/> in the destination (not replicated either).</summary>
    public static string CopyOf(string topic) => $"{topic}-copy";

    /// <summary>The steady measures send at half the mesh's catch-up rate, at most this.</summary>
    public const double MaxSteadyRecordsPerSecond = 20_000;
    public static readonly TimeSpan SteadyDuration = TimeSpan.FromSeconds(10);

    /// <summary>The load of the scale measure: this many records per partition, at most <see cref="MaxScaleLoadRecords"/> in all.</summary>
    public const int ScaleLoadPerPartition = 10;
    public const int MaxScaleLoadRecords = 200_000;

    private readonly Stopwatch _run = new();
    private long _checked;

    /// <summary>The folders below the bench's own where it keeps the two-region mesh and the scale measure's.</summary>
    public const string MeshFolder = "replication";
    public const string ScaleMeshFolder = "scale";

    public LocalMesh Mesh { get; } = new(Path.Combine(root, MeshFolder), progress);
    public LocalMesh ScaleMesh { get; } = new(Path.Combine(root, ScaleMeshFolder), progress);

    // Generous for a shared two-core machine: a minute plus a millisecond per record.
    private TimeSpan Deadline(long records) => TimeSpan.FromSeconds(60 + records / 1000.0);

    public async Task<ReplicationBenchReport> RunAsync(CancellationToken cancellationToken)
    {
        _run.Start();
        Rate baseline, mesh, warm;
        Rate? wan = null;
        Latency meshSteady, pipeSteady;
        double steadyRate;
        int steadyRecords;
        try
        {
            await StartAsync(Mesh, [CatchUpTopic, SteadyTopic, WanTopic, WarmTopic, PipeTopic, CopyOf(PipeTopic), PipeSteadyTopic, CopyOf(PipeSteadyTopic)],
                options.Partitions, brokers: 1, cancellationToken);
            using var watermarks = BareRead.Watermarks(Mesh.Bootstrap(Destination));
            baseline = await PipeCatchUpAsync(watermarks, cancellationToken);
            mesh = await MeshCatchUpAsync(CatchUpTopic, "mesh catch-up", watermarks, rttMs: 0, cancellationToken);
            (steadyRate, steadyRecords) = Steady(mesh.RecordsPerSecond, options.Records);
            meshSteady = await SteadyAsync("steady, mesh", SteadyTopic, SteadyTopic, steadyRate, steadyRecords, watermarks, pipe: false, cancellationToken);
            pipeSteady = await SteadyAsync("steady, bare pipe", PipeSteadyTopic, CopyOf(PipeSteadyTopic), steadyRate, steadyRecords, watermarks, pipe: true,
                cancellationToken);
            warm = await MeshWarmCatchUpAsync(WarmTopic, "mesh catch-up, silo running", watermarks, cancellationToken);
            if (options.RttMs > 0) wan = await MeshCatchUpAsync(WanTopic, $"WAN catch-up ({options.RttMs} ms)", watermarks, options.RttMs, cancellationToken);
        }
        finally
        {
            progress("stopping the bench's regions");
            await Mesh.DownAsync();
        }
        var scale = options.ScalePartitions > 0 ? await ScaleAsync(cancellationToken) : null;

        var catchUpRatio = ReplicationBenchReport.Ratio(mesh.RecordsPerSecond, baseline.RecordsPerSecond);
        var warmRatio = ReplicationBenchReport.Ratio(warm.RecordsPerSecond, baseline.RecordsPerSecond);
        var p99Ratio = ReplicationBenchReport.Ratio(meshSteady.P99Ms, pipeSteady.P99Ms);
        var rttRatio = wan is { } w ? ReplicationBenchReport.Ratio(w.RecordsPerSecond, mesh.RecordsPerSecond) : (double?)null;
        return new ReplicationBenchReport
        {
            Records = options.Records,
            Partitions = options.Partitions,
            RecordBytes = options.RecordBytes,
            BaselineRecordsPerSecond = baseline.RecordsPerSecond,
            BaselineMegabytesPerSecond = baseline.MegabytesPerSecond,
            MeshRecordsPerSecond = mesh.RecordsPerSecond,
            MeshMegabytesPerSecond = mesh.MegabytesPerSecond,
            MeshCatchUpSecondsFromStart = mesh.SecondsFromStart,
            CatchUpRatio = catchUpRatio,
            MeshWarmRecordsPerSecond = warm.RecordsPerSecond,
            WarmCatchUpRatio = warmRatio,
            SteadyRecordsPerSecond = steadyRate,
            SteadyRecords = steadyRecords,
            MeshP50Ms = meshSteady.P50Ms,
            MeshP99Ms = meshSteady.P99Ms,
            MeshP999Ms = meshSteady.P999Ms,
            MeshMaxMs = meshSteady.MaxMs,
            BaselineP50Ms = pipeSteady.P50Ms,
            BaselineP99Ms = pipeSteady.P99Ms,
            BaselineP999Ms = pipeSteady.P999Ms,
            BaselineMaxMs = pipeSteady.MaxMs,
            P99Ratio = p99Ratio,
            RttMs = options.RttMs,
            MeshRttRecordsPerSecond = wan?.RecordsPerSecond,
            RttRatio = rttRatio,
            ScalePartitions = options.ScalePartitions,
            ColdAfterSeconds = options.ColdAfterSeconds,
            ScaleBrokers = options.ScalePartitions > 0 ? options.ScaleBrokers : null,
            StartSeconds = scale?.StartSeconds,
            IdleCpuPercent = scale?.IdleCpuPercent,
            IdleRssMib = scale?.IdleRssMib,
            LoadRssMib = scale?.LoadRssMib,
            LoadCpuPercent = scale?.LoadCpuPercent,
            LoadRecords = scale?.LoadRecords,
            ScalePartitionsReplicated = scale?.Replicated,
            LoadRecordsArrived = scale?.LoadArrived,
            RecordsChecked = Interlocked.Read(ref _checked),
            Targets = ReplicationBenchReport.TargetsOf(catchUpRatio, warmRatio, p99Ratio, rttRatio, scale?.IdleCpuPercent, scale?.LoadRssMib, scale?.StartSeconds,
                scale is { StartSeconds: null } ? Round(ScaleDeadline(options.ScalePartitions).TotalSeconds) : null),
            DurationSeconds = Round(_run.Elapsed.TotalSeconds),
        };
    }

    /// <summary>The steady measures' rate (half the mesh's catch-up rate, capped) and how many records they send: about <see cref="SteadyDuration"/>'s worth, at most a backlog's.</summary>
    public static (double PerSecond, int Records) Steady(double meshRecordsPerSecond, int records)
    {
        var rate = Math.Round(Math.Clamp(meshRecordsPerSecond / 2, 100, MaxSteadyRecordsPerSecond));
        return (rate, (int)Math.Clamp(rate * SteadyDuration.TotalSeconds, 100, records));
    }

    /// <summary>The scale measure's load: <see cref="ScaleLoadPerPartition"/> records per partition, at most <see cref="MaxScaleLoadRecords"/>.</summary>
    public static int ScaleLoad(int partitions) => Math.Min(partitions * ScaleLoadPerPartition, MaxScaleLoadRecords);

    private sealed record Rate(double RecordsPerSecond, double MegabytesPerSecond, double SecondsFromStart);

    private sealed record Latency(double P50Ms, double P99Ms, double P999Ms, double MaxMs);

    private sealed record Scale(double? StartSeconds, long Replicated, double IdleCpuPercent, double IdleRssMib, double? LoadCpuPercent, double? LoadRssMib,
        int? LoadRecords, long? LoadArrived);

    /// <summary>How long the scale measure waits after the start before it samples the silo idle: 2 s plus 2 ms a partition, at most 20 s.</summary>
    /// <summary>How long the scale measure waits at most, after <see cref="IdleSettle"/>, for the silo's CPU to settle.</summary>
    public static readonly TimeSpan IdleSettleMax = TimeSpan.FromSeconds(150);

    public static TimeSpan IdleSettle(int partitions) => TimeSpan.FromSeconds(Math.Min(20, 2 + partitions * 0.002));

    /// <summary>How long the scale measure waits for every partition: a minute plus 30 ms a partition (a silo starts its replicators one after another).</summary>
    public static TimeSpan ScaleDeadline(int partitions) => TimeSpan.FromSeconds(60 + partitions * 0.03);

    /// <summary>
    /// Starts two regions on an active-passive topology (r1 primary) that replicates only the bench's own topics
    /// (<c>bench*</c>): r1's silos run no link, r2's pull from r1, and the pipe's topics stay the pipe's.
    /// </summary>
    private async Task StartAsync(LocalMesh mesh, IReadOnlyList<string> topics, int partitions, int brokers, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        Directory.CreateDirectory(mesh.Paths.Root);
        var file = Path.Combine(mesh.Paths.Root, "bench-topology.yaml");
        LocalTopologyFile.Write(file, string.Join('\n',
            "# Written by 'mesh bench': r1 -> r2, the bench's own topics only.",
            "name: bench", "version: 1", "naming: identity", "pattern: active-passive", $"primary: {Source}",
            "regions:", $"  {Source}: {{}}", $"  {Destination}: {{}}",
            "topics:", "  include: [\"bench.*\"]", ""));
        // One broker per region unless the scale measure asks for more: the bench measures the mesh, not the embedded Kafka.
        await mesh.UpAsync(LocalTopologyPlan.FromFile(file), brokers: brokers, partitions, topics, LocalMesh.DefaultReadyTimeout, cancellationToken,
            plainText: options.PlainText);
        progress($"{Source} -> {Destination} up and replicating in {started.Elapsed.TotalSeconds:0.0} s; state and logs in {mesh.Paths.Root}");
    }

    private async Task<Rate> PipeCatchUpAsync(IConsumer<byte[], byte[]> watermarks, CancellationToken cancellationToken)
    {
        const string what = "baseline catch-up";
        await ProduceAsync(what, PipeTopic, cancellationToken);
        var clock = Stopwatch.StartNew();
        using var arrivals = new Arrivals(Mesh.Bootstrap(Destination), CopyOf(PipeTopic), options.Partitions, options.Records, clock);
        progress($"{what}: a bare consume -> produce pipe copies {Source}'s '{PipeTopic}' into {Destination}'s '{CopyOf(PipeTopic)}'");
        using var pipe = new BarePipe(Mesh.Bootstrap(Source), PipeTopic, options.Partitions, Mesh.Bootstrap(Destination), CopyOf(PipeTopic));
        var result = await arrivals.WaitAsync(Deadline(options.Records), progress, cancellationToken);
        pipe.Stop();
        return Checked(what, result, clock, watermarks, CopyOf(PipeTopic), options.Partitions);
    }

    /// <summary>
    /// Produces a backlog into the source while the destination's silos are down, then (with <paramref name="rttMs"/> on
    /// the source's brokers) starts them and reads the destination until every record arrived.
    /// </summary>
    private async Task<Rate> MeshCatchUpAsync(string topic, string what, IConsumer<byte[], byte[]> watermarks, int rttMs, CancellationToken cancellationToken)
    {
        // Stopped the orderly way: their partitions are given up, so the restarted silos take them at once.
        await Mesh.StopSilosAsync(Destination);
        progress($"{what}: {Destination}'s silos stopped");
        await ProduceAsync(what, topic, cancellationToken);
        if (rttMs > 0)
        {
            await Mesh.SetBrokerRttAsync(Source, rttMs, cancellationToken);
            progress($"{what}: {Source}'s brokers answer {rttMs} ms later");
        }
        try
        {
            var clock = Stopwatch.StartNew();
            using var arrivals = new Arrivals(Mesh.Bootstrap(Destination), topic, options.Partitions, options.Records, clock);
            progress($"{what}: starting {Destination}'s silos into the backlog");
            await Mesh.StartAsync(Destination, cancellationToken);
            progress($"{what}: {Destination}'s silos answer after {clock.Elapsed.TotalSeconds:0.0} s");
            var result = await arrivals.WaitAsync(Deadline(options.Records), progress, cancellationToken);
            return Checked(what, result, clock, watermarks, topic, options.Partitions);
        }
        finally
        {
            if (rttMs > 0) await Mesh.SetBrokerRttAsync(Source, 0, CancellationToken.None);
        }
    }

    /// <summary>
    /// The same drain by a silo that is already running (its code compiled, its connections open): the link's topic is
    /// paused with <c>mesh link pause</c>'s call, the backlog produced, and the clock started when it is resumed. What an
    /// operator's paused link, or a link behind a WAN outage, drains; the cold measure adds the silo's start and its JIT.
    /// </summary>
    private async Task<Rate> MeshWarmCatchUpAsync(string topic, string what, IConsumer<byte[], byte[]> watermarks, CancellationToken cancellationToken)
    {
        await using var connection = await new LocalGateways(Mesh).ConnectAsync(Destination, MeshConnections.ConnectTimeout, cancellationToken);
        await SetPausedAsync(connection, topic, paused: true, cancellationToken);
        progress($"{what}: {Source} -> {Destination} paused for '{topic}'");
        await ProduceAsync(what, topic, cancellationToken);
        var clock = Stopwatch.StartNew();
        using var arrivals = new Arrivals(Mesh.Bootstrap(Destination), topic, options.Partitions, options.Records, clock);
        await SetPausedAsync(connection, topic, paused: false, cancellationToken);
        progress($"{what}: resumed after {clock.Elapsed.TotalSeconds:0.0} s");
        var result = await arrivals.WaitAsync(Deadline(options.Records), progress, cancellationToken);
        return Checked(what, result, clock, watermarks, topic, options.Partitions);
    }

    private static async Task SetPausedAsync(RegionConnection connection, string topic, bool paused, CancellationToken cancellationToken)
    {
        var result = await connection.SetPausedAsync(Source, topic, paused, TopologyRollout.ApplyTimeout, cancellationToken);
        if (result.Error is { } error) throw new MeshCommandException($"{(paused ? "pausing" : "resuming")} {Source} -> {Destination} for '{topic}': {error}", 1);
    }

    private async Task ProduceAsync(string what, string topic, CancellationToken cancellationToken)
    {
        progress($"{what}: producing {options.Records} records of {options.RecordBytes} bytes into {Source}'s '{topic}' ({options.Partitions} partitions)");
        var took = await Task.Run(() => BenchRecords.Produce(Mesh.Bootstrap(Source), topic, options.Partitions, options.Records, options.RecordBytes, cancellationToken),
            cancellationToken);
        progress($"{what}: produced in {took.TotalSeconds:0.0} s");
    }

    /// <summary>
    /// Sends <paramref name="records"/> at <paramref name="perSecond"/> into the source's <paramref name="topic"/> and reads
    /// <paramref name="destinationTopic"/> in the destination (through the mesh, or with <paramref name="pipe"/> a bare pipe).
    /// </summary>
    private async Task<Latency> SteadyAsync(string what, string topic, string destinationTopic, double perSecond, int records,
        IConsumer<byte[], byte[]> watermarks, bool pipe, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        // The first tenth warms connections and metadata up: checked, not timed.
        using var arrivals = new Arrivals(Mesh.Bootstrap(Destination), destinationTopic, options.Partitions, records, clock, warmUp: records / 10);
        using var bare = pipe ? new BarePipe(Mesh.Bootstrap(Source), topic, options.Partitions, Mesh.Bootstrap(Destination), destinationTopic) : null;
        // The readers' (and the pipe's) first fetches set their connections up; the latencies are of records, not of that.
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        progress($"{what}: sending {records} records at {perSecond:0}/s into {Source}'s '{topic}', reading {Destination}'s '{destinationTopic}'");
        var send = Task.Run(() => LatencyProbe.Send(Mesh.Bootstrap(Source), topic, options.Partitions, records, options.RecordBytes, perSecond, cancellationToken),
            cancellationToken);
        var result = await arrivals.WaitAsync(Deadline(records) + SteadyDuration, progress, cancellationToken);
        await send;
        bare?.Stop();
        Check(what, result, watermarks, destinationTopic, options.Partitions);
        var latency = LatencyOf(result.Latencies);
        progress($"{what}: p50 {latency.P50Ms} ms, p99 {latency.P99Ms} ms, p99.9 {latency.P999Ms} ms, max {latency.MaxMs} ms ({result.Latencies.TotalCount} records timed)");
        return latency;
    }

    private static Latency LatencyOf(HistogramBase microseconds) =>
        microseconds.TotalCount == 0
            ? new Latency(0, 0, 0, 0)
            : new Latency(Ms(microseconds.GetValueAtPercentile(50)), Ms(microseconds.GetValueAtPercentile(99)), Ms(microseconds.GetValueAtPercentile(99.9)),
                Ms(microseconds.GetMaxValue()));

    private static double Ms(long microseconds) => Math.Round(microseconds / 1000.0, 3);

    /// <summary>
    /// The arrivals of a measure checked against the destination's end offsets (every record once: the reader saw each expected
    /// sequence number once, and the topic holds no more records than that), and counted.
    /// </summary>
    private void Check(string what, ArrivalResult result, IConsumer<byte[], byte[]> watermarks, string topic, int partitions)
    {
        var held = BareRead.Count(watermarks, topic, partitions);
        if (held != result.Expected)
            throw new MeshCommandException($"{what}: {Destination}'s '{topic}' holds {held} records, not the {result.Expected} sent: " +
                                           $"{(held > result.Expected ? "some arrived more than once" : "some are missing")}.");
        Interlocked.Add(ref _checked, result.Distinct);
        progress($"{what}: {result.Distinct} records arrived in {Destination}'s '{topic}', each once");
    }

    /// <summary>A backlog's rate from the first record's arrival to the last's, once checked.</summary>
    private Rate Checked(string what, ArrivalResult result, Stopwatch clock, IConsumer<byte[], byte[]> watermarks, string topic, int partitions)
    {
        // The last arrival on the measure's clock: from its start (the pipe's, or starting the silo) to the backlog all in.
        var fromStart = result.Last ?? clock.Elapsed;
        Check(what, result, watermarks, topic, partitions);
        var span = result.Span;
        var rate = new Rate(PerSecond(result.Distinct, span), PerSecond(result.Distinct * (double)options.RecordBytes / 1e6, span), Round(fromStart.TotalSeconds));
        progress($"{what}: first to last arrival {span.TotalSeconds:0.00} s ({fromStart.TotalSeconds:0.0} s from the start): " +
                 $"{rate.RecordsPerSecond:0} records/s, {rate.MegabytesPerSecond:0.0##} MB/s");
        return rate;
    }

    /// <summary>
    /// One silo holding <see cref="ReplicationBenchOptions.ScalePartitions"/> partitions, on a mesh of its own: a record waits in
    /// each source partition while the destination's silo is down; timed from starting it until every partition's record
    /// arrived; then its CPU and memory idle, and under a load across every partition.
    /// </summary>
    private async Task<Scale> ScaleAsync(CancellationToken cancellationToken)
    {
        var partitions = options.ScalePartitions;
        var what = $"scale ({partitions} partitions)";
        try
        {
            var coldAfter = TimeSpan.FromSeconds(options.ColdAfterSeconds);
            ScaleMesh.SiloEnvironment[Destination] = new(StringComparer.Ordinal) { ["MESH_Mesh__Replication__ColdAfterMs"] = $"{coldAfter.TotalMilliseconds:0}" };
            await StartAsync(ScaleMesh, [ScaleReadyTopic], 1, options.ScaleBrokers, cancellationToken);
            using var watermarks = BareRead.Watermarks(ScaleMesh.Bootstrap(Destination));
            await ScaleMesh.StopSilosAsync(Destination);
            var creating = Stopwatch.StartNew();
            foreach (var region in new[] { Source, Destination })
                await ScaleMesh.CreateTopicAsync(region, ScaleTopic, partitions, cancellationToken);
            progress($"{what}: '{ScaleTopic}' created in both regions in {creating.Elapsed.TotalSeconds:0.0} s; producing one record into each source partition");
            await Task.Run(() => BenchRecords.Produce(ScaleMesh.Bootstrap(Source), ScaleTopic, partitions, partitions, options.RecordBytes, cancellationToken), cancellationToken);

            var load = ScaleLoad(partitions);
            var clock = Stopwatch.StartNew();
            using var arrivals = new Arrivals(ScaleMesh.Bootstrap(Destination), ScaleTopic, partitions, partitions + load, clock);
            progress($"{what}: starting {Destination}'s silo");
            await ScaleMesh.StartAsync(Destination, cancellationToken);
            double? startSeconds = null;
            try
            {
                var started = await arrivals.WaitAsync(ScaleDeadline(partitions), progress, cancellationToken, until: partitions);
                startSeconds = Round(started.Last!.Value.TotalSeconds);
                progress($"{what}: every partition replicated its record {startSeconds:0.0} s after the silo was started");
            }
            catch (MeshCommandException e) when (arrivals.Distinct < partitions)
            {
                // A silo that is still starting its partitions is a figure too: the idle cost is still measured, the load is not.
                progress($"{what}: {e.Message} The start is reported as not reached, the load is not sent.");
            }
            var replicated = Math.Min(arrivals.Distinct, partitions);

            var pid = ScaleMesh.SiloPid(Destination) ?? throw new MeshCommandException($"{what}: {Destination}'s silo is not running; see {ScaleMesh.Paths.SiloLog(Destination, 1)}.");
            var sampler = new SiloProcessSampler(pid);
            // Idle means settled: what the start left behind (every partition's first checkpoint and claim, JIT, the reader
            // taking up thousands of partitions) is still being worked off for seconds after the last first record arrived.
            // The reader's cool-after on top: partitions idle that long move to its cold lane only then.
            var settle = IdleSettle(partitions) + coldAfter;
            progress($"{what}: letting the silo settle for {settle.TotalSeconds:0} s, then sampling it idle (pid {pid}) for {options.SampleSeconds} s");
            await Task.Delay(settle, cancellationToken);
            // Then until its CPU stops falling: a reader moves partitions idle for half a minute to its cold lane (a
            // long fetch wait), which at 10,000 partitions keeps librdkafka busy for a while; idle is what comes after.
            // Windows as long as the sample, at most 5 s: a short sample asked for a quick look.
            var settled = await sampler.SettleAsync(TimeSpan.FromSeconds(Math.Min(5, options.SampleSeconds)), IdleSettleMax, cancellationToken);
            progress($"{what}: CPU settled after another {settled.TotalSeconds:0} s");
            var (idleCpu, idleRss) = await sampler.MeasureAsync(TimeSpan.FromSeconds(options.SampleSeconds), cancellationToken);
            progress($"{what}: idle: {idleCpu:0.0}% of one core, {idleRss:0} MiB resident");
            if (startSeconds is null) return new Scale(null, replicated, idleCpu, idleRss, null, null, null, null);

            var rate = load / (double)options.SampleSeconds;
            progress($"{what}: sending {load} records at {rate:0}/s across every partition while sampling the silo");
            var loading = Task.Run(async () =>
            {
                LatencyProbe.Send(ScaleMesh.Bootstrap(Source), ScaleTopic, partitions, load, options.RecordBytes, rate, cancellationToken, firstSequence: partitions);
                try
                {
                    return await arrivals.WaitAsync(Deadline(load), progress, cancellationToken);
                }
                catch (MeshCommandException e) when (arrivals.Result() is { Duplicates: 0, Foreign: 0 })
                {
                    // Slow is a figure of the scale measure (the silo under load is what it reports on); twice or foreign never passes.
                    progress($"{what}: {e.Message} The load's memory and CPU are reported; its records are not counted as checked.");
                    return null;
                }
            }, cancellationToken);
            var (loadCpu, loadRss) = await sampler.WhileAsync(loading, TimeSpan.FromMilliseconds(250), cancellationToken);
            var loaded = await loading;
            var arrived = Math.Max(0, arrivals.Distinct - partitions);
            if (loaded is not null) Check(what, loaded, watermarks, ScaleTopic, partitions);
            progress($"{what}: under load: {loadCpu:0.0}% of one core, at most {loadRss:0} MiB resident");
            return new Scale(startSeconds, replicated, idleCpu, idleRss, loadCpu, loadRss, load, arrived);
        }
        finally
        {
            progress("stopping the scale measure's regions");
            await ScaleMesh.DownAsync();
        }
    }

    private static double PerSecond(double amount, TimeSpan span) => BenchRounding.PerSecond(amount, span);

    private static double Round(double value, int digits = 3) => Math.Round(value, digits);
}
