using Mesh.Core.Replication;
using Mesh.Grains;

namespace Mesh.Client.Local;

// Readiness: waiting until regions answer and every expected link replicates.
public sealed partial class LocalMesh
{
    /// <summary>Waits until every region reports every link it runs (pull links into it, push links out of it) replicating every topic.</summary>
    public async Task WaitUntilReplicatingAsync(LocalMeshState state, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        var pending = state.Regions.Select(r => r.Id).ToHashSet();
        var lastReason = new Dictionary<string, string>();
        while (pending.Count > 0)
        {
            foreach (var region in pending.ToArray())
            {
                if (!IsSiloRunning(region))
                    throw new MeshCommandException($"{region}'s silos exited; see {Paths.SiloLog(region, 1)}:\n{Tail(Paths.SiloLog(region, 1))}");
                var reason = await NotReplicatingReasonAsync(state, region, cancellationToken);
                if (reason is null)
                {
                    pending.Remove(region);
                    _progress($"{region}: every inbound link is replicating");
                }
                else lastReason[region] = reason;
            }
            if (pending.Count == 0) break;
            if (DateTime.UtcNow > deadline)
                throw new MeshCommandException("Regions not replicating within " + timeout.TotalSeconds + " s: " +
                    string.Join("; ", pending.Select(r => $"{r}: {lastReason.GetValueOrDefault(r, "no answer")} (log {Paths.SiloLog(r, 1)})")));
            await Task.Delay(500, cancellationToken);
        }
    }

    /// <summary>Waits until each region's silos answer a status request (a silo that died at start is reported).</summary>
    public async Task WaitUntilAnsweringAsync(IEnumerable<string> regions, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        foreach (var region in regions)
        {
            while (true)
            {
                if (!IsSiloRunning(region))
                    throw new MeshCommandException($"{region}'s silos exited; see {Paths.SiloLog(region, 1)}:\n{Tail(Paths.SiloLog(region, 1))}");
                try
                {
                    await using var connection = await ConnectAsync(region, TimeSpan.FromSeconds(10), cancellationToken);
                    await connection.GetStatusAsync(TimeSpan.FromSeconds(10));
                    break;
                }
                catch (Exception e) when (e is IOException or TimeoutException or OrleansException)
                {
                    if (DateTime.UtcNow > deadline)
                        throw new MeshCommandException($"{region}'s silo did not answer within {timeout.TotalSeconds} s ({e.Message}); see {Paths.SiloLog(region, 1)}.");
                    await Task.Delay(500, cancellationToken);
                }
            }
        }
    }

    private async Task<string?> NotReplicatingReasonAsync(LocalMeshState state, string region, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await ConnectAsync(region, TimeSpan.FromSeconds(10), cancellationToken);
            var status = await connection.GetStatusAsync(TimeSpan.FromSeconds(10));
            foreach (var expected in state.LinksRunBy(region))
            {
                var name = $"{expected.From}->{expected.To}";
                var link = expected.Push
                    ? status.PushLinks?.FirstOrDefault(l => l.Destination == expected.To)
                    : status.InboundLinks.FirstOrDefault(l => l.Source == expected.From);
                if (link is null) return expected.Push ? $"no push link to {expected.To}" : $"no link from {expected.From}";
                var filter = new TopicFilter(expected.Include, expected.Exclude);
                foreach (var topic in state.Topics.Where(filter.Matches))
                {
                    var t = link.Topics.FirstOrDefault(x => x.Topic == topic);
                    if (t is null) return $"{name} has not found topic '{topic}' yet{(link.Error is null ? "" : $" ({link.Error})")}";
                    if (t.State == ReplicationState.Stopped) throw new MeshCommandException($"{name} topic '{topic}' stopped: {t.Error}");
                    if (t.State != ReplicationState.Replicating) return $"{name} topic '{topic}' is {t.State}{(t.Error is null ? "" : $": {t.Error}")}";
                }
            }
            return null;
        }
        catch (IOException e)
        {
            return e.Message;
        }
        catch (TimeoutException)
        {
            return "status request timed out";
        }
        catch (OrleansException e)
        {
            return e.Message;
        }
    }

    private static string Tail(string logFile, int lines = 15)
    {
        try
        {
            return string.Join('\n', File.ReadLines(logFile).TakeLast(lines));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }
}
