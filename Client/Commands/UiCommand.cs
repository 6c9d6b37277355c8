using System.CommandLine;
using Mesh.Client.Local;
using Mesh.Client.Ui;
using Mesh.Core.Topology;

namespace Mesh.Client.Commands;

/// <summary><c>mesh ui</c>: a live, read-only page of the whole mesh, served by this process.</summary>
internal static class UiCommand
{
    public static Command Create()
    {
        var dir = CommonOptions.Dir();
        var gateways = CommonOptions.Gateways();
        var topology = new Option<FileInfo>("--topology")
        {
            Description = "A topology file whose regions name their gateways ('gateway:'): the regions to show; with --gateways, those gateways come first",
        };
        var listen = new Option<string>("--listen")
        {
            Description = "host:port to serve the page on; an address beyond loopback (e.g. 0.0.0.0:8080) requires --token. Port 0 picks a free port",
            DefaultValueFactory = _ => ListenAddress.Default,
        };
        var token = new Option<string>("--token")
        {
            Description = "Every request must carry this token: open the page once with ?token=T (it then sets a cookie), or send Authorization: Bearer T. Required with a --listen beyond loopback",
        };
        var command = new Command("ui", "Serve a live page of the mesh: the regions and links as a graph with their states, records per second and lag; " +
            "per link and topic the counts, latency and last error; charts of throughput and lag over the last five minutes; the topology version. " +
            "It reads the mesh's status every 2 s (the same as 'mesh status', also served as JSON at /api/status) and changes nothing. " +
            "Runs until Ctrl-C. Exit code 2: bad --listen, no --token beyond loopback, an invalid topology file, the address cannot be listened on; " +
            "3: no region answers at the start")
        {
            dir, gateways, topology, listen, token,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var address = ListenAddress.Parse(parse.GetValue(listen)!);
            var secret = parse.GetValue(token);
            if (!address.IsLoopback && string.IsNullOrEmpty(secret))
                throw new MeshCommandException($"--listen {address} reaches beyond this machine: give --token T too, so that only those who have T see the mesh " +
                    "(or listen on 127.0.0.1).", 2);
            var file = parse.GetValue(topology);
            var regions = CommonOptions.Regions(parse, dir, gateways, file is null ? null : LoadTopology(file), file?.Name);

            var monitor = new MeshMonitor(cancellationToken => StatusCommand.CollectAsync(regions, cancellationToken), regions.Description, MeshMonitor.DefaultInterval);
            // Listen first: an address in use is known at once, without waiting on the regions.
            await using var server = await UiServer.StartAsync(address, secret, monitor, cancellationToken);
            var first = await monitor.PollAsync(cancellationToken)
                ?? throw new MeshCommandException($"cannot read the status of {regions.Description}: {System.Text.Json.JsonDocument.Parse(monitor.ViewJson!).RootElement.GetProperty("pollError")}", 3);
            if (first.Count > 0 && first.All(r => !r.Reachable))
                throw new MeshCommandException($"no region of {regions.Description} answers, so there is nothing to show:\n" +
                    string.Join("\n", first.Select(r => $"  {r.Region}: {r.Error}")), 3);
            foreach (var silent in first.Where(r => !r.Reachable))
                Terminal.Progress($"{silent.Region} does not answer ({silent.Error}); the page shows it as such until it does");

            var where = address.EndPoint.Address.Equals(System.Net.IPAddress.Any) || address.EndPoint.Address.Equals(System.Net.IPAddress.IPv6Any)
                ? $"on every address of this machine, port {server.Address.Port} (here: {server.Address})"
                : server.Address.ToString();
            Console.WriteLine($"mesh ui: {where} ({regions.Description}; refreshed every {monitor.Interval.TotalSeconds:0} s; Ctrl-C stops)");
            if (!string.IsNullOrEmpty(secret))
                Console.WriteLine("  open it once with ?token=<your token> (it then sets a cookie), or send Authorization: Bearer <your token>");
            await monitor.RunAsync(cancellationToken);
            return 0;
        });
        return command;
    }

    /// <exception cref="MeshCommandException">Missing or invalid (exit code 2), with every problem the validator found.</exception>
    private static Topology LoadTopology(FileInfo file)
    {
        if (!file.Exists) throw new MeshCommandException($"--topology: {file.FullName}: no such file.", 2);
        var load = Topology.Load(File.ReadAllText(file.FullName), file.Name);
        return load.Topology ?? throw new MeshCommandException(
            $"--topology: {file.Name} is invalid:\n{TopologyReport.Problems(load.Problems, file.Name).TrimEnd()}", 2);
    }
}
