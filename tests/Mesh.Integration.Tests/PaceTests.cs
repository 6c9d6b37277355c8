using System.Diagnostics;
using Mesh.Client.Traffic;

namespace Mesh.Integration.Tests;

/// <summary>Paced waits never turn into endless ones (Task.Delay reads -1 ms, truncated, as "forever").</summary>
public sealed class PaceTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(1.0)]
    [InlineData(1.5)]
    [InlineData(1.999)]
    [InlineData(250.0)]
    public void A_moment_already_passed_does_not_wait(double pastByMs)
    {
        var clock = Stopwatch.StartNew();
        Thread.Sleep(5);
        var wait = Pace.UntilAsync(clock, clock.Elapsed - TimeSpan.FromMilliseconds(pastByMs));
        Assert.True(wait.IsCompleted, $"a moment {pastByMs} ms past made a wait");
    }

    [Fact]
    public async Task A_moment_ahead_is_waited_for()
    {
        var clock = Stopwatch.StartNew();
        await Pace.UntilAsync(clock, TimeSpan.FromMilliseconds(40)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(39), $"returned after {clock.Elapsed.TotalMilliseconds} ms");
    }
}
