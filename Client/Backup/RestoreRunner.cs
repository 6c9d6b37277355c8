using System.Diagnostics;
using Confluent.Kafka;
using Mesh.Client.Local;
using Mesh.Core.Backup;
using Mesh.Core.Backup.Restore;
using Mesh.Core.Replication;
using Mesh.Kafka.Offsets;
using RecordHeader = Mesh.Core.Replication.RecordHeader;

namespace Mesh.Client.Backup;

/// <summary>What <c>mesh restore</c> was asked to do.</summary>
/// <param name="Region">The one target region; null with <paramref name="AllRegions"/>.</param>
/// <param name="SegmentKeyEnv">The environment variable holding the store's encryption key, when the store is encrypted.</param>
public sealed record RestoreRequest(
    string Store,
    string Topic,
    long AtMs,
    string? Region,
    bool AllRegions,
    string? TargetTopic,
    bool Groups,
    bool DryRun,
    bool AllowNonEmpty,
    string? SegmentKeyEnv)
{
    public string Target => TargetTopic ?? Topic;
}

/// <summary>One partition of a restore in one region: how many of its records were there already (an earlier run), how many were written now.</summary>
public sealed record RestoreRegionPartition(string Region, long AlreadyWritten, long Written, long? BaseOffset, IReadOnlyDictionary<string, long> CommittedOffsets);

public sealed record RestorePartition(int Partition, long Records, IReadOnlyList<GroupPosition> Groups, IReadOnlyList<RestoreRegionPartition> Regions);

public sealed record RestoreReport(
    string RestoreId,
    string Store,
    string Topic,
    string Target,
    long AtMs,
    RestoreMode Mode,
    IReadOnlyList<string> Regions,
    bool DryRun,
    int PartitionCount,
    IReadOnlyDictionary<string, string> Configs,
    RestoreWindow Window,
    int SegmentsRead,
    IReadOnlyList<RestorePartition> Partitions,
    IReadOnlyList<string> Notes)
{
    public long Records => Partitions.Sum(p => p.Records);
}

/// <summary>
/// <c>mesh restore</c>: reads the catalog, checks every segment the restore needs before writing anything,
/// plans each partition (<see cref="RestoreOrder"/>), creates the target topic with the backed-up partition
/// count and configs, refuses a target holding anything but an earlier run of the same restore, writes the
/// records with restore provenance through an idempotent producer, and commits the groups' positions.
/// </summary>
public static class RestoreRunner
{
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(2);

    /// <exception cref="MeshCommandException">2 bad input, 3 store or region unreachable, 4 target not empty, 5 corrupt segment, 1 failed partway.</exception>
    public static async Task<RestoreReport> RunAsync(RestoreRequest request, Func<BackupRegions> openRegions, TimeProvider time, Action<string> progress,
        CancellationToken cancellationToken)
    {
        if (!TopicNames.IsValid(request.Target, out var targetReason)) throw new MeshCommandException($"--as: {targetReason}.", 2);
        if (request.AllRegions && request.Region is not null) throw new MeshCommandException("--region and --all-regions exclude each other: restore into one region or into every one.", 2);
        if (!request.AllRegions && request.Region is null && !request.DryRun)
            throw new MeshCommandException("Name the region to restore into with --region R (the mesh replicates the restored topic to the others), or restore into every region with --all-regions.", 2);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (request.AtMs > now)
            throw new MeshCommandException($"--at {RestoreInput.Format(request.AtMs)} is in the future (now is {RestoreInput.Format(now)}): a restore writes the topic as it was at a past moment.", 2);

        var store = BackupCommandStore.Open(request.Store);
        var catalog = await BackupCommandStore.LoadAsync(store, request.Topic, cancellationToken);
        var topic = catalog.Topics.FirstOrDefault(t => t.Topic == request.Topic);
        if (topic is null || topic.Streams.All(s => s.Entries.Count == 0))
        {
            var all = await BackupCommandStore.LoadAsync(store, null, cancellationToken);
            var known = all.Topics.Where(t => t.Streams.Any(s => s.Entries.Count > 0)).Select(t => t.Topic).Order(StringComparer.Ordinal).ToList();
            throw new MeshCommandException($"The backup in {store.Description} holds no records of topic '{request.Topic}' " +
                $"({(known.Count == 0 ? "it holds no topic yet" : "it holds " + string.Join(", ", known))}).", 2);
        }
        var earliest = topic.Streams.SelectMany(s => s.Entries).Min(e => e.MinTimestampMs);
        if (request.AtMs < earliest)
            throw new MeshCommandException($"--at {RestoreInput.Format(request.AtMs)} is before the backup's earliest record of '{request.Topic}' ({RestoreInput.Format(earliest)}): " +
                "the backup cannot say what the topic held then. Give a later moment.", 2);

        var key = BackupCommandStore.SegmentKey(catalog, request.SegmentKeyEnv, "--backup-key-env");
        var config = RestoreSelection.ConfigAt(topic.Configs, request.AtMs);
        var window = RestoreSelection.WindowAt(topic.Configs, request.AtMs);
        var partitionCount = Math.Max(config?.Partitions ?? 0, topic.Streams.Max(s => s.Stream.Partition) + 1);
        var configs = config?.Configs ?? new Dictionary<string, string>();
        var notes = new List<string>();
        if (config is null) notes.Add($"the backup holds no configuration of '{request.Topic}': the target is created with {partitionCount} partitions and the cluster's defaults");
        if (window.AfterMs is { } after) notes.Add($"'{request.Topic}' deleted records by age at that moment: only records after {RestoreInput.Format(after)} are restored");

        // Every segment the restore needs, read and checked before anything is written.
        var needed = topic.Streams.SelectMany(s => s.Entries.Where(e => window.Overlaps(e.MinTimestampMs, e.MaxTimestampMs)).Select(e => (s.Stream, Entry: e))).ToList();
        var records = new Dictionary<BackupStream, List<BackupRecord>>();
        var corrupt = new List<string>();
        var clock = Stopwatch.StartNew();
        var read = 0;
        foreach (var (stream, entry) in needed)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var segment = await BackupCatalog.ReadSegmentAsync(store, stream, entry, key, cancellationToken);
                if (!records.TryGetValue(stream, out var list)) records[stream] = list = [];
                list.AddRange(window.Select(segment.Records));
            }
            catch (SegmentCorruptException e)
            {
                corrupt.Add($"{e.Name ?? BackupLayout.StreamFolder(stream) + entry.Segment}: {e.Message}");
            }
            catch (BackupStoreException e)
            {
                throw new MeshCommandException($"Reading the backup failed: {e.Message}. Nothing was written.", 3);
            }
            read++;
            if (clock.Elapsed > ProgressEvery)
            {
                progress($"checked {read} of {needed.Count} segments");
                clock.Restart();
            }
        }
        if (corrupt.Count > 0)
            throw new MeshCommandException($"{corrupt.Count} segment(s) the restore needs are corrupt; nothing was written:\n  " + string.Join("\n  ", corrupt) +
                "\nRun 'mesh backup verify' for the whole store.", 5);

        var restoreId = RestoreIds.RestoreId(store.Description, request.Topic, request.Target, request.AtMs);
        var plans = new PartitionOrder[partitionCount];
        for (var p = 0; p < partitionCount; p++)
        {
            var streams = records.Where(r => r.Key.Partition == p)
                .Select(r => new OriginRecords(r.Key, [.. r.Value.OrderBy(x => x.OriginOffset)]))
                .ToList();
            var groups = request.Groups ? RestoreOrder.GroupsAt(catalog.Groups, request.Topic, p, request.AtMs) : [];
            plans[p] = RestoreOrder.Plan(streams, groups);
        }
        if (request.Groups && catalog.Groups.All(g => g.Topic != request.Topic || g.TakenAtMs > request.AtMs))
            notes.Add($"--groups: the backup holds no group position of '{request.Topic}' at or before that moment; no group is set");

        if (request.DryRun)
        {
            return new RestoreReport(restoreId, store.Description, request.Topic, request.Target, request.AtMs,
                request.AllRegions ? RestoreMode.AllRegions : RestoreMode.SingleRegion, request.Region is null ? [] : [request.Region], true, partitionCount,
                configs, window, needed.Count,
                [.. plans.Select((plan, p) => new RestorePartition(p, plan.Records.Count, plan.Groups, []))], notes);
        }

        using var regions = openRegions();
        var targets = request.AllRegions ? regions.Regions.ToList() : [regions.Region(request.Region!)];
        var mode = request.AllRegions ? RestoreMode.AllRegions : RestoreMode.SingleRegion;
        var provenance = new RestoreProvenance(mode, [.. targets.Select(t => t.Id)], request.Target, restoreId);

        // Look at every target before writing to any.
        var states = new Dictionary<string, PartitionState[]>(StringComparer.Ordinal);
        var missing = new List<BackupRegion>();
        foreach (var region in targets)
        {
            var (_, topics) = regions.Describe(region);
            if (!topics.TryGetValue(request.Target, out var existing))
            {
                missing.Add(region);
                states[region.Id] = [.. Enumerable.Range(0, partitionCount).Select(_ => new PartitionState(0, 0, null, null))];
                continue;
            }
            if (existing != partitionCount)
                throw new MeshCommandException($"Topic '{request.Target}' exists in {region.Id} with {existing} partitions; the backup's has {partitionCount}. " +
                    "Restore under another name with --as. Nothing was written.", 2);
            progress($"{region.Id}: reading what '{request.Target}' holds");
            using var log = new PartitionLog(region);
            states[region.Id] = [.. Enumerable.Range(0, partitionCount).Select(p => Scan(log, region.Id, request.Target, p, restoreId, plans[p], cancellationToken))];
        }
        var foreign = states.SelectMany(s => s.Value.Select((state, p) => (Region: s.Key, Partition: p, state.Foreign))).Where(s => s.Foreign > 0).ToList();
        if (foreign.Count > 0 && !request.AllowNonEmpty)
            throw new MeshCommandException($"Topic '{request.Target}' is not empty: " +
                string.Join(", ", foreign.Select(f => $"{f.Region} partition {f.Partition} holds {f.Foreign} record(s) this restore did not write")) +
                ". Restore under another name with --as, or add --allow-non-empty to write after what is there. Nothing was written.", 4);

        foreach (var region in missing)
        {
            progress($"{region.Id}: creating '{request.Target}' ({partitionCount} partitions{(configs.Count > 0 ? ", " + string.Join(", ", configs.Select(c => $"{c.Key}={c.Value}")) : "")})");
            await regions.CreateTopicAsync(region, request.Target, partitionCount, configs, cancellationToken);
        }

        using var keys = regions.MeshKey is { } meshKey ? new SignerLease(MeshKeys.Create(meshKey, null)!) : null;
        var written = new Dictionary<(string Region, int Partition), (long Written, long? Base)>();
        foreach (var region in targets)
        {
            var counts = Write(region, request.Topic, request.Target, plans, states[region.Id], provenance, keys?.Signer, progress, cancellationToken);
            foreach (var (p, count) in counts) written[(region.Id, p)] = count;
            // Read back, not trusted: an idempotent producer whose request timed out in a broker outage bumps its epoch and
            // sends the batch again, and a batch that had landed then lands twice (seen once, through a 4 s outage of every broker).
            progress($"{region.Id}: reading '{request.Target}' back to check that every record landed once");
            using var log = new PartitionLog(region);
            var problems = Enumerable.Range(0, partitionCount)
                .Select(p => ReadBack(log, region.Id, request.Target, p, restoreId, plans[p], cancellationToken))
                .Where(problem => problem is not null).ToList();
            if (problems.Count > 0)
                throw new MeshCommandException($"The restore into {region.Id} '{request.Target}' did not land exactly once:\n  " + string.Join("\n  ", problems) +
                    "\nRecords cannot be taken out of a Kafka topic: delete the topic in that region and run the same command again, or restore under another name with --as.", 1);
        }

        var committed = new Dictionary<(string Region, int Partition), Dictionary<string, long>>();
        if (request.Groups)
        {
            foreach (var region in targets)
            {
                var byGroup = new Dictionary<string, Dictionary<TopicPartition, long>>(StringComparer.Ordinal);
                for (var p = 0; p < partitionCount; p++)
                {
                    var baseOffset = written[(region.Id, p)].Base;
                    committed[(region.Id, p)] = [];
                    foreach (var group in plans[p].Groups)
                    {
                        // An empty restored partition: the group starts at its end, which is where the restore began.
                        var offset = (baseOffset ?? states[region.Id][p].EndAtScan) + group.Position;
                        if (!byGroup.TryGetValue(group.Group, out var offsets)) byGroup[group.Group] = offsets = [];
                        offsets[new TopicPartition(request.Target, p)] = offset;
                        committed[(region.Id, p)][group.Group] = offset;
                    }
                }
                foreach (var (group, offsets) in byGroup)
                {
                    progress($"{region.Id}: committing group {group}'s restored positions");
                    using var groupOffsets = new ConsumerGroupOffsets(region.Id, group, region.Kafka);
                    try
                    {
                        groupOffsets.Commit(offsets);
                    }
                    catch (GroupActiveException e)
                    {
                        throw new MeshCommandException($"The records are restored, but {e.Message}: stop its consumers there and run the same command again " +
                            "(it writes nothing twice and commits the positions).", 1);
                    }
                    catch (OffsetRegionUnreachableException e)
                    {
                        throw new MeshCommandException($"The records are restored, but committing group {group} failed: {e.Message}. Run the same command again to commit the positions.", 1);
                    }
                }
            }
        }

        return new RestoreReport(restoreId, store.Description, request.Topic, request.Target, request.AtMs, mode, [.. targets.Select(t => t.Id)], false,
            partitionCount, configs, window, needed.Count,
            [.. plans.Select((plan, p) => new RestorePartition(p, plan.Records.Count, plan.Groups,
                [.. targets.Select(t => new RestoreRegionPartition(t.Id, states[t.Id][p].Ours, written[(t.Id, p)].Written, written[(t.Id, p)].Base,
                    committed.GetValueOrDefault((t.Id, p)) ?? []))]))],
            notes);
    }

    /// <summary>What a target partition holds: records of an earlier run of this restore (a prefix of the plan), and any others.</summary>
    private sealed record PartitionState(long Ours, long Foreign, long? FirstOursOffset, long? LastOursOffset)
    {
        public long EndAtScan { get; init; }
    }

    private static PartitionState Scan(PartitionLog log, string region, string topic, int partition, string restoreId, PartitionOrder plan, CancellationToken cancellationToken)
    {
        var walk = Walk(log, topic, partition, restoreId, plan, cancellationToken);
        // An earlier run wrote the plan's first records in order, once each; anything else is not this plan's doing.
        if (walk.Problem(region, topic, partition, complete: false) is { } problem)
            throw new MeshCommandException($"{problem}. Records cannot be taken out of a Kafka topic: restore under another name with --as " +
                "(or delete the topic in that region and run the same command again).", 1);
        return new PartitionState(walk.InPlan, walk.Foreign, walk.FirstOffset, walk.LastOffset) { EndAtScan = log.Watermarks(topic, partition).High };
    }

    /// <summary>
    /// What is wrong with a written partition, or null: it must hold every record of the plan once, in the plan's order
    /// (after whatever else it held).
    /// </summary>
    private static string? ReadBack(PartitionLog log, string region, string topic, int partition, string restoreId, PartitionOrder plan, CancellationToken cancellationToken) =>
        Walk(log, topic, partition, restoreId, plan, cancellationToken).Problem(region, topic, partition, complete: true);

    /// <summary>A target partition read through: its records of this restore against the plan, and the others.</summary>
    private sealed record PartitionWalk(int Planned, long InPlan, long Foreign, long? FirstOffset, long? LastOffset, long Twice, string? FirstTwice, long Astray, string? FirstAstray)
    {
        public string? Problem(string region, string topic, int partition, bool complete)
        {
            var parts = new List<string>();
            if (Twice > 0) parts.Add($"{Twice} record(s) of this restore twice (first: {FirstTwice}; a write that went through a broker outage)");
            if (Astray > 0) parts.Add($"{Astray} record(s) of this restore out of its plan's order (first: {FirstAstray}; the backup changed under that moment since)");
            if (complete && InPlan < Planned) parts.Add($"{Planned - InPlan} of its {Planned} record(s) missing");
            return parts.Count == 0 ? null : $"{region} {topic}/{partition} holds " + string.Join("; ", parts);
        }
    }

    private static PartitionWalk Walk(PartitionLog log, string topic, int partition, string restoreId, PartitionOrder plan, CancellationToken cancellationToken)
    {
        var seen = new Dictionary<(string Region, string Incarnation, long Offset), long>();
        long inPlan = 0, foreign = 0, twice = 0, astray = 0;
        long? first = null, last = null;
        string? firstTwice = null, firstAstray = null;
        foreach (var record in log.Read(topic, partition, cancellationToken))
        {
            if (RestoredFrom.Find(record.Headers) is not { } from || from.RestoreId != restoreId)
            {
                foreign++;
                continue;
            }
            var origin = (from.OriginRegion, from.OriginIncarnation, from.OriginOffset);
            if (seen.TryGetValue(origin, out var earlier))
            {
                twice++;
                firstTwice ??= $"{from.OriginRegion}@{from.OriginIncarnation}:{from.OriginOffset} at offsets {earlier} and {record.Offset}";
                continue;
            }
            seen[origin] = record.Offset;
            var expected = inPlan < plan.Records.Count && astray == 0 ? plan.Records[(int)inPlan] : null;
            if (expected is not null && expected.Stream.OriginRegion == from.OriginRegion && expected.Stream.OriginIncarnation == from.OriginIncarnation
                && expected.Record.OriginOffset == from.OriginOffset)
            {
                first ??= record.Offset;
                last = record.Offset;
                inPlan++;
                continue;
            }
            astray++;
            firstAstray ??= $"{from.OriginRegion}@{from.OriginIncarnation}:{from.OriginOffset} at offset {record.Offset}";
        }
        return new PartitionWalk(plan.Records.Count, inPlan, foreign, first, last, twice, firstTwice, astray, firstAstray);
    }

    private static Dictionary<int, (long Written, long? Base)> Write(BackupRegion region, string sourceTopic, string target, PartitionOrder[] plans,
        PartitionState[] states, RestoreProvenance provenance, ProvenanceSigner? signer, Action<string> progress, CancellationToken cancellationToken)
    {
        var config = new Dictionary<string, string>(region.Kafka)
        {
            ["client.id"] = "mesh-restore",
            ["enable.idempotence"] = "true",
            ["acks"] = "all",
            ["linger.ms"] = "20",
            // One request in flight per connection. The outage test once found 1,441 records of a restore twice (through a
            // 4 s outage of every broker, with five in flight). Likely: a request landed but its answer was lost, the next one
            // was refused as out of order, and librdkafka bumped the producer's epoch and sent both again under new sequence
            // numbers. With one in flight a retry keeps its sequence number, which the broker recognises and drops. The
            // read-back after the write is what proves a restore exact either way.
            ["max.in.flight.requests.per.connection"] = "1",
            ["log_level"] = "3",
        };
        Error? failure = null;
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(config)
            .SetErrorHandler((_, error) => { if (error.IsFatal) failure ??= error; })
            .SetLogHandler((_, _) => { })
            .Build();
        var result = new Dictionary<int, (long, long?)>();
        var clock = Stopwatch.StartNew();
        long total = plans.Select((plan, p) => plan.Records.Count - states[p].Ours).Sum(), done = 0;
        for (var p = 0; p < plans.Length; p++)
        {
            var plan = plans[p];
            var state = states[p];
            long delivered = 0;
            long? baseOffset = state.FirstOursOffset;
            var tp = new TopicPartition(target, p);
            for (var index = state.Ours; index < plan.Records.Count; index++)
            {
                if (failure is not null) break;
                cancellationToken.ThrowIfCancellationRequested();
                var record = provenance.Build(plan.Records[(int)index], sourceTopic, p, index, region.Id, signer);
                var message = new Message<byte[]?, byte[]?>
                {
                    Key = record.Key,
                    Value = record.Value,
                    Timestamp = new Timestamp(record.TimestampMs, TimestampType.CreateTime),
                    Headers = ToKafka(record.Headers),
                };
                var isFirst = index == 0;
                while (true)
                {
                    try
                    {
                        producer.Produce(tp, message, report =>
                        {
                            if (report.Error.IsError)
                            {
                                failure ??= report.Error;
                                return;
                            }
                            Interlocked.Increment(ref delivered);
                            if (isFirst) baseOffset = report.Offset.Value;
                        });
                        break;
                    }
                    catch (ProduceException<byte[]?, byte[]?> e) when (e.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
                    {
                        producer.Poll(TimeSpan.FromMilliseconds(100));
                    }
                }
                done++;
                if (clock.Elapsed > ProgressEvery)
                {
                    progress($"{region.Id}: {target}/{p}: {index + 1} of {plan.Records.Count} records sent ({done} of {total} in this region)");
                    clock.Restart();
                }
            }
            producer.Flush(cancellationToken);
            if (failure is { } error)
                throw new MeshCommandException($"Writing to {region.Id} {target}/{p} failed after {state.Ours + Interlocked.Read(ref delivered)} of {plan.Records.Count} records: {error.Reason}. " +
                    "Run the same command again: it finds what was written (by its mesh.restored headers) and resumes after it.", 1);
            result[p] = (Interlocked.Read(ref delivered), baseOffset);
        }
        return result;
    }

    private static Headers ToKafka(IReadOnlyList<RecordHeader> headers)
    {
        var kafka = new Headers();
        foreach (var header in headers) kafka.Add(header.Name, header.Value);
        return kafka;
    }

    private sealed class SignerLease(MeshKeys keys) : IDisposable
    {
        public ProvenanceSigner Signer { get; } = keys.CreateSigner();

        public void Dispose() => Signer.Dispose();
    }
}
