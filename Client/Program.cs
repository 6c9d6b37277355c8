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
    MigrateCommand.Create(),
    LinkCommand.Create(),
    QuarantineCommand.Create(),
    AuditCommand.Create(),
    RegionCommand.Create(),
    DrillCommand.Create(),
    FailoverCommand.Create(),
    RestoreCommand.Create(),
    BackupCommand.Create(),
    BenchCommand.Create(),
    UiCommand.Create(),
    CertsCommand.Create(),
};
try
{
    // Our own errors carry an exit code and a message meant for the operator, not a stack trace.
    var parsed = root.Parse(args);
    if (parsed.Errors.Count > 0)
    {
        // Usage errors exit 2, like every other "you asked for something invalid" in mesh.
        foreach (var error in parsed.Errors) Console.Error.WriteLine($"mesh: {error.Message}");
        var path = new List<string>();
        for (var result = parsed.CommandResult; result.Parent is System.CommandLine.Parsing.CommandResult parent; result = parent)
            path.Insert(0, result.Command.Name);
        Console.Error.WriteLine($"Run '{string.Join(' ', ["mesh", .. path, "--help"])}' for usage.");
        return 2;
    }
    // Ctrl-C cancels the verb, which then stops whatever it started; give that time to finish.
    return await parsed.InvokeAsync(new InvocationConfiguration
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
catch (UnauthorizedAccessException e)
{
    // A region refused the call for the role of the certificate this client presented; nothing was changed.
    Console.Error.WriteLine($"mesh: {e.Message}");
    return 6;
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
