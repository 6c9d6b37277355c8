using System.Collections.Concurrent;

namespace Mesh.Grains.Ports;

/// <summary>
/// Wakes whoever sleeps on a region's incarnation when it changes (the region's Kafka came back as a new cluster). An idle
/// partition replicator sleeps until its feed has records; the one thing its feed cannot tell it is that its destination
/// was replaced while nothing flowed. One look per region every <c>period</c>, for every sleeper at once, instead of a
/// timer turn per partition: at 10,000 idle partitions those turns were a visible share of a silo's idle CPU.
/// </summary>
/// <param name="lookup">A region's incarnation now (not from a cache older than the period).</param>
public sealed class IncarnationWatch(Func<string, Task<string>> lookup, TimeProvider time, TimeSpan period) : IDisposable
{
    private readonly ConcurrentDictionary<string, Region> _regions = new(StringComparer.Ordinal);
    private volatile bool _disposed;

    private sealed class Region
    {
        // Each sleeper's wake-up, with the incarnation it last knew; a sleeper is here at most once.
        public readonly ConcurrentDictionary<Action, string> Sleepers = new();
        public ITimer? Timer;
        public int Looking;
    }

    /// <summary>Calls <paramref name="wake"/> once, on another thread, when <paramref name="region"/>'s incarnation is seen to be other than <paramref name="incarnation"/>.</summary>
    public void WakeOnChange(string region, string incarnation, Action wake)
    {
        if (_disposed) return;
        var watched = _regions.GetOrAdd(region, _ => new Region());
        watched.Sleepers[wake] = incarnation;
        if (watched.Timer is null)
            lock (watched)
                watched.Timer ??= time.CreateTimer(_ => Look(region, watched), null, period, period);
    }

    /// <summary>No wake-up for <paramref name="wake"/> any more (its sleeper went away).</summary>
    public void StopWaking(string region, Action wake)
    {
        if (_regions.TryGetValue(region, out var watched)) watched.Sleepers.TryRemove(wake, out _);
    }

    private void Look(string region, Region watched)
    {
        if (_disposed || watched.Sleepers.IsEmpty || Interlocked.Exchange(ref watched.Looking, 1) == 1) return;
        Task<string> asked;
        try { asked = lookup(region); }
        catch
        {
            Volatile.Write(ref watched.Looking, 0);
            return;
        }
        asked.ContinueWith(done =>
        {
            Volatile.Write(ref watched.Looking, 0);
            // A failed lookup tells nothing: the cluster may only be unreachable; the next look asks again.
            if (!done.IsCompletedSuccessfully) return;
            var now = done.Result;
            foreach (var (wake, known) in watched.Sleepers)
            {
                if (known == now || !watched.Sleepers.TryRemove(new KeyValuePair<Action, string>(wake, known))) continue;
                try { wake(); }
                catch (ObjectDisposedException) { } // its sleeper is gone
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var watched in _regions.Values)
        {
            watched.Timer?.Dispose();
            watched.Sleepers.Clear();
        }
    }
}
