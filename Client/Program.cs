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
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (MeshCommandException e)
{
    Console.Error.WriteLine($"mesh: {e.Message}");
    return e.ExitCode;
}
