using System.CommandLine;
using Mesh.Client.Commands;
using Mesh.Client.Local;
using Mesh.Kafka.Native;

// `mesh`: the admin command line. Each verb lives in Commands/.
KafkaNative.EnsureLoaded();
var root = new RootCommand("mesh: Kafka geo-replication across regions, with identical topic names, no loops and no duplicates")
{
    LocalCommand.Create(),
    StatusCommand.Create(),
    DemoCommand.Create(),
    TopologyCommand.Create(),
};
try
{
    // Our own errors carry an exit code and a message meant for the operator, not a stack trace.
    // Ctrl-C cancels the verb, which then stops whatever it started; give that time to finish.
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration
    {
        EnableDefaultExceptionHandler = false,
        ProcessTerminationTimeout = TimeSpan.FromSeconds(90),
    });
}
catch (MeshCommandException e)
{
    Console.Error.WriteLine($"mesh: {e.Message}");
    return e.ExitCode;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("mesh: cancelled");
    return 130;
}
catch (Exception e)
{
    Console.Error.WriteLine($"mesh: {e.GetType().Name}: {e.Message}");
    Console.Error.WriteLine("(run with MESH_DEBUG=1 for the stack trace)");
    if (Environment.GetEnvironmentVariable("MESH_DEBUG") == "1") Console.Error.WriteLine(e);
    return 1;
}
