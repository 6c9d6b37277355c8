using Mesh.Kafka.Native;
using Mesh.RegionHost;

var parsed = RegionHostArguments.Parse(args, out var argumentError);
if (parsed is null)
{
    if (argumentError.Length == 0)
    {
        Console.WriteLine(RegionHostArguments.Usage);
        return 0;
    }
    Console.Error.WriteLine($"Mesh.RegionHost: {argumentError}");
    Console.Error.WriteLine("Run with --help for usage.");
    return 2;
}

var region = parsed.Region;
var bootstrapFile = Path.Combine(parsed.Dir, "bootstrap");
var controlFile = Path.Combine(parsed.Dir, "control");

MockCluster? cluster = null;
ControlServer? server = null;
try
{
    Directory.CreateDirectory(parsed.Dir);
    // A reader that finds a stale `control` from an earlier run would take it as "ready".
    File.Delete(controlFile);
    File.Delete(bootstrapFile);

    NativeMethods.Load();

    cluster = MockCluster.Start(parsed.Brokers, $"mesh-regionhost-{region}", parsed.GroupJoinDelayMs);
    Log.Info(region, $"mock cluster up: {parsed.Brokers} brokers at {cluster.Bootstrap}, consumer groups wait {parsed.GroupJoinDelayMs} ms for their first members (librdkafka {KafkaNative.LoadedPath})");

    server = new ControlServer(cluster, region);
    await server.StartAsync();

    // Order matters: `control` appearing is the readiness signal, so it goes last.
    WriteAtomically(bootstrapFile, cluster.Bootstrap);
    WriteAtomically(controlFile, server.BaseUrl);
    Console.WriteLine($"bootstrap={cluster.Bootstrap}");
    Console.WriteLine($"control={server.BaseUrl}");
    Console.Out.Flush();

    await server.WaitForShutdownAsync();
    Log.Info(region, "stopping");
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"Mesh.RegionHost: failed: {e}");
    return 1;
}
finally
{
    if (server is not null)
        await server.DisposeAsync();
    cluster?.Dispose();
    if (cluster is not null)
    {
        // Only remove what is still ours: a newer host may already own the directory.
        DeleteIfContains(controlFile, server?.BaseUrl);
        DeleteIfContains(bootstrapFile, cluster.Bootstrap);
    }
}

static void WriteAtomically(string path, string content)
{
    var temp = $"{path}.{Environment.ProcessId}.tmp";
    File.WriteAllText(temp, content);
    File.Move(temp, path, overwrite: true);
}

static void DeleteIfContains(string path, string? expected)
{
    try
    {
        if (expected is { Length: > 0 } && File.Exists(path) && File.ReadAllText(path).Trim() == expected)
            File.Delete(path);
    }
    catch (IOException)
    {
        // Best effort: a leftover file is harmless once the next host deletes it on start.
    }
}
