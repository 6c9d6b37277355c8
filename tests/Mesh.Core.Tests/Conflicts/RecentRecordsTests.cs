using Mesh.Core.Conflicts;
using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Conflicts;

public sealed class RecentRecordsTests
{
    private static SourceRecord Record(long offset, int valueBytes) => new(offset, [1, 2, 3], new byte[valueBytes], 0, []);

    [Fact]
    public void The_oldest_records_go_first_when_the_count_is_reached()
    {
        var recent = new RecentRecords(maxRecords: 3, maxBytes: long.MaxValue);
        for (var offset = 0; offset < 5; offset++) recent.Add(Record(offset, 10));
        Assert.Equal(3, recent.Count);
        Assert.Null(recent.Get(1));
        Assert.NotNull(recent.Get(2));
        Assert.NotNull(recent.Get(4));
    }

    [Fact]
    public void Large_values_are_bounded_by_bytes_not_count()
    {
        var recent = new RecentRecords(maxRecords: 20_000, maxBytes: 4L * 1024 * 1024);
        for (var offset = 0; offset < 100; offset++) recent.Add(Record(offset, 100 * 1024));
        Assert.InRange(recent.Bytes, 3L * 1024 * 1024, 4L * 1024 * 1024);
        Assert.Equal(recent.Count, Enumerable.Range(0, 100).Count(o => recent.Get(o) is not null));
        Assert.NotNull(recent.Get(99));
        Assert.Null(recent.Get(0));

        // A record bigger than the bound is not kept (a winner not kept is read from the log).
        recent.Add(Record(100, 5 * 1024 * 1024));
        Assert.Equal(0, recent.Count);
        Assert.Equal(0, recent.Bytes);
    }

    [Fact]
    public void An_offset_added_twice_is_counted_once_and_clear_forgets_everything()
    {
        var recent = new RecentRecords(maxRecords: 10, maxBytes: long.MaxValue);
        recent.Add(Record(7, 10));
        var bytes = recent.Bytes;
        recent.Add(Record(7, 10));
        Assert.Equal((1, bytes), (recent.Count, recent.Bytes));
        recent.Clear();
        Assert.Equal((0, 0L), (recent.Count, recent.Bytes));
    }
}
