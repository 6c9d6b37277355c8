using Mesh.Core.Replication;
using Microsoft.Extensions.Logging;
using Orleans.Core.Internal;
using Orleans.Runtime.Placement;

namespace Mesh.Grains.Replication;

/// <summary>
/// Evens out a region's partition replicators over its live silos. Orleans places a replicator once,
/// when it activates (at random), and moves it only when its silo dies; so a silo that joins would
/// stay idle and the survivors of a death keep whatever random share they got. Every few seconds this
/// grain reads where each replicator runs (each reports its silo in its status), plans the fewest moves
/// that leave every silo within one replicator of every other (<see cref="ReplicatorSpread"/>), and
/// migrates those replicators: Orleans deactivates each one (its <c>OnDeactivateAsync</c> writes its
/// checkpoint first) and activates it on the silo named by the placement hint, where its link's next
/// discovery round (asked to ping them) runs it again from that checkpoint. It plans only while the region is settled (every
/// replicator answers, none is starting), so moves in flight are never planned twice.
/// </summary>
public sealed partial class SpreadGrain(ILogger<SpreadGrain> logger) : Grain, ISpreadGrain
{
    private static readonly TimeSpan Round = TimeSpan.FromSeconds(5);
    private IGrainTimer? _timer;

    public Task EnsureRunningAsync()
    {
        _timer ??= this.RegisterGrainTimer(SpreadAsync, new GrainTimerCreationOptions { DueTime = Round, Period = Round, KeepAlive = true });
        return Task.CompletedTask;
    }

    private async Task SpreadAsync(CancellationToken cancellationToken)
    {
        var region = this.GetPrimaryKeyString();
        try
        {
            var hosts = await GrainFactory.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            var silos = hosts.Keys.ToDictionary(s => s.Endpoint.ToString(), s => s, StringComparer.Ordinal);
            if (silos.Count < 2) return;
            var status = await GrainFactory.GetGrain<IRegionGrain>(region).GetStatusAsync();
            var partitions = status.InboundLinks.Concat(status.PushLinks ?? [])
                .SelectMany(l => l.Topics.SelectMany(t => t.PartitionDetail.Select(p => (Link: l, Topic: t.Topic, Partition: p))))
                .ToList();
            // Unsettled: a replicator that does not answer, or is (re)starting, maybe because it is moving now.
            if (partitions.Count == 0 || partitions.Any(p => p.Partition.Silo is null || p.Partition.State == ReplicationState.Starting)) return;
            // A stopped replicator (an error an operator must see) stays where it is, and is not counted.
            var placements = partitions.Where(p => p.Partition.State != ReplicationState.Stopped).Select(p => new ReplicatorPlacement(
                GrainKeys.Partition(p.Link.Source, p.Link.Destination, p.Topic, p.Partition.Partition),
                $"{p.Link.Source}->{p.Link.Destination}|{p.Topic}", p.Partition.Silo!)).ToList();
            var moves = ReplicatorSpread.Plan(silos.Keys, placements);
            if (moves.Count == 0) return;
            var before = ReplicatorSpread.Counts(silos.Keys, placements);
            var after = ReplicatorSpread.Counts(silos.Keys, placements, moves);
            LogSpreading(region, moves.Count, Describe(before), Describe(after));
            foreach (var move in moves)
            {
                RequestContext.Set(IPlacementDirector.PlacementHintKey, silos[move.To]);
                try
                {
                    await GrainFactory.GetGrain<IPartitionReplicatorGrain>(move.Key).AsReference<IGrainManagementExtension>().MigrateOnIdle();
                    LogMoved(move.Key, move.From, move.To);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogMoveFailed(e, move.Key, move.To);
                }
                finally
                {
                    RequestContext.Remove(IPlacementDirector.PlacementHintKey);
                }
            }
            // A moved replicator runs again when its link next pings it: the links ping their moved topics at their next round.
            foreach (var (source, destination, topic) in moves.Select(m => GrainKeys.ParsePartition(m.Key)).Select(k => (k.Source, k.Destination, k.Topic)).Distinct())
                await GrainFactory.GetGrain<ILinkGrain>(GrainKeys.Link(source, destination)).PingAgainAsync(topic);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRoundFailed(e, region);
        }
    }

    private static string Describe(IReadOnlyDictionary<string, int> counts) =>
        string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}: {c.Value}"));

    [LoggerMessage(Level = LogLevel.Information, Message = "Spreading {Region}'s partition replicators: moving {Moves} ({Before} -> {After})")]
    private partial void LogSpreading(string region, int moves, string before, string after);

    [LoggerMessage(Level = LogLevel.Information, Message = "Moving replicator {Key} from silo {From} to silo {To} (it checkpoints, then resumes there)")]
    private partial void LogMoved(string key, string from, string to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not move replicator {Key} to silo {To}; the next round tries again")]
    private partial void LogMoveFailed(Exception e, string key, string to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Spreading {Region}'s replicators failed this round; the next round tries again")]
    private partial void LogRoundFailed(Exception e, string region);
}
