using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mesh.Client.Local;
using Mesh.Grains;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary><c>mesh status</c>: per region up/down; per link and topic: replicated, quarantined, expired, lag, latency, error.</summary>
internal static class StatusCommand
{
    public sealed record RegionReport(string Region, bool KafkaUp, int SilosUp, int Silos, bool Reachable, string? Error, IReadOnlyList<LinkStatus> Links,
        long TopologyVersion = 0, string? TopologyName = null, IReadOnlyList<LinkStatus>? PushLinks = null,
        IReadOnlyList<ConflictTopicStatus>? Conflicts = null, IReadOnlyDictionary<string, int>? PartitionsPerSilo = null,
        IReadOnlyDictionary<string, string>? SiloNames = null)
    {
        public bool SiloUp => SilosUp > 0;

        /// <summary>Every link the region's silos run: pull links into it, then push links out of it.</summary>
        public IEnumerable<(LinkStatus Link, bool Push)> AllLinks => Links.Select(l => (l, false)).Concat((PushLinks ?? []).Select(l => (l, true)));
    }

    /// <summary>The newest topology version any reachable region runs.</summary>
    public static long NewestVersion(IReadOnlyList<RegionReport> reports) =>
        reports.Where(r => r.Reachable).Select(r => r.TopologyVersion).DefaultIfEmpty(0).Max();

    public static Command Create()
    {
        var dir = CommonOptions.Dir();
        var json = CommonOptions.Json();
        var command = new Command("status", "Show each region (up/down, the topology version it runs, how many partition replicators run on each of its silos: partitionsPerSilo in --json) and each inbound link per topic: state (replicating, starting, paused, stopped), records replicated, records quarantined (the region could not take them; they are kept in its __mesh_quarantine topic, see 'mesh quarantine'), records expired (the source's retention dropped them before they were replicated), lag in records, latest end-to-end replication latency, error; the partitions being rebuilt (re-reading their source into a region that lost its data) with their progress; topic configs that differ between the two regions of a link (configDrift in --json); for exactly-once topics, the transactions committed and aborted; and, for last-writer-wins topics, per link the remote writes dropped as conflicts and the records with a bad version header (counted since each partition's replicator started, in memory), per region the keys indexed, repairs, bad versions (counted from the log) and key index memory. A partition taking over from a silo that died shows 'starting' with the wait in its error. Exit code 0: all up; 3: a region's Kafka or one of its silos is down, the region is unreachable, or it runs an older topology version than another; 4: a link or topic is stopped by an error (a paused link is not)") { dir, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var mesh = new LocalMesh(parse.GetValue(dir)!);
            var reports = await CollectAsync(mesh, cancellationToken);
            if (parse.GetValue(json)) Console.WriteLine(ToJson(reports));
            else Render(reports);
            return ExitCode(reports);
        });
        return command;
    }

    /// <summary>3: a region down, unreachable, or on an older topology version than another; 4: a link or topic stopped by an error; else 0.</summary>
    public static int ExitCode(IReadOnlyList<RegionReport> reports)
    {
        if (!reports.All(r => r.KafkaUp && r.SilosUp == r.Silos && r.Reachable)) return 3;
        var newest = NewestVersion(reports);
        if (reports.Any(r => r.TopologyVersion < newest)) return 3;
        return reports.Any(r => r.AllLinks.Any(l => l.Link.Error is not null || l.Link.Topics.Any(t => t.State == ReplicationState.Stopped))) ? 4 : 0;
    }

    public static async Task<IReadOnlyList<RegionReport>> CollectAsync(LocalMesh mesh, CancellationToken cancellationToken)
    {
        var state = mesh.State;
        return await Task.WhenAll(state.Regions.Select(async region =>
        {
            var kafkaUp = mesh.IsKafkaRunning(region.Id);
            var silosUp = region.Silos.Count(s => mesh.IsSiloRunning(region.Id, s.Instance));
            if (silosUp == 0) return new RegionReport(region.Id, kafkaUp, 0, region.Silos.Count, false, "no silo is running", []);
            try
            {
                await using var connection = await mesh.ConnectAsync(region.Id, TimeSpan.FromSeconds(10), cancellationToken);
                var status = await connection.GetStatusAsync(TimeSpan.FromSeconds(15));
                return new RegionReport(region.Id, kafkaUp, silosUp, region.Silos.Count, true, null, status.InboundLinks, status.TopologyVersion, status.TopologyName,
                    status.PushLinks ?? [], status.Conflicts ?? [], status.PartitionsPerSilo ?? new Dictionary<string, int>(),
                    region.Silos.ToDictionary(s => $"127.0.0.1:{s.SiloPort}", s => $"silo {s.Instance}"));
            }
            catch (Exception e) when (e is IOException or TimeoutException or OrleansException)
            {
                return new RegionReport(region.Id, kafkaUp, silosUp, region.Silos.Count, false, e.Message, []);
            }
        }));
    }

    public static string ToJson(IReadOnlyList<RegionReport> reports) => JsonSerializer.Serialize(new
    {
        newestTopologyVersion = NewestVersion(reports),
        regions = reports.Select(r => new
        {
            region = r.Region,
            kafka = r.KafkaUp ? "up" : "down",
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
    }, new JsonSerializerOptions { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never });

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
            regions.AddRow(Markup.Escape(r.Region), UpDown(r.KafkaUp), $"{UpDown(r.SiloUp && r.Reachable)} ({r.SilosUp}/{r.Silos})",
                !r.Reachable ? "?" : r.TopologyVersion == 0 ? "none" : Markup.Escape($"v{r.TopologyVersion} {r.TopologyName}"),
                Markup.Escape(PerSilo(r)),
                behind is not null ? $"[yellow]{Markup.Escape(behind)}[/]" : Markup.Escape(r.Error ?? ""));
        }
        AnsiConsole.Write(regions);

        var links = new Table().Title("links").AddColumns("link", "topic", "state", "replicated", "quarantined", "expired", "conflicts dropped", "lag", "latest latency", "error");
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
                        _ => "[yellow]starting[/]",
                    },
                    t.RecordsReplicated.ToString("N0"),
                    Count(t.RecordsQuarantined),
                    Count(t.RecordsExpiredBeforeReplication),
                    t.Policy is null ? "-" : $"{t.ConflictsDropped:N0}" + (t.BadVersions > 0 ? $" [yellow]({t.BadVersions:N0} bad versions)[/]" : ""),
                    t.LagRecords?.ToString("N0") ?? "?",
                    t.LatestLatencyMs is double ms ? $"{ms:N0} ms" : "-",
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
