using System.Diagnostics;
using Mesh.Client.Local;

namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>
/// One embedded Kafka (a region host process with one broker) and nothing else: for tests of a Kafka client of the
/// silo's own, where silos would only add noise.
/// </summary>
public sealed class LoneKafka : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private LoneKafka(Process process, string dir, string bootstrap, string control)
    {
        _process = process;
        _dir = dir;
        Bootstrap = bootstrap;
        Control = control;
    }

    public string Bootstrap { get; }
    public string Control { get; }

    public static async Task<LoneKafka> StartAsync(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "mesh-tests", $"{name}-{Guid.NewGuid().ToString("N")[..8]}");
        var kafka = Path.Combine(dir, "kafka");
        Directory.CreateDirectory(kafka);
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { LocalMeshPaths.Binary(LocalMeshPaths.RegionHostBinary), "--dir", kafka, "--brokers", "1", "--region", name })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        var log = new StreamWriter(Path.Combine(dir, "kafka.log")) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var control = Path.Combine(kafka, "control");
        await Eventually.WaitAsync($"the region host to write {control}", () => Task.FromResult(File.Exists(control) || process.HasExited), done => done,
            TimeSpan.FromSeconds(60));
        if (process.HasExited) throw new InvalidOperationException($"the region host exited with {process.ExitCode}; see {Path.Combine(dir, "kafka.log")}");
        return new LoneKafka(process, dir, (await File.ReadAllTextAsync(Path.Combine(kafka, "bootstrap"))).Trim(),
            (await File.ReadAllTextAsync(control)).Trim().TrimEnd('/'));
    }

    public async Task CreateTopicAsync(string topic, int partitions)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        (await http.PutAsync($"{Control}/topics/{Uri.EscapeDataString(topic)}?partitions={partitions}", null)).EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        await _process.WaitForExitAsync();
        _process.Dispose();
        if (Environment.GetEnvironmentVariable("MESH_KEEP_TEST_DIRS") != "1")
            try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
