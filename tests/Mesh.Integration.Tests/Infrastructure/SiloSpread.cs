using Mesh.Client.Local;
using Mesh.Grains;

namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>Where a region's partition replicators run, as its status reports it (partitions per silo endpoint).</summary>
public static class SiloSpread
{
    public sealed record Snapshot(IReadOnlyDictionary<string, int> PerSilo, int Replicating, int Partitions)
    {
        public int Placed => PerSilo.Values.Sum();

        public override string ToString() =>
            $"{Replicating}/{Partitions} replicating, per silo: {(PerSilo.Count == 0 ? "none" : string.Join(", ", PerSilo.Select(p => $"{p.Key}={p.Value}")))}";
    }

    public static async Task<Snapshot> OfAsync(TestMesh mesh, string region)
    {
        var status = await mesh.StatusAsync(region);
        var partitions = status.InboundLinks.SelectMany(l => l.Topics).SelectMany(t => t.PartitionDetail).ToList();
        return new Snapshot(status.PartitionsPerSilo ?? new Dictionary<string, int>(),
            partitions.Count(p => p.State == ReplicationState.Replicating), partitions.Count);
    }

    /// <summary>The silo endpoint a local silo reports in status ("127.0.0.1:&lt;silo port&gt;").</summary>
    public static string Endpoint(LocalSilo silo) => $"127.0.0.1:{silo.SiloPort}";

    /// <summary>
    /// Waits until every one of <paramref name="partitions"/> replicators replicates on the silos named
    /// (none elsewhere); returns how long that took.
    /// </summary>
    public static async Task<TimeSpan> WaitForAllOnAsync(TestMesh mesh, string region, IReadOnlyCollection<string> silos, int partitions,
        TimeSpan timeout, DateTime since)
    {
        await Eventually.WaitAsync($"{region}'s {partitions} replicators all replicating on {string.Join(", ", silos)} only",
            () => OfAsync(mesh, region),
            s => s.Replicating == partitions && s.Placed == partitions && s.PerSilo.Keys.All(silos.Contains),
            timeout);
        return DateTime.UtcNow - since;
    }
}
