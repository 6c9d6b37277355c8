using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Core.Security;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Connections.Security;

namespace Mesh.Security;

/// <summary>The PEM files a silo or an admin client proves itself with, and the CA it trusts (the mesh's, alone).</summary>
public sealed record MeshTlsFiles(string CaFile, string CertificateFile, string KeyFile, string? CrlFile = null)
{
    /// <summary>The files <c>mesh certs</c> and <c>mesh local up</c> write for a holder named <paramref name="name"/> in <paramref name="folder"/>.</summary>
    public static MeshTlsFiles InFolder(string folder, string name) =>
        new(Path.Combine(folder, CaCertificateFileName), Path.Combine(folder, $"{name}.crt"), Path.Combine(folder, $"{name}.key"),
            File.Exists(Path.Combine(folder, CrlFileName)) ? Path.Combine(folder, CrlFileName) : null);

    public const string CaCertificateFileName = "ca.crt";
    public const string CaKeyFileName = "ca.key";
    public const string CrlFileName = "revoked.crl";
}

/// <summary>A certificate the mesh refuses to start with: which file, what is wrong, how to fix it.</summary>
public sealed class MeshTlsException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A holder's certificate and key, checked against the mesh's CA when loaded, and the CA it checks its peers against.</summary>
public sealed class MeshCredentials : IDisposable
{
    private MeshCredentials(X509Certificate2 authority, X509Certificate2 certificate, MeshIdentity identity, RevokedSerials? revoked, MeshTlsFiles files)
    {
        Authority = authority;
        Certificate = certificate;
        Identity = identity;
        Revoked = revoked;
        Files = files;
    }

    public X509Certificate2 Authority { get; }
    public X509Certificate2 Certificate { get; }
    public MeshIdentity Identity { get; }
    public RevokedSerials? Revoked { get; }
    public MeshTlsFiles Files { get; }

    /// <summary>
    /// Loads and checks the files: each exists and parses, the key belongs to the certificate, the certificate is the mesh
    /// CA's, valid now, not revoked, and carries a mesh role. Nothing starts half-secured: any problem throws.
    /// </summary>
    /// <exception cref="MeshTlsException">Naming the setting's file and the fix.</exception>
    public static MeshCredentials Load(MeshTlsFiles files, DateTimeOffset now)
    {
        foreach (var (file, what) in new[] { (files.CaFile, "CA certificate"), (files.CertificateFile, "certificate"), (files.KeyFile, "private key") })
            if (!File.Exists(file))
                throw new MeshTlsException($"{what} file '{file}' does not exist (create the CA and certificates with 'mesh certs init' and 'mesh certs issue')");
        X509Certificate2 authority;
        try
        {
            authority = MeshCertificates.LoadCertificate(files.CaFile);
        }
        catch (CryptographicException e)
        {
            throw new MeshTlsException($"CA certificate file '{files.CaFile}' holds no PEM certificate ({e.Message})", e);
        }
        X509Certificate2 certificate;
        try
        {
            certificate = MeshCertificates.LoadWithKey(files.CertificateFile, files.KeyFile);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new MeshTlsException($"certificate '{files.CertificateFile}' with key '{files.KeyFile}' cannot be loaded: {e.Message} " +
                                       "(the key file must be the PEM private key issued with that certificate)", e);
        }
        RevokedSerials? revoked = null;
        if (files.CrlFile is { } crl)
        {
            if (!File.Exists(crl)) throw new MeshTlsException($"revocation list '{crl}' does not exist (write one with 'mesh certs revoke', or remove the setting)");
            try
            {
                revoked = RevokedSerials.Load(crl, authority);
            }
            catch (InvalidDataException e)
            {
                throw new MeshTlsException(e.Message, e);
            }
        }
        var (identity, refusal) = MeshCertificates.Verify(certificate, authority, now, revoked);
        if (identity is null) throw new MeshTlsException($"certificate '{files.CertificateFile}': {refusal}");
        return new MeshCredentials(authority, certificate, identity, revoked, files);
    }

    /// <summary>Checks a peer's certificate against the CA (and the revocation list) at <paramref name="now"/>.</summary>
    public (MeshIdentity? Identity, string? Refusal) Verify(X509Certificate2 presented, DateTimeOffset now) =>
        MeshCertificates.Verify(presented, Authority, now, Revoked);

    /// <summary>What expires first, the certificate or the CA, and when; for warnings before it happens.</summary>
    public (string What, DateTimeOffset When) FirstExpiry =>
        Certificate.NotAfter <= Authority.NotAfter
            ? ($"certificate '{Files.CertificateFile}'", new DateTimeOffset(Certificate.NotAfter.ToUniversalTime()))
            : ($"CA certificate '{Files.CaFile}'", new DateTimeOffset(Authority.NotAfter.ToUniversalTime()));

    public void Dispose()
    {
        Certificate.Dispose();
        Authority.Dispose();
    }
}

/// <summary>
/// Mutual TLS on every Orleans connection: silo to silo only between silos of the same region, admin clients to a gateway
/// only with a certificate of the mesh's CA, and an admin client talks only to silos of the region it asked for. A refused
/// peer is logged with its address and the reason before any grain call can be made.
/// </summary>
public static class MeshTls
{
    /// <summary>Secures a silo's ports with <paramref name="credentials"/> (a silo certificate of <paramref name="region"/>).</summary>
    public static ISiloBuilder UseMeshTls(this ISiloBuilder silo, MeshCredentials credentials, string region, TimeProvider time)
    {
        if (credentials.Identity.Role != MeshRole.Silo || credentials.Identity.Region != region)
            throw new MeshTlsException($"certificate '{credentials.Files.CertificateFile}' belongs to the {credentials.Identity.Describe()}, not a silo of region {region}; " +
                                       $"issue one with 'mesh certs issue --role silo --name {region}'");
        var peers = Options(credentials, time, id => id.Role == MeshRole.Silo && id.Region == region ? null : $"it is the {id.Describe()}, not a silo of region {region}");
        var clients = Options(credentials, time, _ => null);
        return silo.Configure<SiloConnectionOptions>(o =>
        {
            o.ConfigureSiloInboundConnection(b => { LogRefusals(b, "silo port"); b.UseServerTls(peers); });
            o.ConfigureGatewayInboundConnection(b => { LogRefusals(b, "gateway"); b.UseServerTls(clients); });
            o.ConfigureSiloOutboundConnection(b => b.UseClientTls(peers));
        });
    }

    /// <summary>Secures an admin client: it presents <paramref name="credentials"/> and accepts only silos of <paramref name="region"/>.</summary>
    public static IClientBuilder UseMeshTls(this IClientBuilder client, MeshCredentials credentials, string region, TimeProvider time)
    {
        var options = Options(credentials, time, id => id.Role == MeshRole.Silo && id.Region == region ? null : $"it is the {id.Describe()}, not a silo of region {region}");
        return client.Configure<ClientConnectionOptions>(o => o.ConfigureConnection(b => b.UseClientTls(options)));
    }

    private static TlsOptions Options(MeshCredentials credentials, TimeProvider time, Func<MeshIdentity, string?> admit) => new()
    {
        LocalCertificate = credentials.Certificate,
        RemoteCertificateMode = RemoteCertificateMode.RequireCertificate,
        ClientCertificateMode = RemoteCertificateMode.RequireCertificate,
        SslProtocols = SslProtocols.Tls13 | SslProtocols.Tls12,
        HandshakeTimeout = TimeSpan.FromSeconds(10),
        // The platform's verdict (system trust store, host names) is replaced by ours: the mesh's CA and the peer's role.
        RemoteCertificateValidation = (certificate, _, _) =>
        {
            var (identity, refusal) = credentials.Verify(certificate, time.GetUtcNow());
            refusal ??= admit(identity!);
            if (refusal is not null && Attempt.Current.Value is { } attempt) attempt.Refusal = refusal;
            return refusal is null;
        },
    };

    /// <summary>
    /// Wraps the TLS middleware of an inbound port: when the handshake did not complete, logs the peer's address and why
    /// (the certificate's problem as our check saw it, or no certificate / no TLS at all).
    /// </summary>
    private static void LogRefusals(IConnectionBuilder builder, string port)
    {
        var logger = builder.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Mesh.Security.MeshTls");
        builder.Use(next => async context =>
        {
            // A peer that connects and closes without a byte is a reachability check (the admin client's, a load balancer's):
            // nothing was refused. The bytes looked at are left for the TLS handshake to read.
            var first = await context.Transport.Input.ReadAsync();
            if (first.IsCompleted && first.Buffer.IsEmpty) return;
            context.Transport.Input.AdvanceTo(first.Buffer.Start, first.Buffer.Start);
            var attempt = new Attempt();
            Attempt.Current.Value = attempt;
            await next(context);
            if (context.Features.Get<ITlsHandshakeFeature>() is { Protocol: not SslProtocols.None }) return;
            logger.LogWarning("Refused a connection to the {Port} from {Peer}: {Reason}", port, context.RemoteEndPoint?.ToString() ?? "an unknown address",
                attempt.Refusal ?? "no certificate of the mesh was presented (a client without one, or bytes that are not a TLS handshake)");
        });
    }

    /// <summary>What the validation callback found, carried to the logging middleware of the same connection.</summary>
    private sealed class Attempt
    {
        public static readonly AsyncLocal<Attempt?> Current = new();
        public string? Refusal { get; set; }
    }
}

/// <summary>
/// One TLS handshake with a gateway after the Orleans client could not connect, to say plainly why a region refuses us or
/// we refuse it (the Orleans client only retries until its timeout). A server may check the client's certificate after
/// its side of the handshake is done (SslStream on Linux does), so a refusal can show only as the connection closing:
/// after the handshake the probe waits a moment for that.
/// </summary>
public static class GatewayTlsProbe
{
    /// <returns>Null when the gateway and we accept each other; otherwise what is wrong, for the operator.</returns>
    public static async Task<string?> ProbeAsync(System.Net.IPEndPoint gateway, MeshCredentials credentials, string region, TimeProvider time,
        TimeSpan connectTimeout, TimeSpan handshakeTimeout, CancellationToken cancellationToken)
    {
        using var socket = new System.Net.Sockets.Socket(gateway.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        using (var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connect.CancelAfter(connectTimeout);
            try
            {
                await socket.ConnectAsync(gateway, connect.Token);
            }
            catch (System.Net.Sockets.SocketException e)
            {
                return $"{gateway}: {e.Message}";
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return $"{gateway}: no answer within {connectTimeout.TotalSeconds:0.#} s";
            }
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(handshakeTimeout);
        string? ourRefusal = null;
        try
        {
            await using var stream = new SslStream(new System.Net.Sockets.NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
            await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = region,
                ClientCertificates = [credentials.Certificate],
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is null)
                    {
                        ourRefusal = "it presented no certificate";
                        return false;
                    }
                    using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    var (identity, refusal) = credentials.Verify(presented, time.GetUtcNow());
                    ourRefusal = refusal ?? (identity!.Role == MeshRole.Silo && identity.Region == region ? null : $"it is the {identity.Describe()}, not a silo of region {region}");
                    return ourRefusal is null;
                },
            }, deadline.Token);
            // A gateway that accepted us waits for the Orleans preamble; one that refused us closes.
            using var settle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            settle.CancelAfter(RefusalWait);
            try
            {
                if (await stream.ReadAsync(new byte[1], settle.Token) == 0)
                    return $"{gateway} closed the connection after the handshake: it refused our certificate '{credentials.Certificate.Subject}' " +
                           "(not issued by the CA its silos trust, expired or revoked; its silo log names the reason)";
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return null;
            }
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"{gateway} did not answer a TLS handshake within {handshakeTimeout.TotalSeconds:0.#} s: its silos may run without TLS (Mesh:Orleans:Tls unset), " +
                   "or it is not a mesh gateway";
        }
        catch (Exception e) when (e is AuthenticationException or IOException or System.Net.Sockets.SocketException)
        {
            return ourRefusal is not null
                ? $"we refuse {gateway}: {ourRefusal}"
                : $"{gateway} refused our certificate '{credentials.Certificate.Subject}' (not issued by the CA its silos trust, expired or revoked): {e.Message}";
        }
    }

    /// <summary>How long after the handshake a refusal may take to arrive as the connection closing.</summary>
    public static readonly TimeSpan RefusalWait = TimeSpan.FromSeconds(3);

    /// <summary>True when the endpoint answers a TLS handshake at all (it sends a server hello): a gateway that requires certificates.</summary>
    public static async Task<bool> SpeaksTlsAsync(System.Net.IPEndPoint gateway, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var socket = new System.Net.Sockets.Socket(gateway.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var answered = false;
        try
        {
            await socket.ConnectAsync(gateway, deadline.Token);
            await using var stream = new SslStream(new System.Net.Sockets.NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
            await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "mesh",
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, _, _, _) => { answered = true; return false; },
            }, deadline.Token);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            if (e is OperationCanceledException && cancellationToken.IsCancellationRequested) throw;
        }
        return answered;
    }
}
