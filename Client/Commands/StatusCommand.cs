using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mesh.Client.Admin;
using Mesh.Client.Local;
using Mesh.Grains;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary><c>mesh status</c>: per region up/down; per link and topic: replicated, quarantined, expired, lag, latency, error.</summary>
internal static class StatusCommand
{
    /// <param name="KafkaState">
    /// up, degraded, unreachable (as the region's silos see their brokers; through gateways also a region whose silos do not
    /// answer) or down (a local mesh's region host is not running); null: <paramref name="KafkaUp"/> says up or down.
    /// </param>
    public sealed record RegionReport(string Region, bool KafkaUp, int SilosUp, int Silos, bool Reachable, string? Error, IReadOnlyList<LinkStatus> Links,
        long TopologyVersion = 0, string? TopologyName = null, IReadOnlyList<LinkStatus>? PushLinks = null,
        IReadOnlyList<ConflictTopicStatus>? Conflicts = null, IReadOnlyDictionary<string, int>? PartitionsPerSilo = null,
        IReadOnlyDictionary<string, string>? SiloNames = null, string? KafkaState = null, KafkaHealth? Kafka = null, ProvenanceKeys? Keys = null)
    {
        public bool SiloUp => SilosUp > 0;

        /// <summary>up, degraded, unreachable or down.</summary>
        public string KafkaText => KafkaState ?? (KafkaUp ? Up : Down);

        /// <summary>Every link the region's silos run: pull links into it, then push links out of it.</summary>
        public IEnumerable<(LinkStatus Link, bool Push)> AllLinks => Links.Select(l => (l, false)).Concat((PushLinks ?? []).Select(l => (l, true)));
    }

    public const string Up = "up";
    public const string Degraded = "degraded";
    public const string Unreachable = "unreachable";
    public const string Down = "down";

    /// <summary>The newest topology version any reachable region runs.</summary>
    public static long NewestVersion(IReadOnlyList<RegionReport> reports) =>
        reports.Where(r => r.Reachable).Select(r => r.TopologyVersion).DefaultIfEmpty(0).Max();

    public static Command Create()
    {
        var dir = CommonOptions.Dir();
        var gateways = CommonOptions.Gateways();
        var topology = CommonOptions.TopologyFile();
        var json = CommonOptions.Json();
        var changes = new Option<int>("--changes")
        {
            Description = "Also show each region's last N operator changes from its audit log (who, role, what, when, topology version before and after; " +
                          "kept where the silos run mutual TLS): 'changes' in --json",
        };
        var command = new Command("status", "Show each region (its Kafka: up when every broker answers the region's silos, degraded when some do not, " +
            "unreachable when none do or the region's silos cannot be reached, down when a local mesh's region host is not running; its silos, the topology version it runs, " +
            "how many partition replicators run on each of its silos: partitionsPerSilo in --json) and each inbound link per topic: state (replicating, starting, " +
            "waiting: the source's or destination's Kafka does not answer, with the reason and since when, waitingSince in --json; paused, stopped), records replicated, records quarantined (the region could not take them; they are kept in its __mesh_quarantine topic, see 'mesh quarantine'), records expired (the source's retention dropped them before they were replicated), lag in records, end-to-end replication latency (p50 and p99 of the records written in the last 30-60 s: latencyP50Ms, latencyP99Ms in --json; the latest record's when none), error; the partitions being rebuilt (re-reading their source into a region that lost its data) with their progress; topic configs that differ between the two regions of a link (configDrift in --json); for exactly-once topics, the transactions committed and aborted; and, for last-writer-wins topics, per link the remote writes dropped as conflicts and the records with a bad version header (counted since each partition's replicator started, in memory), per region the keys indexed, repairs, bad versions (counted from the log) and key index memory. A partition taking over from a silo that died shows 'starting' with the wait in its error. " +
            "The regions are the local mesh in --dir (default .mesh), or the regions of a deployed mesh reached through --gateways region=host:port,... or the 'gateway:' entries of --topology FILE. " +
            "Exit code 0: all up; 3: a region's Kafka is not up or one of its silos is down, the region is unreachable, a link waits for a region's Kafka, or a region runs an older topology version than another; 4: a link or topic is stopped by an error (a paused link is not)")
        {
            dir, gateways, topology, json, changes,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var regions = CommonOptions.Regions(parse, dir, gateways, topology);
            var reports = await CollectAsync(regions, cancellationToken);
            var count = parse.GetValue(changes);
            if (count < 0) throw new MeshCommandException($"--changes: {count} is not a number of changes (0 or more).", 2);
            var audit = count > 0 ? await AuditTrail.ReadAsync(regions, reports.Where(r => r.Reachable).Select(r => r.Region), count, cancellationToken) : null;
            if (parse.GetValue(json))
            {
                var document = System.Text.Json.Nodes.JsonNode.Parse(ToJson(reports))!;
                if (audit is not null) document["changes"] = AuditTrail.ToJson(audit);
                Console.WriteLine(document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                Render(reports);
                if (audit is not null) AuditTrail.Render(audit);
            }
            return ExitCode(reports);
        });
        return command;
    }

    /// <summary>
    /// 3: a region's Kafka not up, a silo down, a region unreachable, a link waiting for a Kafka, or a region on an older topology
    /// version than another; 4: a link or topic stopped by an error; else 0.
    /// </summary>
    public static int ExitCode(IReadOnlyList<RegionReport> reports)
    {
        if (!reports.All(r => r.KafkaText == Up && r.SilosUp == r.Silos && r.Reachable)) return 3;
        var newest = NewestVersion(reports);
        if (reports.Any(r => r.TopologyVersion < newest)) return 3;
        if (reports.Any(r => r.AllLinks.Any(l => l.Link.Topics.Any(t => t.State == ReplicationState.Waiting)))) return 3;
        return reports.Any(r => r.AllLinks.Any(l => l.Link.Error is not null || l.Link.Topics.Any(t => t.State == ReplicationState.Stopped))) ? 4 : 0;
    }

    public static Task<IReadOnlyList<RegionReport>> CollectAsync(LocalMesh mesh, CancellationToken cancellationToken) =>
        CollectAsync(new LocalGateways(mesh), cancellationToken);

    /// <summary>
    /// Each region as its silos report it. A local mesh also says which processes run (a region host that does not run is
    /// <c>down</c>); regions reached through gateways have only what their silos answer, so one that does not answer is unreachable.
    /// </summary>
    public static async Task<IReadOnlyList<RegionReport>> CollectAsync(IRegionGateways gateways, CancellationToken cancellationToken)
    {
        var mesh = (gateways as LocalGateways)?.Mesh;
        return await Task.WhenAll(gateways.Regions.Select(async region =>
        {
            var local = mesh?.State.Regions.FirstOrDefault(r => r.Id == region);
            var hostRunning = mesh is null || mesh.IsKafkaRunning(region);
            var silos = local?.Silos.Count ?? 0;
            var silosUp = local is null ? 0 : local.Silos.Count(s => mesh!.IsSiloRunning(region, s.Instance));
            if (local is not null && silosUp == 0)
                return Unanswered(region, hostRunning ? await ProbeFromHereAsync(mesh!, region, cancellationToken) : Down, silos, "no silo is running");
            try
            {
                await using var connection = await gateways.ConnectAsync(region, MeshConnections.ConnectTimeout, cancellationToken);
                var status = await connection.GetStatusAsync(TimeSpan.FromSeconds(15));
                if (local is null) silos = silosUp = await connection.CountSilosAsync(TimeSpan.FromSeconds(10), cancellationToken);
                var kafka = !hostRunning ? Down : status.Kafka is { } seen ? StateText(seen.State) : Up;
                return new RegionReport(region, kafka == Up, silosUp, silos, true, null, status.InboundLinks, status.TopologyVersion, status.TopologyName,
                    status.PushLinks ?? [], status.Conflicts ?? [], status.PartitionsPerSilo ?? new Dictionary<string, int>(),
                    local?.Silos.ToDictionary(s => $"127.0.0.1:{s.SiloPort}", s => $"silo {s.Instance}"), kafka, status.Kafka, status.Keys);
            }
            catch (Exception e) when (MeshConnections.IsUnreachable(e, cancellationToken))
            {
                return Unanswered(region, !hostRunning ? Down : mesh is null ? Unreachable : await ProbeFromHereAsync(mesh, region, cancellationToken),
                    local is null ? 1 : silos, e.Message, silosUp);
            }
        }));
    }

    private static RegionReport Unanswered(string region, string kafka, int silos, string error, int silosUp = 0) =>
        new(region, kafka == Up, silosUp, silos, false, error, [], KafkaState: kafka);

    /// <summary>
    /// A local region whose silos do not answer: its brokers asked from here (metadata within a deadline), the only view left.
    /// </summary>
    private static async Task<string> ProbeFromHereAsync(LocalMesh mesh, string region, CancellationToken cancellationToken)
    {
        try
        {
            var bootstrap = mesh.Bootstrap(region);
            return await Task.Run(() =>
            {
                using var admin = new Confluent.Kafka.AdminClientBuilder(new Confluent.Kafka.AdminClientConfig { BootstrapServers = bootstrap })
                    .SetLogHandler((_, _) => { }).Build();
                admin.GetMetadata(TimeSpan.FromSeconds(2));
                return Up;
            }, cancellationToken);
        }
        catch (Exception e) when (e is Confluent.Kafka.KafkaException or IOException)
        {
            return Unreachable;
        }
    }

    private static string StateText(KafkaState state) => state switch
    {
        KafkaState.Up => Up,
        KafkaState.Degraded => Degraded,
        _ => Unreachable,
    };

    /// <summary>ISO-8601 in UTC, to the millisecond.</summary>
    private static string? Iso(DateTimeOffset? time) => time?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// A link's state at a glance: stopped (a topic stopped or the link has an error), waiting (a topic waits for a Kafka),
    /// starting, paused (every topic paused), else replicating.
    /// </summary>
    public static string LinkState(LinkStatus link) =>
        link.Error is not null || link.Topics.Any(t => t.State == ReplicationState.Stopped) ? "stopped"
        : link.Topics.Any(t => t.State == ReplicationState.Waiting) ? "waiting"
        : link.Topics.Count == 0 || link.Topics.Any(t => t.State == ReplicationState.Starting) ? "starting"
        : link.Topics.All(t => t.State == ReplicationState.Paused) ? "paused"
        : "replicating";

    /// <summary>
    /// Which mesh key each region signs with and how many records its replicators verified under each key it accepts: during a
    /// rotation, the old key's count stops growing once every region signs with the new one.
    /// </summary>
    private static void RenderKeys(IReadOnlyList<RegionReport> reports)
    {
        var signed = reports.Where(r => r.Keys is not null).ToList();
        if (signed.Count == 0) return;
        var table = new Table().Title("provenance keys").AddColumns("region", "signs with", "verified records per key (since the replicators started)");
        foreach (var r in signed)
        {
            var keys = r.Keys!;
            var verified = keys.AcceptedKeyIds.Concat(keys.VerifiedByKey.Keys).Distinct(StringComparer.Ordinal)
                .Select(id => $"{id}: {keys.VerifiedByKey.GetValueOrDefault(id):N0}{(keys.AcceptedKeyIds.Contains(id) ? "" : " (no longer accepted)")}");
            table.AddRow(Markup.Escape(r.Region), keys.SigningKeyId, Markup.Escape(string.Join(", ", verified)));
        }
        AnsiConsole.Write(table);
    }

    public static string ToJson(IReadOnlyList<RegionReport> reports) => JsonSerializer.Serialize(new
    {
        newestTopologyVersion = NewestVersion(reports),
        regions = reports.Select(r => new
        {
            region = r.Region,
            kafka = r.KafkaText,
            // The region's Kafka as the answering silo saw it: brokers named by its metadata, those connected, why not up, since when.
            kafkaBrokers = r.Kafka?.Brokers,
            kafkaBrokersUp = r.Kafka?.BrokersUp,
            kafkaError = r.KafkaText == Up ? null : r.Kafka?.Error ?? (r.Reachable ? null : r.Error),
            kafkaSince = Iso(r.Kafka?.Since),
            kafkaCheckedAt = Iso(r.Kafka?.CheckedAt),
            silo = r.SiloUp ? "up" : "down",
            silosUp = r.SilosUp,
            silos = r.Silos,
            reachable = r.Reachable,
            error = r.Error,
            topologyVersion = r.Reachable ? r.TopologyVersion : (long?)null,
            topologyName = r.TopologyName,
            topologyNote = r.Reachable ? TopologyCommand.Behind(r.TopologyVersion, NewestVersion(reports)) : null,
            // Partition replicators per silo (its silo endpoint), as the replicators report where they run.
            partitionsPerSilo = r.PartitionsPerSilo ?? new Dictionary<string, int>(),
            // The mesh key the region signs with, the ones it accepts, and the records its replicators verified per key (ids, never keys).
            provenanceKeys = r.Keys is { } keys
                ? new { signing = keys.SigningKeyId, accepted = keys.AcceptedKeyIds, verified = keys.VerifiedByKey }
                : null,
            links = r.Links.Select(LinkJson),
            // Links this region runs into other regions (push mode: the destination cannot reach it).
            pushLinks = (r.PushLinks ?? []).Select(LinkJson),
            // Last-writer-wins topics: repairs written here (the winner re-asserted after an older write).
            conflicts = (r.Conflicts ?? []).Select(c => new
            {
                topic = c.Topic,
                repaired = c.Repaired,
                badVersions = c.BadVersions,
                keys = c.Keys,
                keyIndexBytes = c.IndexBytes,
                error = c.Error,
            }),
        }),
    }, new JsonSerializerOptions
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // Errors quote names ('r1'): keep them readable rather than \u0027.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>A topic's transactions summed over its partitions; null when none of them runs in exactly-once mode.</summary>
    private static TransactionCounts? Transactions(TopicLinkStatus topic)
    {
        var counted = topic.PartitionDetail.Where(p => p.Transactions is not null).Select(p => p.Transactions!).ToList();
        return counted.Count == 0 ? null : new TransactionCounts(counted.Sum(c => c.Committed), counted.Sum(c => c.Aborted));
    }

    private static object LinkJson(LinkStatus l) => new
    {
        source = l.Source,
        destination = l.Destination,
        state = LinkState(l),
        error = l.Error,
        recordsReplicated = l.Topics.Sum(t => t.RecordsReplicated),
        recordsQuarantined = l.Topics.Sum(t => t.RecordsQuarantined),
        recordsExpiredBeforeReplication = l.Topics.Sum(t => t.RecordsExpiredBeforeReplication),
        topics = l.Topics.Select(t => new
        {
            topic = t.Topic,
            state = t.State.ToString().ToLowerInvariant(),
            partitions = t.Partitions,
            recordsReplicated = t.RecordsReplicated,
            recordsQuarantined = t.RecordsQuarantined,
            recordsExpiredBeforeReplication = t.RecordsExpiredBeforeReplication,
            lagRecords = t.LagRecords,
            latestLatencyMs = t.LatestLatencyMs,
            latencyP50Ms = t.LatencyP50Ms,
            latencyP99Ms = t.LatencyP99Ms,
            policy = t.Policy ?? "append",
            conflictsDropped = t.ConflictsDropped,
            badVersions = t.BadVersions,
            needsRebuild = t.PartitionDetail.Count(p => p.NeedsRebuild),
            transactions = Transactions(t) is { } x ? new { committed = x.Committed, aborted = x.Aborted } : null,
            rebuild = t.Rebuild is not { } r ? null : new
            {
                reason = r.Reason,
                partitions = r.Partitions,
                partitionsDone = r.PartitionsDone,
                recordsRead = r.RecordsRead,
                recordsToRead = r.RecordsToRead,
                done = r.Done,
                startedAt = r.StartedAt,
                completedAt = r.CompletedAt,
            },
            error = t.Error,
            waitingSince = Iso(t.WaitingSince),
            configDrift = ConfigDriftJson(l, t),
        }),
    };

    private static void Render(IReadOnlyList<RegionReport> reports)
    {
        var newest = NewestVersion(reports);
        var regions = new Table().Title("regions").AddColumns("region", "kafka", "silos", "topology", "partitions per silo", "note");
        foreach (var r in reports)
        {
            var behind = r.Reachable ? TopologyCommand.Behind(r.TopologyVersion, newest) : null;
            regions.AddRow(Markup.Escape(r.Region), KafkaCell(r), $"{UpDown(r.SiloUp && r.Reachable)} ({r.SilosUp}/{r.Silos})",
                !r.Reachable ? "?" : r.TopologyVersion == 0 ? "none" : Markup.Escape($"v{r.TopologyVersion} {r.TopologyName}"),
                Markup.Escape(PerSilo(r)),
                behind is not null ? $"[yellow]{Markup.Escape(behind)}[/]" : Markup.Escape(r.Error ?? (r.KafkaText != Up ? r.Kafka?.Error : null) ?? ""));
        }
        AnsiConsole.Write(regions);
        RenderKeys(reports);

        var links = new Table().Title("links").AddColumns("link", "topic", "state", "replicated", "quarantined", "expired", "conflicts dropped", "lag", "latency p50 / p99", "error");
        foreach (var (link, push) in reports.SelectMany(r => r.AllLinks))
        {
            var name = $"{link.Source} -> {link.Destination}{(push ? " (push)" : "")}";
            if (link.Topics.Count == 0)
                links.AddRow(Markup.Escape(name), "", "", "", "", "", "", "", "", Markup.Escape(link.Error ?? "no topics found yet"));
            foreach (var t in link.Topics)
            {
                links.AddRow(
                    Markup.Escape(name),
                    Markup.Escape(t.Topic),
                    t.State switch
                    {
                        ReplicationState.Replicating => "[green]replicating[/]",
                        ReplicationState.Stopped => "[red]stopped[/]",
                        ReplicationState.Paused => "[blue]paused[/]",
                        ReplicationState.Waiting => $"[yellow]waiting since {t.WaitingSince:HH:mm:ss}[/]",
                        _ => "[yellow]starting[/]",
                    },
                    t.RecordsReplicated.ToString("N0"),
                    Count(t.RecordsQuarantined),
                    Count(t.RecordsExpiredBeforeReplication),
                    t.Policy is null ? "-" : $"{t.ConflictsDropped:N0}" + (t.BadVersions > 0 ? $" [yellow]({t.BadVersions:N0} bad versions)[/]" : ""),
                    t.LagRecords?.ToString("N0") ?? "?",
                    t.LatencyP50Ms is double p50 && t.LatencyP99Ms is double p99 ? $"{p50:N0} / {p99:N0} ms" : t.LatestLatencyMs is double ms ? $"{ms:N0} ms (latest)" : "-",
                    Markup.Escape(t.Error ?? link.Error ?? ""));
            }
        }
        AnsiConsole.Write(links);

        var rebuilds = reports.SelectMany(r => r.AllLinks).SelectMany(l => l.Link.Topics.Where(t => t.Rebuild is not null).Select(t => (l.Link, t.Topic, t.Rebuild!))).ToList();
        if (rebuilds.Count > 0)
        {
            var rebuildTable = new Table().Title("rebuilds (partitions re-reading their source from the start)").AddColumns("link", "topic", "progress", "partitions done", "since", "why");
            foreach (var (link, topic, r) in rebuilds)
                rebuildTable.AddRow(Markup.Escape($"{link.Source} -> {link.Destination}"), Markup.Escape(topic),
                    r.Done ? "[green]done[/]" : $"{r.RecordsRead:N0} of {r.RecordsToRead:N0} records ({(r.RecordsToRead == 0 ? 100 : 100.0 * r.RecordsRead / r.RecordsToRead):N0}%)",
                    $"{r.PartitionsDone}/{r.Partitions}", $"{r.StartedAt:HH:mm:ss}" + (r.CompletedAt is { } done ? $" (took {(done - r.StartedAt).TotalSeconds:N1} s)" : ""),
                    Markup.Escape(r.Reason));
            AnsiConsole.Write(rebuildTable);
        }

        var exactlyOnce = reports.SelectMany(r => r.AllLinks).SelectMany(l => l.Link.Topics.Select(t => (l.Link, t.Topic, Counts: Transactions(t))))
            .Where(x => x.Counts is not null).ToList();
        if (exactlyOnce.Count > 0)
        {
            var transactions = new Table().Title("exactly-once topics (each batch and its checkpoint in one Kafka transaction)").AddColumns("link", "topic", "transactions");
            foreach (var (link, topic, counts) in exactlyOnce)
                transactions.AddRow(Markup.Escape($"{link.Source} -> {link.Destination}"), Markup.Escape(topic),
                    $"committed {counts!.Committed:N0}, aborted " + (counts.Aborted > 0 ? $"[yellow]{counts.Aborted:N0}[/]" : "0"));
            AnsiConsole.Write(transactions);
        }

        RenderConfigDrift(reports);

        var conflicts = reports.SelectMany(r => (r.Conflicts ?? []).Select(c => (r.Region, c))).ToList();
        if (conflicts.Count == 0) return;
        var table = new Table().Title("last-writer-wins topics").AddColumns("region", "topic", "keys", "repairs", "bad versions", "key index", "error");
        foreach (var (region, c) in conflicts)
            table.AddRow(Markup.Escape(region), Markup.Escape(c.Topic), c.Keys.ToString("N0"), c.Repaired.ToString("N0"), Count(c.BadVersions),
                $"{c.IndexBytes / 1024.0 / 1024.0:N1} MiB", Markup.Escape(c.Error ?? ""));
        AnsiConsole.Write(table);
    }

    // Quarantined and expired records need an operator's look, so any of them stands out.
    // "silo 1 (127.0.0.1:11111) 16, silo 2 (...) 16": the local silo's instance where the mesh knows it.
    private static string PerSilo(RegionReport r) =>
        string.Join(", ", (r.PartitionsPerSilo ?? new Dictionary<string, int>()).Select(p =>
            $"{(r.SiloNames?.GetValueOrDefault(p.Key) is { } name ? $"{name} ({p.Key})" : p.Key)}: {p.Value}"));

    private static string Count(long records) => records == 0 ? "0" : $"[yellow]{records:N0}[/]";

    private static string UpDown(bool up) => up ? "[green]up[/]" : "[red]down[/]";

    private static string KafkaCell(RegionReport r) => r.KafkaText switch
    {
        Up => "[green]up[/]" + (r.Kafka is { Brokers: > 0 } k ? $" ({k.BrokersUp}/{k.Brokers} brokers)" : ""),
        Degraded => $"[yellow]degraded[/] ({r.Kafka?.BrokersUp}/{r.Kafka?.Brokers} brokers)",
        Unreachable => "[red]unreachable[/]" + (r.Kafka is { } u ? $" since {u.Since:HH:mm:ss}" : ""),
        var other => $"[red]{Markup.Escape(other)}[/]",
    };

    // Config drift: the topic configs a link copies (retention, cleanup policy...) that differ between its two regions.

    /// <summary>Per copied config that differs: the key and each region's value (null: not set there).</summary>
    private static object[] ConfigDriftJson(LinkStatus link, TopicLinkStatus topic) =>
        [.. (topic.ConfigDrift ?? []).Select(d => new
        {
            key = d.Key,
            values = new Dictionary<string, string?> { [link.Source] = d.SourceValue, [link.Destination] = d.DestinationValue },
        })];

    private static void RenderConfigDrift(IReadOnlyList<RegionReport> reports)
    {
        var drift = reports.SelectMany(r => r.AllLinks).SelectMany(l => l.Link.Topics.SelectMany(t => (t.ConfigDrift ?? []).Select(d => (l.Link, t.Topic, d)))).ToList();
        if (drift.Count == 0) return;
        var table = new Table().Title("config drift (topic configs that differ between a link's regions)").AddColumns("link", "topic", "config", "source value", "destination value");
        foreach (var (link, topic, d) in drift)
            table.AddRow(Markup.Escape($"{link.Source} -> {link.Destination}"), Markup.Escape(topic), Markup.Escape(d.Key),
                Markup.Escape($"{link.Source}: {d.SourceValue ?? "(not set)"}"), Markup.Escape($"{link.Destination}: {d.DestinationValue ?? "(not set)"}"));
        AnsiConsole.Write(table);
    }
}
