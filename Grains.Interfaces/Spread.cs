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
}
