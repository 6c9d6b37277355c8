using System.Collections.Concurrent;
using Mesh.Core.Replication;
using Mesh.Grains.Ports;

namespace Mesh.Grains.Tests.InMemory;

/// <summary>
/// The outside world of one test cluster: every region's Kafka, the local region's checkpoints and
/// quarantine, each region's persisted topology and the journal of what the grains did through the
/// ports. Silos find their world by id (<see cref="Find"/>), since a silo configurator is created by
/// the test host; a second cluster given the same id shares it.
/// </summary>
public sealed class MeshWorld
{
    private static readonly ConcurrentDictionary<string, MeshWorld> Worlds = new(StringComparer.Ordinal);

    private MeshWorld(string id, string localRegion, MeshWorld? peer)
    {
        Id = id;
        LocalRegion = localRegion;
        Kafka = peer?.Kafka ?? new InMemoryKafka();
        Topologies = peer?.Topologies ?? new(StringComparer.Ordinal);
    }

    /// <param name="peer">
    /// Another region's world, whose Kafka and persisted topologies this one shares: clusters of
    /// several regions over one set of Kafka clusters, each with its own checkpoints and journal.
    /// </param>
    public static MeshWorld Create(string localRegion, MeshWorld? peer = null)
    {
        var world = new MeshWorld($"{localRegion}-{Guid.NewGuid():N}", localRegion, peer);
        Worlds[world.Id] = world;
        return world;
    }

    public static MeshWorld Find(string id) =>
        Worlds.TryGetValue(id, out var world) ? world : throw new InvalidOperationException($"no test world '{id}'");

    public void Forget() => Worlds.TryRemove(Id, out _);

    public string Id { get; }

    /// <summary>The region the cluster's silos run in: the destination of every link they run.</summary>
    public string LocalRegion { get; }

    public InMemoryKafka Kafka { get; }

    public Journal Journal { get; } = new();

    /// <summary>Each region's persisted topology (its <c>__mesh_topology</c>), readable by every region.</summary>
    public ConcurrentDictionary<string, StoredTopology> Topologies { get; }

    /// <summary>
    /// The local region's checkpoints, stored encoded as the Kafka store keeps them. They outlive a
    /// replacement of the region's Kafka (<see cref="InMemoryKafka.ReplaceCluster"/>): a running silo's
    /// checkpoint store answers from what it tailed, and a new cluster's empty checkpoint topic holds
    /// nothing newer.
    /// </summary>
    public ConcurrentDictionary<string, string> Checkpoints { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The claims and releases of the local region's replicators, as its checkpoint topic keeps them: an
    /// epoch is the claim's position in that log. Lock it to use it.
    /// </summary>
    public ClaimBook Claims { get; } = new();

    /// <summary>The offset the next claim or release gets; guarded by <see cref="Claims"/>' lock.</summary>
    public long NextClaimOffset { get; set; }

    /// <summary>The local region's quarantine; its offsets are list indexes. Lock it to use it.</summary>
    public List<QuarantineEntry> Quarantine { get; } = [];

    /// <summary>When each quarantined record was replayed, by quarantine offset; guarded by <see cref="Quarantine"/>'s lock.</summary>
    public Dictionary<long, DateTimeOffset> QuarantineReplayed { get; } = [];

    /// <summary>Per partition (<c>region|topic|partition</c>): the turn of the one in-memory transaction writing it.</summary>
    public ConcurrentDictionary<string, SemaphoreSlim> TransactionTurns { get; } = new(StringComparer.Ordinal);

    private int _commitsToFail;

    /// <summary>The next <paramref name="count"/> transaction commits fail (before anything of them lands).</summary>
    public void FailCommits(int count) => Interlocked.Exchange(ref _commitsToFail, count);

    internal bool TakeCommitFailure()
    {
        while (true)
        {
            var left = Volatile.Read(ref _commitsToFail);
            if (left <= 0) return false;
            if (Interlocked.CompareExchange(ref _commitsToFail, left - 1, left) == left) return true;
        }
    }

    /// <summary>The topology versions each silo's connections were brought up to, in order.</summary>
    public ConcurrentQueue<long> ConnectionUpdates { get; } = new();

    /// <summary>What the grains logged at information level and above, for failure messages.</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    public string RecentLog(int lines = 30) => string.Join(Environment.NewLine, Log.TakeLast(lines));
}
