using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Confluent.Kafka;
using Mesh.Integration.Tests.Infrastructure;
using Mesh.Kafka.Clients;

namespace Mesh.Integration.Tests;

/// <summary>
/// TLS to a region's Kafka, as far as this machine can show it: the embedded Kafka speaks no TLS, so a TLS server of
/// OpenSSL's (<c>openssl s_server</c>) stands in for a broker's listener. A client configured the way a silo configures
/// it from a region's settings (<see cref="KafkaClusterOptions.BuildConfig"/>) completes the handshake when it trusts
/// the server's CA, refuses it ("certificate verify failed") when it names another CA, and presents its own
/// certificate when the server demands one.
/// </summary>
public sealed class KafkaTlsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mesh-tests", "tls-" + Guid.NewGuid().ToString("N")[..8]);

    public KafkaTlsTests()
    {
        Directory.CreateDirectory(_dir);
        // The mesh's CA and a server certificate for 127.0.0.1 signed by it; a client certificate from the same CA; and a foreign CA.
        OpenSsl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=mesh-test-ca");
        OpenSsl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.crt", "-days", "1", "-subj", "/CN=someone-else");
        File.WriteAllText(Path.Combine(_dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        OpenSsl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
        OpenSsl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "server.ext");
        OpenSsl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=mesh-us-east");
        OpenSsl("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.crt", "-days", "1");
    }

    [Fact]
    public async Task The_client_completes_the_handshake_with_the_configured_CA()
    {
        await using var server = TlsServer.Start(_dir);
        var errors = Connect(server.Port, new() { ["security.protocol"] = "ssl", ["ssl.ca.location"] = Path.Combine(_dir, "ca.crt") });

        await server.WaitForAsync("CIPHER is");
        Assert.DoesNotContain(errors, e => e.Contains("certificate verify failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_client_refuses_a_server_whose_certificate_another_CA_signed()
    {
        await using var server = TlsServer.Start(_dir);
        var errors = Connect(server.Port, new() { ["security.protocol"] = "ssl", ["ssl.ca.location"] = Path.Combine(_dir, "other-ca.crt") });

        Assert.Contains(errors, e => e.Contains("certificate verify failed", StringComparison.Ordinal));
        Assert.DoesNotContain("CIPHER is", server.Output);
    }

    [Fact]
    public async Task The_client_presents_its_certificate_when_the_server_demands_one()
    {
        await using var server = TlsServer.Start(_dir, requireClientCertificate: true);
        var errors = Connect(server.Port, new()
        {
            ["security.protocol"] = "ssl", ["ssl.ca.location"] = Path.Combine(_dir, "ca.crt"),
            ["ssl.certificate.location"] = Path.Combine(_dir, "client.crt"), ["ssl.key.location"] = Path.Combine(_dir, "client.key"),
        });

        await server.WaitForAsync("CIPHER is");
        Assert.Contains("CN = mesh-us-east", server.Output); // s_server prints the client certificate it verified
        Assert.DoesNotContain(errors, e => e.Contains("certificate verify failed", StringComparison.Ordinal));
    }

    /// <summary>A metadata request through a client built as the silo builds its readers; what librdkafka reported meanwhile.</summary>
    private static List<string> Connect(int port, Dictionary<string, string> settings)
    {
        var cluster = new KafkaClusterOptions { BootstrapServers = $"127.0.0.1:{port}", Settings = settings };
        var config = cluster.BuildConfig(defaults: new Dictionary<string, string> { ["client.id"] = "mesh-tls-test" },
            required: new Dictionary<string, string> { ["socket.connection.setup.timeout.ms"] = "5000" });
        var errors = new ConcurrentQueue<string>();
        using (var admin = new AdminClientBuilder(config)
                   .SetErrorHandler((_, e) => errors.Enqueue(e.Reason))
                   .SetLogHandler((_, m) => errors.Enqueue(m.Message))
                   .Build())
        {
            // s_server is no Kafka broker: the request itself never gets an answer.
            try { admin.GetMetadata(TimeSpan.FromSeconds(4)); }
            catch (KafkaException) { }
        }
        return [.. errors];
    }

    private void OpenSsl(params string[] args)
    {
        var start = new ProcessStartInfo("openssl") { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"openssl {string.Join(' ', args)} failed: {stderr.Result}");
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private sealed class TlsServer : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _lines = new();

        private TlsServer(Process process, int port)
        {
            _process = process;
            Port = port;
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public int Port { get; }
        public string Output => string.Join("\n", _lines);

        public static TlsServer Start(string dir, bool requireClientCertificate = false)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            var start = new ProcessStartInfo("openssl") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            foreach (var arg in new[] { "s_server", "-accept", $"127.0.0.1:{port}", "-cert", "server.crt", "-key", "server.key" }) start.ArgumentList.Add(arg);
            if (requireClientCertificate)
                foreach (var arg in new[] { "-Verify", "1", "-CAfile", "ca.crt" }) start.ArgumentList.Add(arg);
            var server = new TlsServer(Process.Start(start)!, port);
            // Listening once it says so.
            server.WaitForAsync("ACCEPT").GetAwaiter().GetResult();
            return server;
        }

        public Task WaitForAsync(string text) =>
            Eventually.WaitAsync($"openssl s_server to print '{text}'", () => Task.FromResult(Output), o => o.Contains(text, StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), o => o.Length == 0 ? "nothing yet" : o[^Math.Min(o.Length, 400)..]);

        public async ValueTask DisposeAsync()
        {
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }
}
