using System.CommandLine;
using System.Text.Json;
using Mesh.Client.Admin;
using Mesh.Client.Local;
using Mesh.Core.Replication;
using Mesh.Core.Topology;
using Mesh.Grains;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary><c>mesh link pause|resume FROM TO</c>: stop and restart one link (or one topic of it) without changing the topology.</summary>
internal static class LinkCommand
{
    public static Command Create()
    {
        var link = new Command("link", "Pause and resume a link between two regions (or one topic of it). A paused link keeps its checkpoints: " +
            "records produced meanwhile are replicated once it resumes, exactly once. The pause is kept by the destination region's topology " +
            "and survives silo restarts, until resumed or a new topology version no longer has the link.");
        link.Subcommands.Add(Create("pause", paused: true));
        link.Subcommands.Add(Create("resume", paused: false));
        return link;
    }

    private static Command Create(string verb, bool paused)
    {
        var from = new Argument<string>("from") { Description = "The source region of the link" };
        var to = new Argument<string>("to") { Description = "The destination region of the link (pull links run there)" };
        var topic = new Option<string>("--topic") { Description = "Only this topic of the link (default: the whole link)" };
        var dir = CommonOptions.Dir();
        var gateways = CommonOptions.Gateways();
        var topologyFile = CommonOptions.TopologyFile();
        var json = CommonOptions.Json();
        var command = new Command(verb, paused
            ? "Pause the link FROM -> TO: its replicators checkpoint and stop; mesh status shows them as paused. A pull link is paused in TO, a push link in FROM (where each runs). Exit code 0: paused (or already); 2: no such link; 3: the region cannot be reached"
            : "Resume the link FROM -> TO from its checkpoints (in TO for a pull link, in FROM for a push link). Exit code 0: resumed (or was not paused); 2: no such link; 3: the region cannot be reached")
        {
            from, to, topic, dir, gateways, topologyFile, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var source = parse.GetValue(from)!;
            var destination = parse.GetValue(to)!;
            foreach (var region in new[] { source, destination })
                if (!RegionIds.IsValid(region, out var reason)) throw new MeshCommandException($"{verb}: {reason}.", 2);
            if (source == destination) throw new MeshCommandException($"{verb}: a link joins two different regions; {source} -> {destination} is none.", 2);

            var regions = CommonOptions.Regions(parse, dir, gateways, topologyFile);
            PauseResult result;
            var asked = destination;
            try
            {
                await using var connection = await regions.ConnectAsync(destination, MeshConnections.ConnectTimeout, cancellationToken);
                result = await connection.SetPausedAsync(source, parse.GetValue(topic), paused, TopologyRollout.ApplyTimeout, cancellationToken);
                if (result.Error is not null && await IsPushLinkAsync(connection, source, destination, cancellationToken))
                {
                    // A push link runs in its source region: pause it there.
                    asked = source;
                    await using var sourceConnection = await regions.ConnectAsync(source, MeshConnections.ConnectTimeout, cancellationToken);
                    result = await sourceConnection.SetPushPausedAsync(destination, parse.GetValue(topic), paused, TopologyRollout.ApplyTimeout, cancellationToken);
                }
            }
            catch (Exception e) when (MeshConnections.IsUnreachable(e, cancellationToken))
            {
                throw new MeshCommandException($"region {asked} cannot be reached: {e.Message}", 3);
            }

            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    region = result.Region,
                    link = result.Link,
                    topic = result.Topic,
                    paused = result.Paused,
                    changed = result.Changed,
                    error = result.Error,
                }, TopologyCommand.ResultJson));
            if (result.Error is not null)
            {
                Console.Error.WriteLine($"mesh: {verb} {source} -> {destination}{(result.Topic is null ? "" : $" topic {result.Topic}")}: {result.Error}");
                return 2;
            }
            if (!parse.GetValue(json))
            {
                var what = $"{result.Link}{(result.Topic is null ? "" : $" topic {result.Topic}")}";
                if (result.Changed) AnsiConsole.MarkupLineInterpolated($"[green]{what} {(result.Paused ? "paused" : "resumed")}[/] (in {result.Region})");
                else AnsiConsole.MarkupLineInterpolated($"{what} was already {(result.Paused ? "paused" : "running")}; nothing changed");
            }
            return 0;
        });
        return command;
    }

    /// <summary>Whether the topology <paramref name="destination"/> runs makes the link a push link.</summary>
    private static async Task<bool> IsPushLinkAsync(RegionConnection connection, string source, string destination, CancellationToken cancellationToken)
    {
        var applied = await connection.GetTopologyAsync(MeshConnections.ReadTimeout, cancellationToken);
        return Topology.Load(applied.Document, destination).Topology?.FindLink(source, destination) is { Mode: LinkMode.Push };
    }
}
