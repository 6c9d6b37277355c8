using System.CommandLine;
using Mesh.Client.Local;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary><c>mesh local up|down|kill|start</c>: regions on this machine, each an embedded Kafka and a silo.</summary>
internal static class LocalCommand
{
    public static Command Create()
    {
        var local = new Command("local", "Run regions on this machine: each region is an embedded Kafka (librdkafka mock cluster) and an Orleans silo, as background processes");
        local.Subcommands.Add(Up());
        local.Subcommands.Add(Down());
        local.Subcommands.Add(Kill());
        local.Subcommands.Add(Start());
        local.Subcommands.Add(AddSilo());
        return local;
    }

    private static Command Up()
    {
        var regions = new Option<string>("--regions") { Description = "Comma-separated region ids, at least two (e.g. us-east,eu-west); not with --topology" };
        var pattern = new Option<string>("--pattern") { Description = "How the regions replicate: mesh (default: every region from every other), active-active (two regions), active-passive (with --primary), hub-spoke (with --hub)" };
        var hub = new Option<string>("--hub") { Description = "The hub region of --pattern hub-spoke" };
        var primary = new Option<string>("--primary") { Description = "The primary region of --pattern active-passive" };
        var topologyFile = new Option<FileInfo>("--topology") { Description = "A topology file (YAML or JSON, see 'mesh topology'): its regions run locally, its links and forwarding table are used" };
        var brokers = new Option<int>("--brokers") { Description = "Brokers per region's embedded Kafka", DefaultValueFactory = _ => 3 };
        var partitions = new Option<int>("--partitions") { Description = "Partitions of each topic created", DefaultValueFactory = _ => 8 };
        var topics = new Option<string>("--topics") { Description = "Comma-separated topics to create in every region", DefaultValueFactory = _ => "orders" };
        var silos = new Option<int>("--silos") { Description = "Silos per region (one Orleans cluster per region; replicators spread over its silos)", DefaultValueFactory = _ => 1 };
        var clustering = new Option<string>("--clustering")
        {
            Description = "How each region's silos form their cluster: localhost (default: the others join the first silo, which must stay up) or " +
                          "postgres (one local PostgreSQL server for the mesh, a database per region: any silo can die, the first included, and 'add-silo' adds more)",
            DefaultValueFactory = _ => LocalClustering.Localhost,
        };
        clustering.AcceptOnlyFromAmong(LocalClustering.Localhost, LocalClustering.Postgres);
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for every link to replicate", DefaultValueFactory = _ => 180 };
        var backup = new Option<string>("--backup")
        {
            Description = "Every region's silos back up continuously into this directory: every topic the mesh replicates, or with --topology " +
                          "what its 'backup:' section selects, into this directory instead of its store",
        };
        var noTls = new Option<bool>("--no-tls")
        {
            Description = "Run the silos' Orleans ports (silo to silo, gateways) in plain text. By default the mesh makes its own CA and " +
                          "certificates in <dir>/certs and every connection is mutual TLS (the admin verbs present <dir>/certs/operator.crt)",
        };
        var dir = CommonOptions.Dir();
        var command = new Command("up", "Start every region (Kafka, then silo) in full-mesh active-active replication (or the pattern or topology given), create the topics everywhere, and wait until every link replicates. Prints each region's bootstrap servers and writes them to <dir>/<region>/bootstrap; the topology the silos start from is <dir>/topology.yaml.")
        {
            regions, pattern, hub, primary, topologyFile, brokers, partitions, topics, silos, clustering, timeout, backup, noTls, dir,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var mesh = new LocalMesh(parse.GetValue(dir)!, line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]"));
            var plan = Plan(CommonOptions.SplitList(parse.GetValue(regions)), parse.GetValue(pattern), parse.GetValue(hub), parse.GetValue(primary), parse.GetValue(topologyFile));
            if (parse.GetValue(backup) is { } backupDirectory) plan = plan.WithBackup(backupDirectory);
            var state = await mesh.UpAsync(plan, parse.GetValue(brokers), parse.GetValue(partitions),
                CommonOptions.SplitList(parse.GetValue(topics)), TimeSpan.FromSeconds(parse.GetValue(timeout)), cancellationToken, parse.GetValue(silos),
                parse.GetValue(clustering)!, parse.GetValue(noTls));
            // Plain lines, never wrapped, so scripts and people can copy the bootstrap servers.
            var width = state.Regions.Max(r => r.Id.Length);
            foreach (var region in state.Regions)
            {
                Console.WriteLine($"{region.Id.PadRight(width)}  bootstrap {mesh.Bootstrap(region.Id)}  (in {mesh.Paths.BootstrapFile(region.Id)}; silo gateways {string.Join(", ", region.Silos.Select(s => $"127.0.0.1:{s.GatewayPort}"))})");
                foreach (var silo in region.Silos.Where(s => s.MetricsUrl is not null))
                    Console.WriteLine($"{region.Id.PadRight(width)}  silo {silo.Instance} metrics {silo.MetricsUrl}");
            }
            foreach (var link in state.Links)
                Console.WriteLine($"link {link.From} -> {link.To} carries records from {string.Join(", ", link.Origins)}{(link.Push ? $" (push: runs in {link.From})" : "")}");
            if (state.Postgres is { } postgres)
                Console.WriteLine($"membership: PostgreSQL on 127.0.0.1:{postgres.Port} (data in {postgres.DataDir}), one database per region ({string.Join(", ", state.Regions.Select(r => r.Database))})");
            if (plan.Document.Backup is { } backing)
                Console.WriteLine($"backup: every region's silos back up {(backing.Topics is { } listed ? string.Join(", ", listed) : "every replicated topic")} to {backing.Store}");
            Console.WriteLine($"topology version {state.TopologyVersion} in {mesh.Paths.TopologyFile}: to change it, edit a copy, raise its version and 'mesh topology apply <copy> --dir {mesh.Paths.Root}'");
            AnsiConsole.MarkupLineInterpolated($"[green]{state.Regions.Count} regions replicating[/] topics {string.Join(", ", state.Topics)}, {state.Topology}. Stop with: mesh local down --dir {mesh.Paths.Root}");
            return 0;
        });
        return command;
    }

    private static LocalTopologyPlan Plan(List<string> regions, string? pattern, string? hub, string? primary, FileInfo? topology)
    {
        if (topology is not null)
        {
            if (regions.Count > 0 || pattern is not null || hub is not null || primary is not null)
                throw new MeshCommandException("--topology names the regions and the pattern itself; leave out --regions, --pattern, --hub and --primary.", 2);
            return LocalTopologyPlan.FromFile(topology.FullName);
        }
        if (regions.Count == 0)
            throw new MeshCommandException("--regions is required (e.g. --regions us-east,eu-west), unless you give --topology <file>.", 2);
        if (hub is not null && pattern != "hub-spoke")
            throw new MeshCommandException("--hub goes with --pattern hub-spoke.", 2);
        if (primary is not null && pattern != "active-passive")
            throw new MeshCommandException("--primary goes with --pattern active-passive.", 2);
        LocalMesh.ValidateRegions(regions);
        return pattern is null ? LocalTopologyPlan.FullMesh(regions) : LocalTopologyPlan.FromPattern(regions, pattern, hub, primary);
    }

    private static Command Down()
    {
        var dir = CommonOptions.Dir();
        var command = new Command("down", "Stop every process of the local mesh (silos first, then Kafka, then its PostgreSQL if it has one); nothing is left running") { dir };
        command.SetAction(async (parse, _) =>
        {
            var mesh = new LocalMesh(parse.GetValue(dir)!);
            await mesh.DownAsync();
            Console.WriteLine($"Local mesh in {mesh.Paths.Root} stopped.");
            return 0;
        });
        return command;
    }

    private static Command Kill()
    {
        var region = new Argument<string>("region") { Description = "Region to kill" };
        var silo = new Option<bool>("--silo") { Description = "Kill only the region's silos" };
        var instance = new Option<int?>("--instance") { Description = "With --silo: only this silo of the region (1 is the first; under postgres clustering any of them, the first included, can die alone)" };
        var kafka = new Option<bool>("--kafka") { Description = "Kill only the region's Kafka host (its embedded Kafka loses its data)" };
        var dir = CommonOptions.Dir();
        var command = new Command("kill", "SIGKILL a region's processes: all of them, or only its silos (or one of them) or its Kafka host") { region, silo, instance, kafka, dir };
        command.SetAction(async (parse, _) =>
        {
            var mesh = new LocalMesh(parse.GetValue(dir)!);
            var onlySilo = parse.GetValue(silo);
            var onlyKafka = parse.GetValue(kafka);
            var both = onlySilo == onlyKafka;
            var one = parse.GetValue(instance);
            if (one is not null && !onlySilo) throw new MeshCommandException("--instance goes with --silo.", 2);
            var name = parse.GetValue(region)!;
            var killed = await mesh.KillAsync(name, both || onlySilo, both || onlyKafka, one);
            Console.WriteLine(killed.Count == 0 ? $"Nothing of {name} was running." :
                $"Killed {name}'s {string.Join(" and ", killed)}{(both || onlyKafka ? $" (its embedded Kafka lost its data: 'mesh local start {name}' brings it back empty)" : "")}.");
            return 0;
        });
        return command;
    }

    private static Command Start()
    {
        var region = new Argument<string>("region") { Description = "Region to start" };
        var dir = CommonOptions.Dir();
        var command = new Command("start", "Start whatever of a region is not running (the mesh's PostgreSQL, its Kafka host, the silos that are down; under localhost clustering all silos when the first is down)") { region, dir };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var mesh = new LocalMesh(parse.GetValue(dir)!, line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]"));
            var started = await mesh.StartAsync(parse.GetValue(region)!, cancellationToken);
            Console.WriteLine(started.Count == 0 ? "Everything was already running." : $"Started {string.Join(", ", started)}.");
            return 0;
        });
        return command;
    }

    private static Command AddSilo()
    {
        var region = new Argument<string>("region") { Description = "Region to add a silo to" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the new silo to answer", DefaultValueFactory = _ => 120 };
        var dir = CommonOptions.Dir();
        var command = new Command("add-silo", "Start one more silo in a running region, on new ports (its instance is the highest so far plus one). " +
                                              "The region's replicators spread over it within seconds; 'mesh status' shows partitions per silo.") { region, timeout, dir };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var mesh = new LocalMesh(parse.GetValue(dir)!, line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]"));
            var name = parse.GetValue(region)!;
            var silo = await mesh.AddSiloAsync(name, TimeSpan.FromSeconds(parse.GetValue(timeout)), cancellationToken);
            Console.WriteLine($"{name}: silo {silo.Instance} answering, gateway 127.0.0.1:{silo.GatewayPort} (silo port {silo.SiloPort}; metrics {silo.MetricsUrl}; log {mesh.Paths.SiloLog(name, silo.Instance)}). " +
                              $"Stop it with: mesh local kill {name} --silo --instance {silo.Instance} --dir {mesh.Paths.Root}");
            return 0;
        });
        return command;
    }
}
