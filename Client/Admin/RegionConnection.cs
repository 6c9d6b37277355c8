using System.Net;
using Mesh.Grains;
using Mesh.Core.Security;
using Mesh.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace Mesh.Client.Admin;

/// <summary>An Orleans client connected to one region's silos (each region is its own cluster).</summary>
public sealed class RegionConnection : IAsyncDisposable
{
    private readonly IHost _host;

    private RegionConnection(string region, IHost host)
    {
        Region = region;
        _host = host;
    }

    public string Region { get; }

    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    /// <param name="credentials">The mesh certificate this client presents (mutual TLS); null for regions whose silos run without TLS.</param>
    public static async Task<RegionConnection> ConnectAsync(string region, string clusterId, string serviceId,
        IReadOnlyList<IPEndPoint> gateways, TimeSpan timeout, CancellationToken cancellationToken = default, MeshCredentials? credentials = null)
    {
        await EnsureSomeGatewayAnswersAsync(region, gateways, timeout, cancellationToken);
        // Without certificates, a gateway that answers a TLS hello would refuse our plain-text client only after its whole timeout.
        if (credentials is null && await GatewayTlsProbe.SpeaksTlsAsync(gateways[0], GatewayConnectTimeout, cancellationToken))
            throw NoCertificate(region, gateways, null);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            if (credentials is not null)
            {
                client.UseMeshTls(credentials, region, TimeProvider.System);
                client.AddOutgoingGrainCallFilter(context => ProveCallerAsync(context, credentials));
            }
            client.UseStaticClustering([.. gateways]);
            client.Configure<ClusterOptions>(o => { o.ClusterId = clusterId; o.ServiceId = serviceId; });
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
            // A topology apply restarts replicators before it answers; every call here has its own, shorter, timeout too.
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = LongestCall);
        });
        var host = builder.Build();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await host.StartAsync(deadline.Token);
            return new RegionConnection(region, host);
        }
        catch (Exception e)
        {
            host.Dispose();
            // With certificates, one handshake says which side refuses the other and why.
            if (credentials is not null && !cancellationToken.IsCancellationRequested)
                await EnsureSomeGatewayAcceptsUsAsync(region, gateways, credentials, GatewayConnectTimeout + HandshakeTimeout, cancellationToken);
            // Without certificates, a gateway that answers TLS refused our plain-text preamble: say what is missing.
            throw new IOException($"cannot reach region {region}'s silos at {string.Join(", ", gateways)}: {e.Message}", e);
        }
    }

    /// <summary>
    /// A call that changes something carries the proof that this client holds its certificate's key (its role travels with
    /// the certificate); the silo checks it, and records who made the change.
    /// </summary>
    private static async Task ProveCallerAsync(IOutgoingGrainCallContext context, MeshCredentials credentials)
    {
        if (ClientAccessAttribute.Of(context.InterfaceMethod) != ClientAccessLevel.Change)
        {
            await context.Invoke();
            return;
        }
        RequestContext.Set(CallerProof.ContextKey, CallerProof.Create(credentials.Certificate, $"{context.InterfaceName}.{context.MethodName}", TimeProvider.System.GetUtcNow()));
        try
        {
            await context.Invoke();
        }
        finally
        {
            RequestContext.Remove(CallerProof.ContextKey);
        }
    }

    private static IOException NoCertificate(string region, IReadOnlyList<IPEndPoint> gateways, Exception? inner) =>
        new($"region {region}'s silos at {string.Join(", ", gateways)} require mutual TLS and this client has no mesh certificate: " +
            $"set {ClientCredentials.CaVariable}, {ClientCredentials.CertificateVariable} and {ClientCredentials.KeyVariable} " +
            "to the files 'mesh certs issue' wrote for you", inner);

    /// <summary>
    /// A TLS handshake with each gateway before the Orleans client starts: a gateway that refuses our certificate, or one
    /// whose certificate is not the region's, is named with the reason instead of costing the whole timeout.
    /// </summary>
    /// <exception cref="IOException">No gateway accepted us, naming each and why.</exception>
    private static async Task EnsureSomeGatewayAcceptsUsAsync(string region, IReadOnlyList<IPEndPoint> gateways, MeshCredentials credentials, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var wait = timeout < HandshakeTimeout ? timeout : HandshakeTimeout;
        var connect = timeout < GatewayConnectTimeout ? timeout : GatewayConnectTimeout;
        var problems = await Task.WhenAll(gateways.Select(g => GatewayTlsProbe.ProbeAsync(g, credentials, region, TimeProvider.System, connect, wait, cancellationToken)));
        if (problems.All(p => p is not null))
            throw new IOException($"cannot reach region {region}'s silos over mutual TLS: {string.Join("; ", problems)}");
    }

    /// <summary>How long a gateway may take to complete a TLS handshake before the probe gives up on it.</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long a gateway may take to accept a TCP connection before the region counts as not answering there.</summary>
    public static readonly TimeSpan GatewayConnectTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A TCP connection to each gateway before the Orleans client starts: the client retries a refused gateway until its whole
    /// timeout, so a region with no silo listening would cost the full timeout and say less than "connection refused".
    /// </summary>
    /// <exception cref="IOException">No gateway accepted a connection, naming the region and each address with its error.</exception>
    private static async Task EnsureSomeGatewayAnswersAsync(string region, IReadOnlyList<IPEndPoint> gateways, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var wait = timeout < GatewayConnectTimeout ? timeout : GatewayConnectTimeout;
        var failures = await Task.WhenAll(gateways.Select(async gateway =>
        {
            using var socket = new System.Net.Sockets.Socket(gateway.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(wait);
            try
            {
                await socket.ConnectAsync(gateway, deadline.Token);
                return null;
            }
            catch (System.Net.Sockets.SocketException e)
            {
                return $"{gateway}: {e.Message}";
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return $"{gateway}: no answer within {wait.TotalSeconds:0.#} s";
            }
        }));
        if (failures.Length > 0 && failures.All(f => f is not null))
            throw new IOException($"cannot reach region {region}'s silos: no gateway answers ({string.Join("; ", failures)})");
    }

    /// <summary>The region's active silos, as its cluster membership says.</summary>
    public async Task<int> CountSilosAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        (await Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(timeout, cancellationToken)).Count;

    /// <summary>Orleans' response timeout for this client: longer than any call's own timeout.</summary>
    private static readonly TimeSpan LongestCall = TimeSpan.FromMinutes(3);

    public Task<RegionStatus> GetStatusAsync(TimeSpan timeout) =>
        Client.GetGrain<IRegionGrain>(Region).GetStatusAsync().WaitAsync(timeout);

    public Task<IReadOnlyList<QuarantinedRecordInfo>> ListQuarantineAsync(QuarantineQuery query, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Quarantine().ListAsync(query).WaitAsync(timeout, cancellationToken);

    public Task<IReadOnlyList<ReplayOutcome>> ReplayQuarantineAsync(ReplayRequest request, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Quarantine().ReplayAsync(request).WaitAsync(timeout, cancellationToken);

    public Task<AppliedTopology> GetTopologyAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Topology().GetAsync().WaitAsync(timeout, cancellationToken);

    public Task<ApplyResult> ApplyTopologyAsync(ApplyRequest request, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Topology().ApplyAsync(request).WaitAsync(timeout, cancellationToken);

    /// <summary>The region's last <paramref name="count"/> operator changes (its audit log), oldest first.</summary>
    public Task<IReadOnlyList<AuditEntry>> GetChangesAsync(int count, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Topology().GetChangesAsync(count).WaitAsync(timeout, cancellationToken);

    /// <summary>Pauses or resumes the link <paramref name="source"/> -> this region (pull links run in their destination).</summary>
    public Task<PauseResult> SetPausedAsync(string source, string? topic, bool paused, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Topology().SetPausedAsync(source, topic, paused).WaitAsync(timeout, cancellationToken);

    /// <summary>Pauses or resumes a push link this region runs into <paramref name="destination"/>.</summary>
    public Task<PauseResult> SetPushPausedAsync(string destination, string? topic, bool paused, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Topology().SetPushPausedAsync(destination, topic, paused).WaitAsync(timeout, cancellationToken);

    /// <summary>Rebuilds what this region runs into <paramref name="destination"/> (see <see cref="ITopologyGrain.RebuildAsync"/>).</summary>
    public Task<RebuildResult> RebuildAsync(string destination, string? topic, bool force, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Topology().RebuildAsync(destination, topic, force).WaitAsync(timeout, cancellationToken);

    private ITopologyGrain Topology()
    {
        try
        {
            return Client.GetGrain<ITopologyGrain>(Region);
        }
        catch (ArgumentException e)
        {
            throw new NotSupportedException($"region {Region}'s silos have no topology grain (they run a mesh version from before 'mesh topology apply'): {e.Message}", e);
        }
    }

    private IQuarantineGrain Quarantine()
    {
        try
        {
            return Client.GetGrain<IQuarantineGrain>(Region);
        }
        catch (ArgumentException e)
        {
            // The cluster has no grain for the interface: silos from before the quarantine existed.
            throw new NotSupportedException($"region {Region}'s silos have no quarantine (they run a mesh version without it): {e.Message}", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _host.StopAsync(cts.Token);
        }
        catch (Exception) { /* the region may be gone already */ }
        _host.Dispose();
    }
}
