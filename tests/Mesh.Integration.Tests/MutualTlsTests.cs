using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Mesh.Client.Admin;
using Mesh.Client.Local;
using Mesh.Core.Security;
using Mesh.Grains;
using Mesh.Integration.Tests.Infrastructure;
using Mesh.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Connections.Security;

namespace Mesh.Integration.Tests;

/// <summary>
/// Mutual TLS on a local mesh as <c>mesh local up</c> makes it (its own CA in &lt;dir&gt;/certs): a client without a
/// certificate, or with one from another CA, gets no grain call through the gateway; a certificate of the mesh that is
/// not a silo of the region gets nothing through the silo port; every refusal is in the silo's log with the peer's
/// address; garbage on either port never stops the silo replicating.
/// </summary>
public sealed class MutualTlsTests(MutualTlsTests.TwoRegions regions) : IClassFixture<MutualTlsTests.TwoRegions>
{
    private const string Topic = "orders";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    public sealed class TwoRegions : SharedMesh
    {
        protected override string Name => "mtls";

        protected override Task StartAsync(TestMesh mesh) => mesh.UpAsync(["a", "b"], partitions: 2, Topic);
    }

    [Fact]
    public async Task The_local_operator_and_reader_reach_the_regions_and_a_client_without_a_certificate_calls_no_grain()
    {
        var mesh = await regions.GetAsync();
        var gateway = Gateway(mesh, "a");

        var asOperator = await MeshProcesses.MeshAsync(Wait, "status", "--json", "--dir", mesh.Dir);
        var asReader = await MeshProcesses.MeshAsync(Wait, new Dictionary<string, string> { [LocalMesh.LocalRoleVariable] = LocalMesh.ReadOnlyHolder },
            "status", "--json", "--dir", mesh.Dir);
        Assert.True(asOperator.ExitCode == 0, asOperator.ToString());
        Assert.True(asReader.ExitCode == 0, asReader.ToString());

        // The admin client's own path without a certificate: the Orleans client never gets its connection, and says why.
        var refused = await Assert.ThrowsAsync<IOException>(() =>
            RegionConnection.ConnectAsync("a", "mesh-a", "mesh", [gateway], TimeSpan.FromSeconds(15)));
        Assert.Contains("require mutual TLS and this client has no mesh certificate", refused.Message);
        Assert.Contains(ClientCredentials.CertificateVariable, refused.Message);

        await AssertLoggedAsync(mesh, "a", "Refused a connection to the gateway from 127.0.0.1:", "no certificate of the mesh was presented");
    }

    [Fact]
    public async Task A_certificate_from_another_CA_is_refused_by_the_gateway_and_no_grain_is_called()
    {
        var mesh = await regions.GetAsync();
        var gateway = Gateway(mesh, "a");
        var now = DateTimeOffset.UtcNow;
        using var foreignCa = MeshCertificates.CreateAuthority("Mesh local CA mtls", TimeSpan.FromDays(30), now);
        using var foreign = MeshCertificates.Issue(foreignCa, MeshRole.Operator, "operator", [], TimeSpan.FromDays(1), now);

        // An Orleans client that presents the foreign certificate and accepts any server: only the gateway can stop it.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client =>
        {
            var tls = new TlsOptions { LocalCertificate = foreign, ClientCertificateMode = RemoteCertificateMode.RequireCertificate };
            tls.AllowAnyRemoteCertificate();
            client.Configure<ClientConnectionOptions>(o => o.ConfigureConnection(b => b.UseClientTls(tls)));
            client.UseStaticClustering(gateway);
            client.Configure<ClusterOptions>(o => { o.ClusterId = "mesh-a"; o.ServiceId = "mesh"; });
        });
        using var host = builder.Build();
        // The client retries a refused gateway until its deadline: any answer at all within 10 s would be a failure.
        var called = await CallStatusAsync(host, TimeSpan.FromSeconds(10));
        Assert.False(called.Answered, $"a client with a foreign certificate got an answer from region a's silo: {called.Error}");

        // The same refusal as the admin client sees it, before any Orleans client starts.
        var files = Directory.CreateTempSubdirectory("mesh-foreign-").FullName;
        try
        {
            MeshCertificates.Save(foreignCa, Path.Combine(files, "ca.crt"), null);
            MeshCertificates.Save(foreign, Path.Combine(files, "operator.crt"), Path.Combine(files, "operator.key"));
            using var credentials = MeshCredentials.Load(MeshTlsFiles.InFolder(files, "operator"), now);
            var refused = await Assert.ThrowsAsync<IOException>(() =>
                RegionConnection.ConnectAsync("a", "mesh-a", "mesh", [gateway], TimeSpan.FromSeconds(8), credentials: credentials));
            Assert.Contains("cannot reach region a's silos over mutual TLS", refused.Message);
            Assert.Contains("was not issued by this mesh's CA", refused.Message); // we refuse its silo as well: neither trusts the other
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
        await AssertLoggedAsync(mesh, "a", "Refused a connection to the gateway from 127.0.0.1:", "was not issued by this mesh's CA");
    }

    [Fact]
    public async Task The_silo_port_takes_only_silos_of_its_own_region()
    {
        var mesh = await regions.GetAsync();
        var siloPort = new IPEndPoint(IPAddress.Loopback, mesh.Local.State.Region("a").Silos[0].SiloPort);

        foreach (var (holder, expected) in new[]
                 {
                     (LocalMesh.OperatorHolder, "it is the operator 'operator', not a silo of region a"),
                     (LocalMesh.SiloHolder("b"), "it is the silo of region b, not a silo of region a"),
                 })
        {
            using var credentials = MeshCredentials.Load(mesh.Local.CertificateFiles(holder), DateTimeOffset.UtcNow);
            Assert.False(await HandshakeAsync(siloPort, credentials.Certificate), $"region a's silo port accepted {holder}'s certificate");
            await AssertLoggedAsync(mesh, "a", "Refused a connection to the silo port from 127.0.0.1:", expected);
        }
        using var own = MeshCredentials.Load(mesh.Local.CertificateFiles(LocalMesh.SiloHolder("a")), DateTimeOffset.UtcNow);
        Assert.True(await HandshakeAsync(siloPort, own.Certificate), "region a's silo port refused region a's own silo certificate");
    }

    [Fact]
    public async Task Random_bytes_and_truncated_TLS_records_on_both_ports_leave_the_silo_replicating()
    {
        var mesh = await regions.GetAsync();
        var silo = mesh.Local.State.Region("a").Silos[0];
        var pid = mesh.Local.SiloPid("a");
        var random = new Random(20261205);
        foreach (var port in new[] { silo.GatewayPort, silo.SiloPort })
        {
            for (var i = 0; i < 40; i++)
            {
                var payload = (i % 4) switch
                {
                    0 => RandomBytes(random, random.Next(1, 4096)),
                    // A TLS handshake record header announcing more than follows, then silence.
                    1 => [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03, .. RandomBytes(random, random.Next(0, 200))],
                    // A record header with an impossible length.
                    2 => [0x16, 0x03, 0x03, 0xFF, 0xFF, .. RandomBytes(random, 64)],
                    // An Orleans-looking preamble in clear text.
                    _ => [0x00, 0x00, 0x00, 0x10, .. RandomBytes(random, 16)],
                };
                await SendAndCloseAsync(new IPEndPoint(IPAddress.Loopback, port), payload, closeAbruptly: i % 2 == 0);
            }
        }

        Assert.Equal(pid, mesh.Local.SiloPid("a"));
        var before = mesh.RecordCount("b", Topic);
        await Kcat.ProduceAsync(mesh.Local.Bootstrap("a"), Topic, 0, Enumerable.Range(0, 25).Select(i => $"fuzz{i}:v{i}"));
        await Eventually.WaitAsync("b to hold a's 25 records after the garbage", () => Task.FromResult(mesh.RecordCount("b", Topic)), n => n == before + 25, Wait);
        var status = await MeshProcesses.MeshAsync(Wait, "status", "--json", "--dir", mesh.Dir);
        Assert.True(status.ExitCode == 0, status.ToString());
    }

    [Fact]
    public async Task A_reader_reads_and_cannot_change_anything_an_operator_can_and_the_audit_log_shows_who_did()
    {
        var mesh = await regions.GetAsync();
        var reader = new Dictionary<string, string> { [LocalMesh.LocalRoleVariable] = LocalMesh.ReadOnlyHolder };
        var before = await MeshProcesses.MeshAsync(Wait, reader, "topology", "get", "--json", "--dir", mesh.Dir);
        Assert.True(before.ExitCode == 0, before.ToString());
        var version = mesh.Local.State.TopologyVersion;
        var next = Path.Combine(mesh.Dir, $"roles-v{version + 1}.yaml");
        await File.WriteAllTextAsync(next, (await File.ReadAllTextAsync(mesh.Local.Paths.TopologyFile)).Replace($"version: {version}\n", $"version: {version + 1}\n"));

        // The reader: status yes; apply, pause and rebuild no, each refused naming the role, and nothing changes.
        var status = await MeshProcesses.MeshAsync(Wait, reader, "status", "--json", "--dir", mesh.Dir);
        Assert.True(status.ExitCode == 0, status.ToString());
        foreach (var change in new[] { new[] { "topology", "apply", next }, ["link", "pause", "a", "b"], ["region", "rebuild", "b", "--force"] })
        {
            var refused = await MeshProcesses.MeshAsync(Wait, reader, [.. change, "--dir", mesh.Dir]);
            Assert.True(refused.ExitCode == 6, $"mesh {string.Join(' ', change)} as read-only: {refused}");
            Assert.Contains("needs the operator role; the caller is the read-only 'read-only'", refused.Stderr);
            Assert.Contains("nothing was changed", refused.Stderr);
        }
        foreach (var region in new[] { "a", "b" })
            Assert.Equal(version, (await mesh.StatusAsync(region)).TopologyVersion);
        await AssertLoggedAsync(mesh, "b", "Refused Mesh.Grains.ITopologyGrain.SetPausedAsync from read-only 'read-only'", "needs the operator role");

        // The operator: the same apply goes through, and the audit log says who changed what, from which version to which.
        var applied = await MeshProcesses.MeshAsync(Wait, "topology", "apply", next, "--dir", mesh.Dir);
        Assert.True(applied.ExitCode == 0, applied.ToString());
        var changes = await MeshProcesses.MeshAsync(Wait, reader, "status", "--json", "--changes", "10", "--dir", mesh.Dir);
        Assert.True(changes.ExitCode == 0, changes.ToString());
        var entries = System.Text.Json.JsonDocument.Parse(changes.Stdout).RootElement.GetProperty("changes").EnumerateArray()
            .Where(e => e.GetProperty("what").GetString()!.StartsWith("ApplyAsync", StringComparison.Ordinal)
                        && e.GetProperty("versionAfter").GetInt64() == version + 1).ToList();
        Assert.Equal(["a", "b"], entries.Select(e => e.GetProperty("region").GetString()).Order());
        Assert.All(entries, e =>
        {
            Assert.Equal("operator", e.GetProperty("who").GetString());
            Assert.Equal("operator", e.GetProperty("role").GetString());
            Assert.Equal(version, e.GetProperty("versionBefore").GetInt64());
            Assert.Equal("applied", e.GetProperty("outcome").GetString());
        });
    }

    private static IPEndPoint Gateway(TestMesh mesh, string region) => new(IPAddress.Loopback, mesh.Local.State.Region(region).Silos[0].GatewayPort);

    private static async Task<(bool Answered, string? Error)> CallStatusAsync(IHost host, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await host.StartAsync(deadline.Token);
            var client = host.Services.GetRequiredService<IClusterClient>();
            await client.GetGrain<IRegionGrain>("a").GetStatusAsync().WaitAsync(deadline.Token);
            return (true, null);
        }
        catch (Exception e)
        {
            return (false, e.Message);
        }
        finally
        {
            try { await host.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token); } catch (Exception) { /* never started */ }
        }
    }

    /// <summary>
    /// A TLS handshake presenting <paramref name="certificate"/> and accepting any server: true when the server accepted us.
    /// The server may check our certificate after its side of the handshake (SslStream on Linux does) and then close, so an
    /// accepted connection is one still open and silent (the silo waits for the Orleans preamble) several seconds later.
    /// </summary>
    private static async Task<bool> HandshakeAsync(IPEndPoint endpoint, X509Certificate2 certificate)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endpoint);
        await using var stream = new SslStream(new NetworkStream(socket, ownsSocket: false));
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "mesh",
                ClientCertificates = [certificate],
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }, deadline.Token);
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            return false;
        }
        using var settle = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            return await stream.ReadAsync(new byte[1], settle.Token) > 0;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task SendAndCloseAsync(IPEndPoint endpoint, byte[] payload, bool closeAbruptly)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endpoint);
        try
        {
            await socket.SendAsync(payload);
        }
        catch (SocketException)
        {
            // The silo may have closed on the first bad byte: what matters is that it lives.
        }
        if (closeAbruptly) socket.LingerState = new LingerOption(true, 0); // RST instead of FIN
        socket.Close();
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private static Task AssertLoggedAsync(TestMesh mesh, string region, string start, string reason) =>
        Eventually.WaitAsync($"region {region}'s silo to log '{start} ... {reason}'",
            () => Task.FromResult(File.ReadAllLines(mesh.Local.Paths.SiloLog(region, 1))
                .Any(l => l.Contains(start, StringComparison.Ordinal) && l.Contains(reason, StringComparison.Ordinal))),
            found => found, TimeSpan.FromSeconds(30));
}
