namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>Waits on a condition with a deadline; never a fixed sleep. The failure names what was awaited and what was last seen.</summary>
public static class Eventually
{
    public static async Task<T> WaitAsync<T>(string what, Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, Func<T, string>? describe = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        T last = default!;
        Exception? lastError = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await probe();
                lastError = null;
                if (done(last)) return last;
            }
            catch (Exception e)
            {
                lastError = e;
            }
            await Task.Delay(250);
        }
        var seen = lastError is not null ? $"last error: {lastError.Message}" : $"last seen: {(describe is null ? last?.ToString() : describe(last))}";
        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:N0} s waiting for {what}; {seen}");
    }
}
