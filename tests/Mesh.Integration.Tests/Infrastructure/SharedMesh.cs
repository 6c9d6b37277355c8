namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>
/// One mesh for the tests of a class that leave it as they found it (each with its own topics or files), started by the
/// first test that asks for it and stopped after the class: a mesh's start is most of such a test's time. A test that
/// kills a region or applies a topology keeps a mesh of its own.
/// </summary>
public abstract class SharedMesh : IAsyncLifetime
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private TestMesh? _mesh;

    /// <summary>The folder name's start.</summary>
    protected abstract string Name { get; }

    /// <summary>Brings the regions up.</summary>
    protected abstract Task StartAsync(TestMesh mesh);

    public async Task<TestMesh> GetAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_mesh is not null) return _mesh;
            var mesh = TestMesh.InNewFolder(Name);
            try
            {
                await StartAsync(mesh);
            }
            catch
            {
                await mesh.DisposeAsync();
                throw;
            }
            return _mesh = mesh;
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_mesh is not null) await _mesh.DisposeAsync();
    }
}
