using Mesh.Core.Backup;
using Mesh.Core.Backup.Restore;
using static Mesh.Core.Tests.Backup.Restore.RestoreTestData;

namespace Mesh.Core.Tests.Backup.Restore;

public sealed class RestoreSelectionTests
{
    [Theory]
    [InlineData(5, 10)]    // before every snapshot: the earliest
    [InlineData(10, 10)]
    [InlineData(100, 100)] // taken exactly at TIME: in force
    [InlineData(150, 100)]
    [InlineData(250, 200)]
    [InlineData(10_000, 300)]
    public void Config_in_force_is_the_latest_at_or_before_time_else_the_earliest(long at, long expectedTakenAt)
    {
        TopicConfigSnapshot[] configs = [Config(200), Config(100), Config(300), Config(10)];
        Assert.Equal(expectedTakenAt, RestoreSelection.ConfigAt(configs, at)!.TakenAtMs);
    }

    [Fact]
    public void No_config_no_window_below()
    {
        Assert.Null(RestoreSelection.ConfigAt([], 5));
        Assert.Equal(new RestoreWindow(null, 5), RestoreSelection.WindowAt([], 5));
    }

    public static TheoryData<string, (string, string)[], long?> Retentions => new()
    {
        { "delete with retention", [("cleanup.policy", "delete"), ("retention.ms", "1000")], 1000 },
        { "default policy is delete", [("retention.ms", "1000")], 1000 },
        { "compact,delete deletes by age too", [("cleanup.policy", "compact,delete"), ("retention.ms", "1000")], 1000 },
        { "compact only", [("cleanup.policy", "compact"), ("retention.ms", "1000")], null },
        { "unlimited", [("cleanup.policy", "delete"), ("retention.ms", "-1")], null },
        { "no retention.ms: broker default unknown, keep all", [("cleanup.policy", "delete")], null },
        { "garbage", [("retention.ms", "soon")], null },
    };

    [Theory]
    [MemberData(nameof(Retentions))]
    public void Retention_by_policy(string name, (string, string)[] configs, long? expected) =>
        Assert.True(expected == RestoreSelection.RetentionMs(Config(0, configs)), name);

    [Fact]
    public void Window_uses_the_retention_of_the_config_in_force_at_time()
    {
        TopicConfigSnapshot[] configs = [Config(0, ("retention.ms", "100")), Config(1000, ("retention.ms", "-1"))];
        Assert.Equal(new RestoreWindow(400, 500), RestoreSelection.WindowAt(configs, 500));
        Assert.Equal(new RestoreWindow(null, 1500), RestoreSelection.WindowAt(configs, 1500));
    }

    [Theory]
    [InlineData(null, 500L, 500L, true)]
    [InlineData(null, 500L, 501L, false)]
    [InlineData(400L, 500L, 400L, false)] // exactly TIME - retention: already deleted then
    [InlineData(400L, 500L, 401L, true)]
    [InlineData(null, 500L, long.MinValue, true)]
    public void Window_bounds(long? after, long until, long timestamp, bool contained) =>
        Assert.Equal(contained, new RestoreWindow(after, until).Contains(timestamp));

    [Fact]
    public void Selection_keeps_origin_order_and_drops_out_of_window_records_even_when_timestamps_go_backwards()
    {
        var window = new RestoreWindow(100, 200);
        BackupRecord[] records = [Rec(0, 150), Rec(1, 250), Rec(2, 120), Rec(3, 90), Rec(4, 200), Rec(5, 101)];
        Assert.Equal([0L, 2, 4, 5], window.Select(records).Select(r => r.OriginOffset));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void A_segment_is_read_iff_it_may_hold_a_selected_record(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 200; i++)
        {
            var window = new RestoreWindow(random.Next(3) == 0 ? null : random.Next(0, 100), random.Next(50, 150));
            var records = Enumerable.Range(0, random.Next(1, 6)).Select(o => Rec(o, random.Next(0, 200))).ToList();
            var overlaps = window.Overlaps(records.Min(r => r.TimestampMs), records.Max(r => r.TimestampMs));
            // Overlap may be true with nothing selected (a record below and one above), never false with something selected.
            if (window.Select(records).Any()) Assert.True(overlaps, $"seed {seed}: a segment holding a selected record is skipped");
        }
    }

    public static TheoryData<int> Seeds => [.. Enumerable.Range(0, 10)];
}
