using Mesh.Client.Local;

namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL server in a fresh folder (the same server a local mesh runs), stopped and
/// removed on dispose. Fails with how to install PostgreSQL when it is missing: never skipped.
/// </summary>
public sealed class ScratchPostgres : IDisposable
{
    private readonly string _dir;
    private readonly LocalPostgres _server;

    public ScratchPostgres(string name)
    {
        _dir = Path.Combine(Path.GetTempPath(), "mesh-tests", $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)]);
        Directory.CreateDirectory(_dir);
        _server = new LocalPostgres(_dir);
        Port = LocalMesh.FreePort();
        _server.Start(Port);
    }

    public int Port { get; }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public string NewDatabase(string name)
    {
        _server.CreateDatabase(Port, name);
        return LocalPostgres.ConnectionString(Port, name);
    }

    public void Dispose()
    {
        try { _server.Stop(); }
        finally
        {
            if (Environment.GetEnvironmentVariable("MESH_KEEP_TEST_DIRS") != "1")
                try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
