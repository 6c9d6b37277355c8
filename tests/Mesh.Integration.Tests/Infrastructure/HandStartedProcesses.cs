using System.Diagnostics;
using Mesh.Client.Local;

namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>
/// Region hosts and silos started by hand from the built executables, as an operator deploys them (no <c>mesh local</c>),
/// each with its output in a log file; all killed, last started first, when disposed.
/// </summary>
public sealed class HandStartedProcesses : IAsyncDisposable
{
    private readonly List<Process> _processes = [];

    /// <param name="binary">One of <see cref="LocalMeshPaths.SiloBinary"/>, <see cref="LocalMeshPaths.RegionHostBinary"/>.</param>
    public void Start(string binary, string log, IDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(LocalMeshPaths.Binary(binary));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        var process = Process.Start(start)!;
        var writer = new StreamWriter(log) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
    }

    /// <summary>Kills every process, silos (started last) before the region hosts they use.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            await process.WaitForExitAsync();
            process.Dispose();
        }
        _processes.Clear();
    }
}
