using System.Net;
using System.Net.Sockets;
using Mesh.Client.Local;

namespace Mesh.Client.Admin;

/// <summary>
/// How the admin verbs reach a mesh's regions: through a local mesh's state (<c>--dir</c>) or
/// through gateways named per region (<c>--gateways</c>, or a topology file's <c>gateway:</c> entries).
/// </summary>
public interface IRegionGateways
{
    /// <summary>For messages: "the local mesh in /x/.mesh", "the gateways given".</summary>
    string Description { get; }

    /// <summary>The regions known to run, in a stable order.</summary>
    IReadOnlyList<string> Regions { get; }

    /// <exception cref="IOException">The region cannot be reached (no gateway known, none answering).</exception>
    Task<RegionConnection> ConnectAsync(string region, TimeSpan timeout, CancellationToken cancellationToken = default);
}

/// <summary>The regions of a local mesh (as it was when this was made), reached on the gateway ports it gave their silos.</summary>
public sealed class LocalGateways(LocalMesh mesh) : IRegionGateways
{
    private readonly LocalMeshState _state = mesh.State;

    public LocalMesh Mesh { get; } = mesh;

    public string Description => $"the local mesh in {Mesh.Paths.Root}";

    public IReadOnlyList<string> Regions => [.. _state.Regions.Select(r => r.Id)];

    public Task<RegionConnection> ConnectAsync(string region, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        // Read again: an apply adds regions to the mesh while it runs.
        if (Mesh.State.Regions.All(r => r.Id != region))
            throw new IOException($"region {region} is not part of {Description}");
        if (!Mesh.IsSiloRunning(region))
            throw new IOException($"region {region}: no silo is running (start it with 'mesh local start {region} --dir {Mesh.Paths.Root}')");
        return ConnectWhileRunningAsync(region, timeout, cancellationToken);
    }

    /// <summary>
    /// Connects, giving up as soon as the region's last silo process is gone: an Orleans client that started connecting to
    /// a silo killed meanwhile would otherwise retry for its whole timeout, and 'mesh ui' would show the region up that long.
    /// </summary>
    private async Task<RegionConnection> ConnectWhileRunningAsync(string region, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var gone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watch = Task.Run(async () =>
        {
            while (!gone.IsCancellationRequested)
            {
                await Task.Delay(SiloWatchInterval, gone.Token).ConfigureAwait(false);
                if (!Mesh.IsSiloRunning(region)) { await gone.CancelAsync(); return; }
            }
        }, CancellationToken.None);
        try
        {
            return await Mesh.ConnectAsync(region, timeout, gone.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && !cancellationToken.IsCancellationRequested && !Mesh.IsSiloRunning(region))
        {
            throw new IOException($"region {region}: no silo is running (its last silo stopped while connecting; start it with 'mesh local start {region} --dir {Mesh.Paths.Root}')", e);
        }
        finally
        {
            await gone.CancelAsync();
            try { await watch; } catch (OperationCanceledException) { }
        }
    }

    private static readonly TimeSpan SiloWatchInterval = TimeSpan.FromMilliseconds(500);
}

/// <summary>
/// Regions reached through named gateways: each region is its own Orleans cluster
/// (<c>mesh-&lt;region&gt;</c>, service <c>mesh</c>) and any of its silos' gateways will do.
/// </summary>
public sealed class NamedGateways(IReadOnlyDictionary<string, IReadOnlyList<string>> endpoints, string description) : IRegionGateways
{
    public string Description { get; } = description;

    public IReadOnlyList<string> Regions { get; } = [.. endpoints.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The certificate this client presents (from MESH_TLS_CA/CERT/KEY), loaded once; null when none is named.</summary>
    private Mesh.Security.MeshCredentials? Credentials => _credentials.Value;

    private readonly Lazy<Mesh.Security.MeshCredentials?> _credentials = new(ClientCredentials.FromEnvironment);

    /// <summary>
    /// Parses <c>region=host:port,region=host:port,...</c>; a region named several times has several gateways.
    /// </summary>
    /// <exception cref="MeshCommandException">Malformed (exit code 2), naming the entry and the expected form.</exception>
    public static NamedGateways Parse(string value)
    {
        var endpoints = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var entry in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = entry.IndexOf('=');
            var region = equals < 0 ? "" : entry[..equals].Trim();
            var endpoint = equals < 0 ? "" : entry[(equals + 1)..].Trim();
            if (region.Length == 0 || !TrySplitEndpoint(endpoint, out _, out _))
                throw new MeshCommandException($"--gateways: '{entry}' is not region=host:port (e.g. --gateways us-east=10.0.0.5:30000,eu-west=silo.eu-west.internal:30000).", 2);
            if (!Core.Replication.RegionIds.IsValid(region, out var reason))
                throw new MeshCommandException($"--gateways: {reason}.", 2);
            if (!endpoints.TryGetValue(region, out var list)) endpoints[region] = list = [];
            list.Add(endpoint);
        }
        if (endpoints.Count == 0)
            throw new MeshCommandException("--gateways: name at least one region's gateway, e.g. --gateways us-east=10.0.0.5:30000.", 2);
        return new NamedGateways(endpoints.ToDictionary(e => e.Key, e => (IReadOnlyList<string>)e.Value, StringComparer.Ordinal), "the gateways given with --gateways");
    }

    /// <summary>These gateways, with <paramref name="more"/> added for regions they do not name.</summary>
    public NamedGateways With(IReadOnlyDictionary<string, IReadOnlyList<string>> more) =>
        new(new Dictionary<string, IReadOnlyList<string>>(
            endpoints.Concat(more.Where(m => !endpoints.ContainsKey(m.Key) && m.Value.Count > 0)), StringComparer.Ordinal), Description);

    public async Task<RegionConnection> ConnectAsync(string region, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (!endpoints.TryGetValue(region, out var named) || named.Count == 0)
            throw new IOException($"no gateway is known for region {region}: name one with --gateways {region}=host:port, or under 'gateway:' in the topology file");
        var addresses = new List<IPEndPoint>();
        foreach (var endpoint in named)
        {
            TrySplitEndpoint(endpoint, out var host, out var port);
            try
            {
                addresses.AddRange(IPAddress.TryParse(host, out var ip)
                    ? [new IPEndPoint(ip, port)]
                    : (await Dns.GetHostAddressesAsync(host, cancellationToken)).Select(a => new IPEndPoint(a, port)));
            }
            catch (SocketException e)
            {
                throw new IOException($"region {region}'s gateway {endpoint}: cannot resolve '{host}' ({e.Message})", e);
            }
        }
        return await RegionConnection.ConnectAsync(region, $"mesh-{region}", "mesh", addresses, timeout, cancellationToken, Credentials);
    }

    private static bool TrySplitEndpoint(string endpoint, out string host, out int port)
    {
        var colon = endpoint.LastIndexOf(':');
        host = colon <= 0 ? "" : endpoint[..colon].Trim('[', ']');
        port = 0;
        return colon > 0 && host.Length > 0 && int.TryParse(endpoint[(colon + 1)..], out port) && port is > 0 and < 65536;
    }
}
