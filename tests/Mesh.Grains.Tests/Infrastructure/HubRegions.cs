using Mesh.Grains.Tests.InMemory;

namespace Mesh.Grains.Tests.Infrastructure;

/// <summary>
/// Regions h, a and c as region c's silos see them: orders (two partitions) in a and h, audit (one) in h.
/// h holds a's records as link a -> h writes them (a's provenance, hops [a, h]) beside its own, under
/// either topology, so c can take a's records from a or from h. Produces in bursts or continuously,
/// and checks c's orders partitions exactly against what a and h produced.
/// </summary>
internal sealed class HubRegions : IAsyncDisposable
{
    public const string Orders = "orders";
    public const string Audit = "audit";
    public static readonly int[] Partitions = [0, 1];
    public static readonly string[] Regions = ["h", "a", "c"];

    private readonly MeshWorld _world;
    // A step produces a's record and then writes h's copy of it: two appends that must not interleave with
    // another step's, or h would hold a's records out of a's order, which link a -> h never does (it writes
    // them in source order) and which h -> c, carrying a after the change, rightly reads as "a@n already
    // applied" when a@n+1 comes first. The burst after the change runs while the flow does.
    private readonly Lock _stepping = new();
    private CancellationTokenSource? _stop;
    private Task? _producing;

    public HubRegions(MeshWorld world)
    {
        _world = world;
        Traffic = new Traffic(world.Kafka);
        world.Kafka.CreateTopic("a", Orders, Partitions.Length);
        world.Kafka.CreateTopic("h", Orders, Partitions.Length);
        world.Kafka.CreateTopic("h", Audit, 1);
    }

    public Traffic Traffic { get; }

    /// <summary>One record of a (and its copy in h) and one of h, in each orders partition.</summary>
    public void Step()
    {
        lock (_stepping)
        {
            foreach (var p in Partitions)
            {
                Traffic.Replicate("a", "h", Orders, p, Traffic.Produce("a", Orders, p));
                Traffic.Produce("h", Orders, p);
            }
        }
    }

    /// <summary>Produces a step every few milliseconds until <see cref="StopFlowingAsync"/>.</summary>
    public void StartFlowing()
    {
        _stop = new CancellationTokenSource();
        var stop = _stop.Token;
        _producing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Step();
                await Task.Delay(3, CancellationToken.None);
            }
        }, CancellationToken.None);
    }

    public async Task StopFlowingAsync()
    {
        if (_stop is null || _producing is null) return;
        await _stop.CancelAsync();
        await _producing;
        _stop.Dispose();
        _stop = null;
        _producing = null;
    }

    public long HeldInC => Partitions.Sum(p => _world.Kafka.Find("c", Orders, p)?.End ?? 0);

    /// <summary>Waits until c's orders hold every record a and h produced (once or more: see <see cref="Problems"/>).</summary>
    public Task WaitForEveryRecordAsync(string when, TimeSpan within) =>
        Eventually.WaitAsync($"c to hold every record of a and h ({when})",
            () => Partitions.All(p => ReplicaCheck.Missing(_world.Kafka, Traffic, "c", Orders, p, "a", "h") == 0), within,
            () => string.Join("; ", Problems()), _world);

    /// <summary>
    /// Everything wrong with c's orders (a record missing, held twice, out of its origin's order, or altered),
    /// and with the copies of a's records this class puts into h (see <see cref="HubProblems"/>).
    /// </summary>
    public List<string> Problems() =>
        [.. Partitions.SelectMany(p => ReplicaCheck.Problems(_world.Kafka, Traffic, "c", Orders, p, "a", "h")), .. HubProblems()];

    /// <summary>
    /// What is wrong with h's copies of a's records, standing in for link a -> h: each once and in a's order.
    /// Checked between steps, so a record of a whose copy is still to be written does not count as missing.
    /// </summary>
    public List<string> HubProblems()
    {
        lock (_stepping) return [.. Partitions.SelectMany(p => ReplicaCheck.Problems(_world.Kafka, Traffic, "h", Orders, p, "a"))];
    }

    public async ValueTask DisposeAsync() => await StopFlowingAsync();
}
