using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Mesh.Backup;
using Mesh.Client.Local;
using Mesh.Core.Backup;

namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>
/// Azurite's blob service (Microsoft's Azure Storage emulator, the npm package pinned in
/// tests/clients; <c>./test</c> installs it) as a process on a free loopback port with its data in a
/// fresh folder, stopped and removed on dispose. Fails with how to install it when it is missing:
/// never skipped.
/// </summary>
public sealed class Azurite : IDisposable
{
    // The emulator's fixed development account (public, documented by Microsoft; not a secret).
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>Retries and timeouts short enough for tests: a local emulator answers at once or not at all.</summary>
    public static readonly AzureBlobStoreOptions TestOptions = new(1, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10));

    private readonly string _dir;
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<string> _exported = [];

    public Azurite()
    {
        var main = Path.Combine(RepositoryRoot(), "tests", "clients", "node_modules", "azurite", "dist", "src", "blob", "main.js");
        if (!File.Exists(main))
            throw new InvalidOperationException(
                $"Azurite is not installed ({main} is missing): run `npm ci` in tests/clients (./test does it; Node.js and npm come from `apt-get install nodejs npm`)");
        _dir = Path.Combine(Path.GetTempPath(), "mesh-tests", $"azurite-{Guid.NewGuid():N}"[..17]);
        Directory.CreateDirectory(_dir);
        Port = LocalMesh.FreePort();

        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     main, "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(), "--location", _dir,
                     "--silent", "--skipApiVersionCheck", "--loose",
                     // Azurite reports usage to Microsoft unless told not to; a test run sends nothing anywhere.
                     "--disableTelemetry",
                 })
            start.ArgumentList.Add(arg);
        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException("could not start node");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Directory.Delete(_dir, recursive: true);
            throw new InvalidOperationException($"cannot run Azurite: node is not installed ({e.Message}): install Node.js (`apt-get install nodejs npm`), then `npm ci` in tests/clients");
        }
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        try
        {
            WaitUntilListening(TimeSpan.FromSeconds(60));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Port { get; }

    public string BlobEndpoint => $"http://127.0.0.1:{Port}/{AccountName}";

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint={BlobEndpoint};";

    /// <summary>A store over <paramref name="container"/> (created on first write).</summary>
    public IBackupStore OpenStore(string container) => new AzureBlobStore(ConnectionString, container, TestOptions);

    /// <summary>Puts the connection string in <paramref name="variable"/> for <c>azure://container?connection-env=...</c>; removed on dispose.</summary>
    public void ExportConnection(string variable)
    {
        Environment.SetEnvironmentVariable(variable, ConnectionString);
        _exported.Add(variable);
    }

    public void Dispose()
    {
        foreach (var variable in _exported) Environment.SetEnvironmentVariable(variable, null);
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        if (Environment.GetEnvironmentVariable("MESH_KEEP_TEST_DIRS") != "1")
            try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private void WaitUntilListening(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"Azurite exited with code {_process.ExitCode} before it listened on port {Port}; it printed:\n{Output()}");
            try
            {
                using var client = new TcpClient();
                client.Connect("127.0.0.1", Port);
                return;
            }
            catch (SocketException) when (deadline.Elapsed < timeout)
            {
                Thread.Sleep(100);
            }
            catch (SocketException e)
            {
                throw new TimeoutException($"Azurite did not listen on 127.0.0.1:{Port} within {timeout.TotalSeconds:0} s ({e.Message}); it printed:\n{Output()}");
            }
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    private string Output()
    {
        lock (_output) return _output.Length == 0 ? "(nothing)" : _output.ToString();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Mesh.sln above {AppContext.BaseDirectory}");
    }
}
