using System.Diagnostics;

namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>
/// kcat (Debian's package; <c>./test</c> installs it), an outside Kafka client, to write records the
/// way an operator or an application other than ours would.
/// </summary>
public static class Kcat
{
    /// <summary>Produces <c>key:value</c> lines into one partition, each with the given headers (name=value).</summary>
    public static async Task ProduceAsync(string bootstrap, string topic, int partition, IEnumerable<string> keyValueLines, params string[] headers)
    {
        var args = new List<string> { "-P", "-b", bootstrap, "-t", topic, "-p", partition.ToString(), "-K", ":" };
        foreach (var header in headers) args.AddRange(["-H", header]);
        var result = await RunAsync(args, string.Join('\n', keyValueLines) + "\n");
        if (result.ExitCode != 0) throw new InvalidOperationException($"kcat {string.Join(' ', args)} failed (exit {result.ExitCode}): {result.Stderr}");
    }

    /// <summary>Every record of a topic in one region as <c>partition|key|value|headers</c> lines.</summary>
    /// <param name="settings">librdkafka settings for the consumer, <c>name=value</c> (e.g. <c>isolation.level=read_committed</c>).</param>
    public static async Task<List<string>> ReadAllAsync(string bootstrap, string topic, params string[] settings)
    {
        var result = await RunAsync(["-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-f", "%p|%k|%s|%h\\n", .. settings.SelectMany(s => new[] { "-X", s })], null);
        if (result.ExitCode != 0) throw new InvalidOperationException($"kcat -C {topic} failed (exit {result.ExitCode}): {result.Stderr}");
        return [.. result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IEnumerable<string> args, string? stdin)
    {
        var start = new ProcessStartInfo("kcat")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start kcat");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kcat {string.Join(' ', args)} did not finish within a minute");
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}
