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
    return await root.Parse(args).InvokeAsync();
}
catch (MeshCommandException e)
{
    Console.Error.WriteLine($"mesh: {e.Message}");
    return e.ExitCode;
}
