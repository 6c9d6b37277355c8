using System.Net;
using Mesh.Client.Admin;

namespace Mesh.Client.Local;

// Postgres clustering: the mesh's PostgreSQL server and its databases; silos added to a running region.
public sealed partial class LocalMesh
{
    public LocalPostgres PostgresServer => new(Paths.Root);

    /// <summary>
    /// Starts the mesh's PostgreSQL on its recorded port and makes sure every region's database exists
    /// (empty: each region's silos create their membership tables themselves). <paramref name="fresh"/>:
    /// a new mesh, so whatever an earlier mesh in this folder left is removed first.
    /// </summary>
    private void StartPostgres(LocalMeshState state, bool fresh)
    {
        var postgres = state.Postgres ?? throw new MeshCommandException("This local mesh does not use postgres clustering.");
        var server = PostgresServer;
        if (fresh && !server.IsRunning() && Directory.Exists(server.Dir)) Directory.Delete(server.Dir, recursive: true);
        _progress($"starting PostgreSQL for membership on 127.0.0.1:{postgres.Port} (data in {server.DataDir})");
        server.Start(postgres.Port);
        foreach (var region in state.Regions) server.CreateDatabase(postgres.Port, region.Database);
    }

    /// <summary>A free TCP port on 127.0.0.1 below the ephemeral range (as the mesh's own ports are picked).</summary>
    public static int FreePort() => FreePorts(1)[0];

    /// <summary>Stops the mesh's PostgreSQL (fast shutdown); the silos keep running and reconnect when it is back.</summary>
    public void StopPostgres() => PostgresServer.Stop();

    /// <summary>Starts the mesh's PostgreSQL again on the same port and data.</summary>
    public void StartPostgres()
    {
        var state = State;
        if (state.Postgres is null) throw new MeshCommandException($"The local mesh in {Paths.Root} uses {state.Clustering} clustering: there is no PostgreSQL to start.", 2);
        StartPostgres(state, fresh: false);
    }

    /// <summary>
    /// Starts one more silo in <paramref name="region"/> on new ports (instance: the highest so far plus
    /// one), records it in the mesh's state and waits until it answers through its own gateway. Under
    /// localhost clustering it joins through the first silo, under postgres through the database.
    /// </summary>
    public async Task<LocalSilo> AddSiloAsync(string region, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var state = State;
        var me = state.Region(region);
        if (!IsSiloRunning(region))
            throw new MeshCommandException($"No silo of {region} is running: start the region first ('mesh local start {region} --dir {Paths.Root}').", 2);
        if (state.Postgres is null && !IsSiloRunning(region, me.Silos[0].Instance))
            throw new MeshCommandException($"{region}'s first silo, which a localhost cluster's silos join, is down: 'mesh local start {region}' first.", 2);
        var silo = LocalSilo.Take(me.Silos.Max(s => s.Instance) + 1, new Queue<int>(FreePorts(LocalSilo.PortsPerSilo)));
        me.Silos.Add(silo);
        state.Save(Paths.Root);
        StartSilo(state, region, silo.Instance);

        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (!IsSiloRunning(region, silo.Instance))
                throw new MeshCommandException($"{region}'s silo {silo.Instance} exited; see {Paths.SiloLog(region, silo.Instance)}:\n{Tail(Paths.SiloLog(region, silo.Instance))}");
            try
            {
                await using var connection = await RegionConnection.ConnectAsync(region, me.ClusterId, "mesh",
                    [new IPEndPoint(IPAddress.Loopback, silo.GatewayPort)], TimeSpan.FromSeconds(10), cancellationToken, OperatorCredentials());
                await connection.GetStatusAsync(TimeSpan.FromSeconds(10));
                return silo;
            }
            catch (Exception e) when (e is IOException or TimeoutException or OrleansException)
            {
                if (DateTime.UtcNow > deadline)
                    throw new MeshCommandException($"{region}'s silo {silo.Instance} did not answer within {timeout.TotalSeconds:0} s ({e.Message}); see {Paths.SiloLog(region, silo.Instance)}.");
                await Task.Delay(500, cancellationToken);
            }
        }
    }
}
