using Mesh.Grains;

namespace Mesh.Client.Admin;

/// <summary>What one region ran when it was read; <see cref="Applied"/> is null when it could not be reached.</summary>
public sealed record RegionTopology(string Region, AppliedTopology? Applied, string? Error)
{
    public bool Reachable => Applied is not null;

    /// <summary>0 for a region that runs no topology (or could not be read).</summary>
    public long Version => Applied?.Version ?? 0;
}

/// <summary>Open connections to several regions at once, and the regions that could not be reached.</summary>
public sealed class MeshConnections : IAsyncDisposable
{
    // A region with no silo listening is told in moments by the TCP check before the client starts
    // (RegionConnection.GatewayConnectTimeout); this is for silos that accept the connection. On a machine loaded
    // far beyond its cores, starting the Orleans client alone took longer than 15 s and status reported live regions down.
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(20);

    private readonly Dictionary<string, RegionConnection> _open = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _unreachable = new(StringComparer.Ordinal);
    private readonly IRegionGateways _gateways;

    private MeshConnections(IRegionGateways gateways) => _gateways = gateways;

    public IReadOnlyDictionary<string, RegionConnection> Open => _open;

    /// <summary>Region to why it could not be reached.</summary>
    public IReadOnlyDictionary<string, string> Unreachable => _unreachable;

    /// <summary>Connects to every region in parallel; one that cannot be reached is noted, not thrown.</summary>
    public static async Task<MeshConnections> OpenAsync(IRegionGateways gateways, IEnumerable<string> regions, CancellationToken cancellationToken)
    {
        var connections = new MeshConnections(gateways);
        await connections.AddAsync(regions, cancellationToken);
        return connections;
    }

    public async Task AddAsync(IEnumerable<string> regions, CancellationToken cancellationToken)
    {
        var attempts = await Task.WhenAll(regions.Distinct().Select(async region =>
        {
            try
            {
                return (region, connection: await _gateways.ConnectAsync(region, ConnectTimeout, cancellationToken), error: (string?)null);
            }
            catch (Exception e) when (e is IOException or TimeoutException or OrleansException)
            {
                return (region, connection: (RegionConnection?)null, error: e.Message);
            }
        }));
        foreach (var (region, connection, error) in attempts)
        {
            if (connection is not null) _open[region] = connection;
            else _unreachable[region] = error!;
        }
    }

    /// <summary>Reads every open region's topology in parallel; a region that does not answer moves to <see cref="Unreachable"/>.</summary>
    public async Task<IReadOnlyList<RegionTopology>> ReadTopologiesAsync(CancellationToken cancellationToken)
    {
        var reads = await Task.WhenAll(_open.Select(async entry =>
        {
            try
            {
                return new RegionTopology(entry.Key, await entry.Value.GetTopologyAsync(ReadTimeout, cancellationToken), null);
            }
            catch (Exception e) when (IsUnreachable(e, cancellationToken))
            {
                return new RegionTopology(entry.Key, null, e.Message);
            }
        }));
        foreach (var lost in reads.Where(r => !r.Reachable))
        {
            _unreachable[lost.Region] = lost.Error!;
            if (_open.Remove(lost.Region, out var connection)) await connection.DisposeAsync();
        }
        return
        [
            .. reads.Where(r => r.Reachable)
                .Concat(_unreachable.Select(u => new RegionTopology(u.Key, null, u.Value)))
                .OrderBy(r => r.Region, StringComparer.Ordinal),
        ];
    }

    /// <summary>
    /// A call failed because the region is not there (or does not answer in time), as opposed to our
    /// own cancellation. A region whose silos run a mesh without topology grains counts as unreachable
    /// for these verbs too: it cannot take part.
    /// </summary>
    public static bool IsUnreachable(Exception e, CancellationToken cancellationToken) =>
        !(e is OperationCanceledException && cancellationToken.IsCancellationRequested)
        && e is IOException or TimeoutException or OrleansException or NotSupportedException or OperationCanceledException;

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_open.Values.Select(c => c.DisposeAsync().AsTask()));
        _open.Clear();
    }
}
