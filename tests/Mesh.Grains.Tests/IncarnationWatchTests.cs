using Mesh.Grains.Ports;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Grains.Tests;

/// <summary>
/// The watch that wakes idle replicators when their destination's cluster is replaced: one look per region per period for
/// every sleeper, each woken once and only on a change, never after it went away, and a failed look wakes nobody.
/// </summary>
public sealed class IncarnationWatchTests
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(5);
    private readonly FakeTimeProvider _time = new();
    private readonly Dictionary<string, string> _incarnations = new() { ["r1"] = "i1", ["r2"] = "j1" };
    private readonly List<string> _looks = [];
    private Exception? _failure;

    private IncarnationWatch Watch() => new(region =>
    {
        _looks.Add(region);
        return _failure is { } failure ? Task.FromException<string>(failure) : Task.FromResult(_incarnations[region]);
    }, _time, Period);

    [Fact]
    public void A_sleeper_is_woken_once_when_its_regions_incarnation_changes_and_not_before()
    {
        using var watch = Watch();
        var woken = new int[3];
        watch.WakeOnChange("r1", "i1", () => woken[0]++);
        watch.WakeOnChange("r1", "i1", () => woken[1]++);
        watch.WakeOnChange("r2", "j1", () => woken[2]++);

        _time.Advance(Period);
        _time.Advance(Period);
        Assert.Equal([0, 0, 0], woken);
        // One look per region per period, however many sleep on it.
        Assert.Equal(2, _looks.Count(r => r == "r1"));

        _incarnations["r1"] = "i2";
        _time.Advance(Period);
        Assert.Equal([1, 1, 0], woken);
        _time.Advance(Period);
        Assert.Equal([1, 1, 0], woken);
    }

    [Fact]
    public void A_sleeper_that_knew_another_incarnation_already_is_woken_at_the_next_look()
    {
        using var watch = Watch();
        var woken = 0;
        watch.WakeOnChange("r1", "i0", () => woken++);
        _time.Advance(Period - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, woken);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, woken);
    }

    [Fact]
    public void A_sleeper_that_went_away_or_slept_again_on_the_new_incarnation_is_not_woken()
    {
        using var watch = Watch();
        var gone = 0;
        var again = 0;
        Action goneWake = () => gone++;
        Action againWake = () => again++;
        watch.WakeOnChange("r1", "i1", goneWake);
        watch.WakeOnChange("r1", "i1", againWake);
        watch.StopWaking("r1", goneWake);
        _incarnations["r1"] = "i2";
        // The same wake-up registered again replaces the earlier: it knows i2 now.
        watch.WakeOnChange("r1", "i2", againWake);
        _time.Advance(Period);
        Assert.Equal((0, 0), (gone, again));
    }

    [Fact]
    public void A_failed_look_wakes_nobody_and_the_next_one_does()
    {
        using var watch = Watch();
        var woken = 0;
        watch.WakeOnChange("r1", "i1", () => woken++);
        _incarnations["r1"] = "i2";
        _failure = new TimeoutException("r1's Kafka did not answer");
        _time.Advance(Period);
        Assert.Equal(0, woken);
        _failure = null;
        _time.Advance(Period);
        Assert.Equal(1, woken);
    }

    [Fact]
    public void Nobody_asleep_means_no_look_and_a_disposed_watch_wakes_nobody()
    {
        var watch = Watch();
        Action wake = () => throw new InvalidOperationException("woken after the watch was disposed");
        watch.WakeOnChange("r1", "i1", wake);
        watch.StopWaking("r1", wake);
        _time.Advance(Period * 3);
        Assert.Empty(_looks);

        watch.WakeOnChange("r1", "i1", wake);
        watch.Dispose();
        _incarnations["r1"] = "i2";
        _time.Advance(Period * 3);
        Assert.Empty(_looks);
    }
}
