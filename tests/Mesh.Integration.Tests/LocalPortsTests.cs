using Mesh.Client.Local;

namespace Mesh.Integration.Tests;

/// <summary>
/// Ports a local mesh hands its silos are kept back until they are bound, across processes too: a 'mesh local up' or a
/// 'mesh bench' beside the suite once picked a port another process had picked a moment earlier, and a silo could not bind.
/// </summary>
public sealed class LocalPortsTests
{
    [Fact]
    public void Every_port_handed_out_is_distinct_and_reserved_on_disk_for_other_processes()
    {
        var ports = Enumerable.Range(0, 50).Select(_ => LocalMesh.FreePort()).ToList();
        Assert.Equal(ports.Count, ports.Distinct().Count());
        var folder = Path.Combine(Path.GetTempPath(), "mesh-local-ports");
        foreach (var port in ports)
        {
            var file = Path.Combine(folder, $"{port}");
            Assert.True(File.Exists(file), $"port {port} was handed out without a reservation in {folder}");
            Assert.True(DateTime.UtcNow - File.GetLastWriteTimeUtc(file) < TimeSpan.FromMinutes(1), $"{file} is not this hand-out's");
        }
    }
}
