using Mesh.Grains.Tests.InMemory;

namespace Mesh.Grains.Tests.Infrastructure;

/// <summary>
/// Polls a probe until a condition holds or a deadline passes; never a fixed sleep standing in for a
/// condition. A timeout names what was awaited, what was last seen and what the grains last logged.
/// </summary>
internal static class Eventually
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    public static async Task<T> WaitAsync<T>(string what, Func<Task<T>> probe, Func<T, bool> done, TimeSpan within,
        Func<T, string>? describe = null, MeshWorld? world = null)
    {
        var deadline = DateTime.UtcNow + within;
        var seen = "nothing yet";
        while (true)
        {
            try
            {
                var value = await probe();
                if (done(value)) return value;
                seen = describe is null ? $"{value}" : describe(value);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                seen = $"the probe failed: {e.GetBaseException().Message}";
            }
            if (DateTime.UtcNow >= deadline) break;
            await Task.Delay(Poll);
        }
        throw new TimeoutException($"waited {within.TotalSeconds:0.#} s for {what}; last seen: {seen}" +
                                   (world is null ? "" : $"{Environment.NewLine}grains last logged:{Environment.NewLine}{world.RecentLog()}"));
    }

    public static Task WaitAsync(string what, Func<bool> condition, TimeSpan within, Func<string> describe, MeshWorld? world = null) =>
        WaitAsync(what, () => Task.FromResult(condition()), ok => ok, within, _ => describe(), world);
}
