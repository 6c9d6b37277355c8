using Orleans.Concurrency;

namespace Mesh.Grains;

/// <summary>
/// Keeps a region's partition replicators spread evenly over the region's live silos (key: region id).
/// Every silo's supervisor calls <see cref="EnsureRunningAsync"/>; one activation in the region does the work.
/// </summary>
[Alias("mesh.ISpreadGrain")]
public interface ISpreadGrain : IGrainWithStringKey
{
    [Alias("EnsureRunning")]
    Task EnsureRunningAsync();

    [AlwaysInterleave, Alias("GetLast")]
    Task<SpreadReport?> GetLastAsync();
}

/// <summary>The latest spread round that moved something: when, what moved, and the replicators per silo it aimed for.</summary>
[GenerateSerializer, Immutable, Alias("mesh.SpreadReport")]
public sealed record SpreadReport(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] int Moved,
    [property: Id(2)] IReadOnlyDictionary<string, int> Before,
    [property: Id(3)] IReadOnlyDictionary<string, int> After);
