using System.CommandLine;
using System.Text.Json;
using Mesh.Client.Admin;
using Mesh.Client.Local;
using Mesh.Core.Replication;
using Mesh.Grains;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary><c>mesh region rebuild REGION</c>: refill a region that lost records from its peers.</summary>
internal static class RegionCommand
{
    public static Command Create()
    {
        var region = new Command("region", "Act on one region as a whole");
        region.Subcommands.Add(Rebuild());
        return region;
    }

    private static Command Rebuild()
    {
        var target = new Argument<string>("region") { Description = "The region to refill" };
        var topic = new Option<string>("--topic") { Description = "Only this topic (default: every topic replicated into the region)" };
        var force = new Option<bool>("--force") { Description = "Re-read every partition into the region even if none lost records (safe: what the region holds is not written twice)" };
        var dir = CommonOptions.Dir();
        var gateways = CommonOptions.Gateways();
        var topologyFile = CommonOptions.TopologyFile();
        var json = CommonOptions.Json();
        var command = new Command("rebuild",
            "Refill REGION from its peers: every partition replicated into it that stopped because REGION lost records (a topic deleted and re-created, " +
            "a partition shorter than the mesh wrote) re-reads its source from the start; what REGION still holds is found and not written again, and " +
            "REGION's own records from before the loss come back from the peer that holds them. A region whose Kafka came back as a new cluster is " +
            "rebuilt without asking; 'mesh status' shows the progress per topic. Exit code 0: rebuilding; 2: bad input, or nothing in REGION lost " +
            "records (use --force to re-read anyway); 3: a region cannot be reached (nothing was changed)")
        {
            target, topic, force, dir, gateways, topologyFile, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var destination = parse.GetValue(target)!;
            if (!RegionIds.IsValid(destination, out var invalid)) throw new MeshCommandException($"region rebuild: {invalid}.", 2);
            var regions = CommonOptions.Regions(parse, dir, gateways, topologyFile);
            if (!regions.Regions.Contains(destination))
                throw new MeshCommandException($"region rebuild: {destination} is not a region of {regions.Description} (its regions: {string.Join(", ", regions.Regions)}).", 2);

            // Every region first: a rebuild asked of some regions and not others would refill part of the links.
            await using var connections = await MeshConnections.OpenAsync(regions, regions.Regions, cancellationToken);
            if (connections.Unreachable.Count > 0)
                throw new MeshCommandException("region rebuild: " + string.Join("; ", connections.Unreachable.Select(u => $"{u.Key} cannot be reached ({u.Value})")) +
                                               ". Nothing was changed; start it or try again.", 3);
            var rebuildTopic = parse.GetValue(topic);
            if (!parse.GetValue(force))
            {
                // Healthy (nothing stopped for lost records): nothing to do, and nothing is changed.
                var statuses = await Task.WhenAll(connections.Open.Values.Select(c => c.GetStatusAsync(MeshConnections.ReadTimeout)));
                var needing = statuses.SelectMany(s => s.InboundLinks.Concat(s.PushLinks ?? []))
                    .Where(l => l.Destination == destination)
                    .SelectMany(l => l.Topics.Where(t => rebuildTopic is null || t.Topic == rebuildTopic).SelectMany(t => t.PartitionDetail))
                    .Count(p => p.NeedsRebuild);
                if (needing == 0)
                    throw new MeshCommandException($"region rebuild: no partition replicated into {destination}{(rebuildTopic is null ? "" : $" (topic {rebuildTopic})")} stopped for lost records; " +
                                                   "nothing was changed. A region whose Kafka came back empty is rebuilt on its own ('mesh status' shows the progress). " +
                                                   "To re-read every partition anyway, add --force.", 2);
            }
            var results = new List<RebuildResult>();
            foreach (var connection in connections.Open.Values.OrderBy(c => c.Region, StringComparer.Ordinal))
            {
                try
                {
                    results.Add(await connection.RebuildAsync(destination, rebuildTopic, parse.GetValue(force), TopologyRollout.ApplyTimeout, cancellationToken));
                }
                catch (Exception e) when (MeshConnections.IsUnreachable(e, cancellationToken))
                {
                    throw new MeshCommandException($"region rebuild: {connection.Region} stopped answering ({e.Message}); the regions before it " +
                                                   $"({string.Join(", ", results.Select(r => r.Region))}) began their part. Run the command again once it answers.", 3);
                }
            }
            var partitions = results.Sum(r => r.PartitionsRebuilding);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    region = destination,
                    topic = rebuildTopic,
                    force = parse.GetValue(force),
                    partitionsRebuilding = partitions,
                    links = results.SelectMany(r => r.Links.Select(l => new { link = l, runsIn = r.Region })),
                }, TopologyCommand.ResultJson));
            }
            else
            {
                foreach (var result in results.Where(r => r.Links.Count > 0))
                    Console.WriteLine($"{result.Region}: {string.Join(", ", result.Links)}: {result.PartitionsRebuilding} partitions rebuilding");
                AnsiConsole.MarkupLineInterpolated($"[green]{destination}: {partitions} partitions re-read from their sources[/]; follow the progress with 'mesh status'.");
            }
            return partitions > 0 ? 0 : 2;
        });
        return command;
    }
}
