using Mesh.Core.Offsets;

namespace Mesh.Core.Tests.Offsets;

public sealed class OffsetTranslatorTests
{
    /// <summary>
    /// A partition written as its records in log order from <paramref name="start"/>: "a.0 b.3" is
    /// region a's origin offset 0, then region b's origin offset 3; "a/2.0" is region a's second incarnation.
    /// "-" is an offset with no record (a control record).
    /// </summary>
    internal static PartitionIndex Log(string records, long start = 0)
    {
        var index = new PartitionIndex(start);
        var offset = start;
        foreach (var token in records.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (token != "-")
            {
                var dot = token.LastIndexOf('.');
                var stream = token[..dot];
                var slash = stream.IndexOf('/');
                var origin = slash < 0 ? new OriginId(stream, "1") : new OriginId(stream[..slash], stream[(slash + 1)..]);
                index.Append(offset, origin, long.Parse(token[(dot + 1)..]));
            }
            offset++;
        }
        index.Reach(offset);
        return index;
    }

    [Theory]
    // name, source, source start, committed, target, target start, offset, re-delivered, uncertain
    [InlineData("identical logs", "a.0 a.1 a.2", 0, 2, "a.0 a.1 a.2", 0, 2, 0, 0)]
    [InlineData("merged in another order", "a.0 b.0 a.1 b.1", 0, 2, "b.0 b.1 a.0 a.1", 0, 1, 1, 0)]
    [InlineData("merged in another order, later commit", "a.0 b.0 a.1 b.1 a.2", 0, 3, "b.0 a.0 a.1 a.2 b.1", 0, 3, 0, 0)]
    [InlineData("nothing processed", "a.0 b.0", 0, 0, "b.0 a.0", 0, 0, 0, 0)]
    [InlineData("committed at the end", "a.0 b.0 a.1", 0, 3, "b.0 a.0 a.1", 0, 3, 0, 0)]
    [InlineData("target shorter", "a.0 a.1 a.2 a.3", 0, 4, "a.0 a.1", 0, 2, 0, 0)]
    [InlineData("target shorter, group ahead of it", "a.0 b.0 a.1 b.1", 0, 3, "b.0 a.0", 0, 2, 0, 0)]
    [InlineData("target longer", "a.0 a.1", 0, 2, "a.0 a.1 a.2 b.0", 0, 2, 0, 0)]
    [InlineData("a stream only in the target comes first", "a.0 a.1", 0, 2, "c.0 a.0 a.1", 0, 0, 2, 0)]
    [InlineData("a stream only in the source", "a.0 c.0 a.1", 0, 2, "a.0 a.1", 0, 1, 0, 0)]
    [InlineData("retention in the target", "a.0 a.1 a.2 a.3 a.4 a.5 a.6 a.7", 0, 6, "a.5 a.6 a.7", 10, 11, 0, 0)]
    [InlineData("retention in the target beyond the group", "a.0 a.1 a.2 a.3 a.4 a.5 a.6", 0, 2, "a.5 a.6", 10, 10, 0, 0)]
    [InlineData("committed below the source's log start", "a.5 a.6 a.7", 5, 3, "a.0 a.1 a.2 a.3 a.4 a.5 a.6 a.7", 0, 0, 5, 5)]
    [InlineData("retention in the source, commit past its start", "a.5 a.6 a.7 a.8 a.9", 5, 7, "a.0 a.1 a.2 a.3 a.4 a.5 a.6 a.7 a.8 a.9", 0, 7, 0, 0)]
    [InlineData("retention in the source, a stream it no longer shows", "a.3 a.4", 3, 4, "a.0 a.1 a.2 a.3 b.0 a.4", 0, 4, 1, 1)]
    [InlineData("both empty", "", 0, 0, "", 0, 0, 0, 0)]
    [InlineData("source emptied by retention", "", 7, 7, "a.0", 0, 0, 1, 1)]
    [InlineData("target emptied by retention", "a.0", 0, 1, "", 4, 4, 0, 0)]
    [InlineData("empty source, group at its start", "", 0, 0, "a.0 b.0", 0, 0, 0, 0)]
    [InlineData("incarnations are their own streams", "a/1.0 a/1.1 a/2.0 a/2.1", 0, 3, "a/2.0 a/2.1 a/1.0 a/1.1", 0, 1, 2, 0)]
    [InlineData("an incarnation the group never saw", "a/2.0 a/2.1", 0, 2, "a/1.0 a/1.1 a/2.0 a/2.1", 0, 0, 2, 0)]
    [InlineData("a gap in the source below the group's mark", "a.0 a.2 a.3", 0, 2, "a.0 a.1 a.2 a.3", 0, 3, 0, 0)]
    [InlineData("a gap in the target", "a.0 a.1 a.2 a.3", 0, 3, "a.0 a.2 a.3", 0, 2, 0, 0)]
    [InlineData("control records in the target", "a.0 a.1 b.0", 0, 3, "a.0 - a.1 - b.0 -", 0, 6, 0, 0)]
    [InlineData("control records before the first unprocessed record", "a.0 a.1 b.0", 0, 2, "a.0 - b.0 a.1 -", 0, 2, 1, 0)]
    [InlineData("processed records after the position are all counted", "a.0 a.1 a.2 b.0 b.1 b.2", 0, 5, "b.0 b.1 c.0 a.0 a.1 a.2 b.2 b.1", 0, 2, 4, 0)]
    public void Translates_exactly(string name, string source, long sourceStart, long committed, string target, long targetStart,
        long offset, long redelivered, long uncertain)
    {
        var translation = OffsetTranslator.Translate(Log(source, sourceStart), committed, Log(target, targetStart));
        Assert.True(new OffsetTranslation(offset, redelivered, uncertain) == translation, $"{name}: expected offset {offset}, " +
            $"re-delivered {redelivered} ({uncertain} uncertain), got {translation}");
    }

    [Fact]
    public void A_committed_offset_beyond_what_was_indexed_is_refused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => OffsetTranslator.Translate(Log("a.0 a.1"), 3, Log("a.0")));
        Assert.Contains("beyond the indexed end 2", error.Message);
    }

    [Fact]
    public void A_lagging_group_translates_exactly_however_far_behind_the_tip()
    {
        // 99,000 records of three origins: one by one in the source, in blocks of 1,000 in the target.
        var source = new PartitionIndex();
        var target = new PartitionIndex();
        string[] regions = ["a", "b", "c"];
        for (var i = 0; i < 99_000; i++) source.Append(i, new OriginId(regions[i % 3], "1"), i / 3);
        for (var i = 0; i < 99_000; i++) target.Append(i, new OriginId(regions[i / 1000 % 3], "1"), i / 3000 * 1000 + i % 1000);
        source.Reach(99_000);
        target.Reach(99_000);
        Assert.Equal(99_000, source.Segments);
        Assert.Equal(99, target.Segments);

        // The group read a.0 b.0 c.0 a.1 b.1 c.1 a.2: the target's a.3 is the first it has not; b.0, b.1, c.0, c.1 come again.
        Assert.Equal(new OffsetTranslation(3, 4, 0), OffsetTranslator.Translate(source, 7, target));
        // Far along: 20,000 of each origin read, which the target's first 60 blocks hold exactly.
        Assert.Equal(new OffsetTranslation(60_000, 0, 0), OffsetTranslator.Translate(source, 60_000, target));
        // One record more: a.20000 was read, the target's 61st block starts with it.
        Assert.Equal(new OffsetTranslation(60_001, 0, 0), OffsetTranslator.Translate(source, 60_001, target));
        // Nothing read, and everything read.
        Assert.Equal(new OffsetTranslation(0, 0, 0), OffsetTranslator.Translate(source, 0, target));
        Assert.Equal(new OffsetTranslation(99_000, 0, 0), OffsetTranslator.Translate(source, 99_000, target));
    }

    [Fact]
    public void The_index_keeps_segments_not_records_and_forgets_what_retention_removed()
    {
        var index = Log("a.0 a.1 a.2 b.0 b.1 a.3");
        Assert.Equal(3, index.Segments);
        Assert.Equal(6, index.Records);
        index.TrimBefore(4);
        Assert.Equal(4, index.Start);
        Assert.Equal(2, index.Segments);
        Assert.Equal(2, index.Records);
        Assert.Equal(new OffsetTranslation(5, 0, 0), OffsetTranslator.Translate(Log("b.0 b.1 a.0 a.1"), 4, index));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Append(3, new OriginId("a", "1"), 9));
    }
}
