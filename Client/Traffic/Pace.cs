using System.Diagnostics;

namespace Mesh.Client.Traffic;

/// <summary>Waiting for a moment on a stopwatch, for paced traffic and warm-ups.</summary>
public static class Pace
{
    /// <summary>
    /// Waits until <paramref name="clock"/> reads <paramref name="due"/> (at once when it already does). The clock is read
    /// once: a wait computed from a second reading after a check of the first can come out just below zero, and
    /// Task.Delay truncates to whole milliseconds and takes -1 as "forever" (a suite run hung on a producer that way).
    /// It never ends before its moment.
    /// </summary>
    public static Task UntilAsync(Stopwatch clock, TimeSpan due, CancellationToken cancellationToken = default)
    {
        var wait = due - clock.Elapsed;
        if (wait < TimeSpan.FromMilliseconds(1)) return Task.CompletedTask;
        // Whole milliseconds, rounded up, plus one: the timer queue counts in whole milliseconds from the tick it was set
        // in, so a 39.9 ms wait truncated to 39 ended 38.9 ms after it began, before its moment.
        return Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds) + 1), cancellationToken);
    }
}
