using System.Diagnostics;
using Mesh.Client.Local;

namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>Runs the real <c>mesh</c> command line and the silo binary as child processes.</summary>
public static class MeshProcesses
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }

    public static Task<Result> MeshAsync(TimeSpan timeout, params string[] args) =>
        RunAsync(LocalMeshPaths.Binary(LocalMeshPaths.ClientBinary), args, timeout);

    /// <summary>As <see cref="MeshAsync(TimeSpan, string[])"/>, with extra environment variables, which the regions the command starts inherit.</summary>
    public static Task<Result> MeshAsync(TimeSpan timeout, IDictionary<string, string> environment, params string[] args) =>
        RunAsync(LocalMeshPaths.Binary(LocalMeshPaths.ClientBinary), args, timeout, environment);

    /// <summary>
    /// As <see cref="MeshAsync(TimeSpan, string[])"/>, but the command is SIGKILLed as soon as <paramref name="killWhen"/> holds
    /// (asked every 20 ms), as a crash or an operator's kill -9 would stop it: the result and whether it was killed.
    /// </summary>
    public static async Task<(Result Result, bool Killed)> MeshKilledWhenAsync(TimeSpan timeout, Func<bool> killWhen, params string[] args)
    {
        var killed = false;
        var result = await RunAsync(LocalMeshPaths.Binary(LocalMeshPaths.ClientBinary), args, timeout, watch: process =>
        {
            if (!killWhen()) return false;
            process.Kill(entireProcessTree: true);
            killed = true;
            return true;
        });
        return (result, killed);
    }

    public static Task<Result> SiloAsync(TimeSpan timeout, IDictionary<string, string>? environment, params string[] args) =>
        RunAsync(LocalMeshPaths.Binary(LocalMeshPaths.SiloBinary), args, timeout, environment);

    private static async Task<Result> RunAsync(string dll, string[] args, TimeSpan timeout, IDictionary<string, string>? environment = null,
        Func<Process, bool>? watch = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["NO_COLOR"] = "1";
        start.Environment["COLUMNS"] = "200";
        if (environment is not null)
            foreach (var (k, v) in environment) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var exited = process.WaitForExitAsync(cts.Token);
            // The watch runs until it has acted or the process has ended.
            while (watch is not null && !exited.IsCompleted && !watch(process))
                await Task.WhenAny(exited, Task.Delay(20, cts.Token));
            await exited;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{Path.GetFileName(dll)} {string.Join(' ', args)}' did not finish within {timeout.TotalSeconds} s");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
