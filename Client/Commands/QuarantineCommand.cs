using Mesh.Client.Admin;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mesh.Client.Local;
using Mesh.Grains;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary><c>mesh quarantine list|replay</c>: the records a region could not take, and re-sending them once the cause is fixed.</summary>
internal static class QuarantineCommand
{
    public sealed record RegionQuarantine(string Region, IReadOnlyList<QuarantinedRecordInfo> Records, string? Error);

    private static readonly TimeSpan ConnectTimeout = MeshConnections.ConnectTimeout;
    private static readonly TimeSpan ListTimeout = TimeSpan.FromSeconds(30);
    // Orleans' own response timeout (30 s by default) may end a long replay first; both surface as a TimeoutException.
    private static readonly TimeSpan ReplayTimeout = TimeSpan.FromMinutes(2);

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    public static Command Create()
    {
        var quarantine = new Command("quarantine", "Inspect and re-send the records a region could not take (too large, rejected by the destination topic, ...). " +
            "They are kept in the region's __mesh_quarantine topic with the reason and where each came from. " +
            "'list' shows them; 'replay' re-sends them once the cause is fixed.");
        quarantine.Subcommands.Add(List());
        quarantine.Subcommands.Add(Replay());
        return quarantine;
    }

    private static Command List()
    {
        var region = new Option<string>("--region") { Description = "The region whose quarantine to list (default: every region of the mesh)" };
        var topic = new Option<string>("--topic") { Description = "Only records meant for this topic" };
        var source = new Option<string>("--source") { Description = "Only records that came from this source region" };
        var all = new Option<bool>("--all") { Description = "Include records already replayed (hidden by default)" };
        var dir = CommonOptions.Dir();
        var gateways = CommonOptions.Gateways();
        var topology = CommonOptions.TopologyFile();
        var json = CommonOptions.Json();
        var command = new Command("list", "List the quarantined records of a region (or of every region): quarantine offset, link, topic and partition, source offset, " +
            "kind, reason, key, sizes, when quarantined and when replayed. Exit code 0: listed; 3: a region could not be reached (the others are still listed)")
        {
            region, topic, source, all, dir, gateways, topology, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var mesh = CommonOptions.Regions(parse, dir, gateways, topology);
            List<string> regions = parse.GetValue(region) is { } one ? [KnownRegion(mesh, one)] : [.. mesh.Regions];
            var query = new QuarantineQuery(parse.GetValue(topic), parse.GetValue(source), IncludeReplayed: parse.GetValue(all));
            var results = await Task.WhenAll(regions.Select(r => ListAsync(mesh, r, query, cancellationToken)));
            if (parse.GetValue(json)) Console.WriteLine(ListJson(results));
            else foreach (var result in results) Render(result, query);
            return results.Any(r => r.Error is not null) ? 3 : 0;
        });
        return command;
    }

    private static Command Replay()
    {
        var region = new Option<string>("--region") { Description = "The region whose quarantined records to replay (required)" };
        var offsets = new Option<string>("--offset") { Description = "Comma-separated quarantine offsets to replay, as 'mesh quarantine list' shows them (e.g. 12,15); not with --all" };
        var all = new Option<bool>("--all") { Description = "Replay every quarantined record of the region (with --topic: of that topic); not with --offset" };
        var topic = new Option<string>("--topic") { Description = "Only records meant for this topic" };
        var force = new Option<bool>("--force") { Description = "Replay records even if they were replayed before" };
        var dir = CommonOptions.Dir();
        var gateways = CommonOptions.Gateways();
        var topology = CommonOptions.TopologyFile();
        var json = CommonOptions.Json();
        var command = new Command("replay", "Re-send quarantined records, after you fixed what made the region refuse them (e.g. raised the topic's max.message.bytes). " +
            "Each record is written again to the topic and partition it was meant for in that region, with its key, value, headers and provenance. " +
            "A replayed record stays in the quarantine marked as replayed and is not replayed again unless --force. " +
            "Exit code 0: every record replayed; 1: some failed (they stay in the quarantine; the reason is printed); 2: usage error; 3: the region could not be reached")
        {
            region, offsets, all, topic, force, dir, gateways, topology, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var request = ReplayRequestFrom(parse.GetValue(region), parse.GetValue(offsets), parse.GetValue(all), parse.GetValue(topic), parse.GetValue(force));
            var mesh = CommonOptions.Regions(parse, dir, gateways, topology);
            var target = KnownRegion(mesh, parse.GetValue(region)!);
            var outcomes = await ReplayAsync(mesh, target, request, cancellationToken);
            if (parse.GetValue(json)) Console.WriteLine(ReplayJson(target, outcomes));
            else Render(target, outcomes);

            var failed = outcomes.Where(o => !o.Replayed).ToList();
            if (failed.Count == 0) return 0;
            throw new MeshCommandException(
                $"{failed.Count} of {outcomes.Count} records were not replayed into {target} and stay in the quarantine: " +
                string.Join("; ", failed.Select(o => $"offset {o.QuarantineOffset}: {o.Error ?? "no reason given"}")) +
                ". Fix the cause and run the replay again" + (request.Force ? "." : " (a record replayed before needs --force)."));
        });
        return command;
    }

    /// <summary>Checks the replay options before anything is loaded or connected, so usage errors exit 2 at once.</summary>
    private static ReplayRequest ReplayRequestFrom(string? region, string? offsets, bool all, string? topic, bool force)
    {
        if (string.IsNullOrWhiteSpace(region))
            throw Usage("--region is required: replay works on one region's quarantine, e.g. --region us-east ('mesh quarantine list' shows every region's).");
        if (offsets is null && !all)
            throw Usage("Say which records to replay: --offset N[,N...] (quarantine offsets from 'mesh quarantine list'), or --all.");
        if (offsets is not null && all)
            throw Usage("--offset and --all exclude each other: give --offset N[,N...] for some records, or --all for every one.");
        return new ReplayRequest(offsets is null ? null : ParseOffsets(offsets), topic, force);
    }

    private static MeshCommandException Usage(string message) =>
        new($"{message}\nRun 'mesh quarantine replay --help' for usage.", 2);

    private static List<long> ParseOffsets(string value)
    {
        var items = CommonOptions.SplitList(value);
        if (items.Count == 0)
            throw Usage("--offset needs at least one quarantine offset, e.g. --offset 12 or --offset 12,15.");
        var offsets = new List<long>();
        foreach (var item in items)
        {
            if (!long.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
                throw Usage($"--offset: '{item}' is not a quarantine offset (a whole number from 0, as 'mesh quarantine list' shows); e.g. --offset 12,15.");
            if (!offsets.Contains(offset)) offsets.Add(offset);
        }
        return offsets;
    }

    private static string KnownRegion(IRegionGateways mesh, string region)
    {
        if (mesh.Regions.Contains(region)) return region;
        throw new MeshCommandException($"--region: there is no region '{region}' in {mesh.Description}; it has {string.Join(", ", mesh.Regions)}.", 2);
    }

    // The Orleans calls. A region that cannot be reached is a result for list (the others still print) and an error for replay.

    private static async Task<RegionQuarantine> ListAsync(IRegionGateways mesh, string region, QuarantineQuery query, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await mesh.ConnectAsync(region, ConnectTimeout, cancellationToken);
            return new RegionQuarantine(region, await connection.ListQuarantineAsync(query, ListTimeout, cancellationToken), null);
        }
        catch (Exception e) when (e is IOException or TimeoutException or OrleansException or NotSupportedException)
        {
            return new RegionQuarantine(region, [], e.Message);
        }
    }

    private static async Task<IReadOnlyList<ReplayOutcome>> ReplayAsync(IRegionGateways mesh, string region, ReplayRequest request, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await mesh.ConnectAsync(region, ConnectTimeout, cancellationToken);
            return await connection.ReplayQuarantineAsync(request, ReplayTimeout, cancellationToken);
        }
        catch (Exception e) when (e is IOException or NotSupportedException)
        {
            throw new MeshCommandException($"{region}: {e.Message}; nothing was replayed.", 3);
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            // The call reached the region, so part of the replay may have happened (or may still be running).
            throw new MeshCommandException($"{region} did not answer the replay ({e.Message}); some records may have been replayed. " +
                $"See which with 'mesh quarantine list --region {region} --all' against {mesh.Description}.", 3);
        }
    }

    public static string ListJson(IReadOnlyList<RegionQuarantine> results) => JsonSerializer.Serialize(new
    {
        regions = results.Select(r => new
        {
            region = r.Region,
            records = r.Records.Select(q => new
            {
                quarantineOffset = q.QuarantineOffset,
                source = q.Source,
                destination = q.Destination,
                topic = q.Topic,
                partition = q.Partition,
                sourceOffset = q.SourceOffset,
                kind = q.Kind,
                reason = q.Reason,
                quarantinedAt = q.QuarantinedAt,
                keyBytes = q.KeyBytes,
                valueBytes = q.ValueBytes,
                key = q.Key,
                replayedAt = q.ReplayedAt,
            }),
            error = r.Error,
        }),
    }, JsonOptions);

    public static string ReplayJson(string region, IReadOnlyList<ReplayOutcome> outcomes) => JsonSerializer.Serialize(new
    {
        region,
        outcomes = outcomes.Select(o => new
        {
            quarantineOffset = o.QuarantineOffset,
            replayed = o.Replayed,
            writtenOffset = o.WrittenOffset,
            error = o.Error,
        }),
    }, JsonOptions);

    private static void Render(RegionQuarantine result, QuarantineQuery query)
    {
        if (result.Error is not null)
        {
            // A plain line, never wrapped, so the command in the error can be copied.
            Console.WriteLine($"{result.Region}: cannot list the quarantine: {result.Error}");
            return;
        }
        if (result.Records.Count == 0)
        {
            Console.WriteLine($"no quarantined records in {result.Region}{Filters(query)}" +
                (query.IncludeReplayed ? "" : " (records already replayed are hidden; --all shows them)"));
            return;
        }
        var table = new Table().Title(Markup.Escape($"quarantine of {result.Region}{Filters(query)}" + (query.IncludeReplayed ? "" : ", not yet replayed")))
            .AddColumns("offset", "link", "topic/partition", "source offset", "kind", "reason", "key", "sizes", "quarantined at", "replayed at");
        foreach (var q in result.Records)
        {
            table.AddRow(
                q.QuarantineOffset.ToString(CultureInfo.InvariantCulture),
                Markup.Escape($"{q.Source} -> {q.Destination}"),
                Markup.Escape($"{q.Topic}/{q.Partition}"),
                q.SourceOffset.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(q.Kind),
                Markup.Escape(q.Reason),
                PrintableKey(q),
                $"key {Bytes(q.KeyBytes)}, value {Bytes(q.ValueBytes)}",
                Time(q.QuarantinedAt),
                q.ReplayedAt is { } replayed ? $"[green]{Time(replayed)}[/]" : "-");
        }
        AnsiConsole.Write(table);
    }

    private static void Render(string region, IReadOnlyList<ReplayOutcome> outcomes)
    {
        if (outcomes.Count == 0)
        {
            Console.WriteLine($"nothing to replay in {region}: no quarantined record matched");
            return;
        }
        foreach (var o in outcomes)
        {
            if (o.Replayed)
                AnsiConsole.MarkupLineInterpolated($"offset {o.QuarantineOffset}: [green]replayed[/], written at offset {o.WrittenOffset?.ToString(CultureInfo.InvariantCulture) ?? "?"}");
            else
                AnsiConsole.MarkupLineInterpolated($"offset {o.QuarantineOffset}: [red]not replayed[/]: {o.Error ?? "no reason given"}");
        }
        var replayed = outcomes.Count(o => o.Replayed);
        if (replayed == outcomes.Count) AnsiConsole.MarkupLineInterpolated($"[green]{replayed} records replayed into {region}[/]");
    }

    private static string Filters(QuarantineQuery query)
    {
        var parts = new List<string>();
        if (query.Topic is not null) parts.Add($"topic {query.Topic}");
        if (query.Source is not null) parts.Add($"from {query.Source}");
        return parts.Count == 0 ? "" : $" for {string.Join(", ", parts)}";
    }

    // A key is shown only when it reads as text; binary keys would break the table and the terminal.
    private static string PrintableKey(QuarantinedRecordInfo record) =>
        record.Key is { Length: > 0 } key && !key.Any(char.IsControl) ? Markup.Escape(key)
        : record.KeyBytes == 0 ? "-"
        : "[grey](binary)[/]";

    private static string Bytes(int bytes) => bytes switch
    {
        < 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.#} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.#} MiB"),
    };

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
