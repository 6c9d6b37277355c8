using Mesh.Core.Backup;
using Mesh.Core.Backup.Archiving;
using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Backup.Archiving;

/// <summary>The archiver's rules one at a time: own records, segment closing, gaps, watching, take-over, races, checkpoints.</summary>
public sealed class PartitionArchiverTests
{
    private const string Inc = "1a2b3c4d";
    private const string OtherInc = "5e1f09aa";
    private static readonly ArchiverSettings Settings = new(1_000, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));

    private readonly ManualTime _time = new();
    private readonly FakeChains _chains = new();

    private PartitionArchiver Archiver(ArchiverSettings? settings = null) => new("a", Inc, "orders", 0, settings ?? Settings, _time);

    private static BackupStream StreamOf(string region, string incarnation) => new("orders", 0, region, incarnation);

    private void AppendDue(PartitionArchiver archiver, bool flush = false)
    {
        foreach (var segment in archiver.Due(flush))
            archiver.Appended(segment, _chains.Append(segment, _chains.Entries(segment.Stream).Count, "a"));
    }

    [Fact]
    public void Own_records_wait_for_the_segment_age_then_go_into_the_own_chain()
    {
        var archiver = Archiver();
        Assert.Equal(0, archiver.Start(0, 0, null));
        for (var i = 0; i < 3; i++) archiver.Accept(Records.At(i, $"v{i}"), Records.Own("a", Inc, i));

        Assert.Empty(archiver.Due());
        _time.Advance(TimeSpan.FromSeconds(10));
        var due = Assert.Single(archiver.Due());
        Assert.Equal(StreamOf("a", Inc), due.Stream);
        Assert.Equal([0L, 1, 2], due.Records.Select(r => r.OriginOffset));
        Assert.False(due.TakenOver);
        AppendDue(archiver);
        Assert.Equal(3, archiver.Progress.RecordsWritten);
        Assert.Empty(archiver.Due(flush: true));
    }

    [Fact]
    public void A_segment_closes_at_its_size_and_never_holds_more()
    {
        var archiver = Archiver(Settings with { SegmentBytes = 300 });
        archiver.Start(0, 0, null);
        for (var i = 0; i < 10; i++) archiver.Accept(Records.At(i, new string('x', 100)), Records.Own("a", Inc, i));

        var first = Assert.Single(archiver.Due());
        Assert.InRange(first.Records.Count, 1, 3);
        AppendDue(archiver, flush: true);
        while (archiver.Due(flush: true).Count > 0) AppendDue(archiver, flush: true);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), _chains.Records(StreamOf("a", Inc)).Select(r => r.OriginOffset));
    }

    [Fact]
    public void A_backlog_read_to_the_end_closes_its_segment_at_once_and_live_traffic_waits_for_the_age()
    {
        var archiver = Archiver();
        archiver.Start(0, 0, null);
        var backlog = PartitionArchiver.CatchUpBacklog + 5;
        // The reader starts far behind the log's end: a catch-up.
        archiver.Behind(backlog);
        for (var i = 0; i < 3; i++) archiver.Accept(Records.At(i, $"v{i}"), Records.Own("a", Inc, i));
        Assert.False(archiver.Reach(3, backlog));
        for (var i = 3; i < backlog; i++) archiver.Accept(Records.At(i, "v"), Records.Own("a", Inc, i));
        AppendDue(archiver);
        // At the end, the last segment is due now rather than a segment age from now.
        Assert.True(archiver.Reach(backlog, backlog));
        Assert.NotEmpty(archiver.Due(flush: true));
        while (archiver.Due(flush: true).Count > 0) AppendDue(archiver, flush: true);
        Assert.Equal(backlog, _chains.Records(StreamOf("a", Inc)).Count);

        // Then live traffic, a few records behind at a time: it waits for the age as before, and only once.
        for (var i = backlog; i < backlog + 3; i++) archiver.Accept(Records.At(i, "v"), Records.Own("a", Inc, i));
        Assert.False(archiver.Reach(backlog + 3, backlog + 3));
        Assert.Empty(archiver.Due());
    }

    [Fact]
    public void A_reader_that_is_never_far_behind_closes_segments_by_size_and_age_only()
    {
        var archiver = Archiver();
        archiver.Start(0, 0, null);
        for (var i = 0; i < 5; i++)
        {
            archiver.Behind(i + 1);
            archiver.Accept(Records.At(i, "v"), Records.Own("a", Inc, i));
            Assert.False(archiver.Reach(i + 1, i + 1));
        }
        Assert.Empty(archiver.Due());
    }

    [Fact]
    public void The_trusted_provenance_header_is_not_kept_and_everything_else_is_byte_for_byte()
    {
        var archiver = Archiver();
        archiver.Start(0, 0, null);
        var app = new RecordHeader("app", [1, 2]);
        var empty = new RecordHeader("empty", []);
        var none = new RecordHeader("null", null);
        archiver.Accept(Records.At(0, "x", app, new RecordHeader(ProvenanceCodec.HeaderName, [9]), empty, none), Records.From("b", OtherInc, 7));
        archiver.Accept(Records.At(1, "", new RecordHeader(ProvenanceCodec.HeaderName, [8])), Records.Own("a", Inc, 1));
        archiver.TipRefreshed(StreamOf("b", OtherInc), 0);
        _time.Advance(TimeSpan.FromSeconds(31));
        archiver.TakeOver();
        archiver.Accept(Records.At(0, "x", app, new RecordHeader(ProvenanceCodec.HeaderName, [9]), empty, none), Records.From("b", OtherInc, 7));
        AppendDue(archiver, flush: true);

        var foreign = Assert.Single(_chains.Records(StreamOf("b", OtherInc)));
        Assert.Equal(["app", "empty", "null"], foreign.Headers.Select(h => h.Name));
        Assert.Equal([1, 2], foreign.Headers[0].Value);
        Assert.Empty(foreign.Headers[1].Value!);
        Assert.Null(foreign.Headers[2].Value);
        Assert.Equal(1_000, foreign.TimestampMs);
        // An untrusted header is the application's own: kept.
        var own = Assert.Single(_chains.Records(StreamOf("a", Inc)));
        Assert.Equal(ProvenanceCodec.HeaderName, Assert.Single(own.Headers).Name);
        Assert.Null(own.Key);
        Assert.Empty(own.Value!);
    }

    [Fact]
    public void A_restart_reads_from_the_checkpoint_and_skips_what_the_own_chain_holds()
    {
        var archiver = Archiver();
        archiver.Start(0, 0, null);
        for (var i = 0; i < 5; i++) archiver.Accept(Records.At(i, $"v{i}"), Records.Own("a", Inc, i));
        AppendDue(archiver, flush: true);
        for (var i = 5; i < 8; i++) archiver.Accept(Records.At(i, $"v{i}"), Records.Own("a", Inc, i));
        var checkpoint = archiver.Checkpoint();
        Assert.Equal(5, checkpoint.Resume); // 5..7 are only buffered

        var again = Archiver();
        Assert.Equal(5, again.Start(_chains.Next(StreamOf("a", Inc)), 0, checkpoint));
        for (var i = 5; i < 8; i++) again.Accept(Records.At(i, $"v{i}"), Records.Own("a", Inc, i));
        AppendDue(again, flush: true);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (long)i), _chains.Records(StreamOf("a", Inc)).Select(r => r.OriginOffset));
    }

    [Fact]
    public void A_checkpoint_of_another_incarnation_is_ignored()
    {
        var archiver = Archiver();
        Assert.Equal(0, archiver.Start(0, 0, new ArchiverCheckpoint(OtherInc, 500, new Dictionary<Mesh.Core.Offsets.OriginId, long>())));
    }

    [Fact]
    public void Own_records_removed_by_retention_before_they_were_read_become_a_gap()
    {
        var archiver = Archiver();
        Assert.Equal(40, archiver.Start(10, 40, null));
        archiver.Accept(Records.At(40, "v"), Records.Own("a", Inc, 40));
        // First the wait for a region that still holds them (none here), even for a flush.
        Assert.True(archiver.WaitingForFill);
        Assert.Empty(archiver.Due(flush: true));
        _time.Advance(Settings.FillWait);
        Assert.False(archiver.WaitingForFill);
        AppendDue(archiver, flush: true);
        var entry = Assert.Single(_chains.Entries(StreamOf("a", Inc)));
        Assert.Equal(new BackupGap(10, 39, entry.GapBefore!.Reason), entry.GapBefore);
        Assert.Contains("deleted by retention in a before it was backed up", entry.GapBefore.Reason);
        Assert.Equal(30, entry.GapBefore.Count);
    }

    [Fact]
    public void A_gap_reported_while_reading_starts_a_segment_of_its_own()
    {
        var archiver = Archiver();
        archiver.Start(0, 0, null);
        archiver.Accept(Records.At(0, "v"), Records.Own("a", Inc, 0));
        archiver.AcceptGap(1, 6);
        archiver.Accept(Records.At(6, "v"), Records.Own("a", Inc, 6));
        AppendDue(archiver, flush: true);
        Assert.Single(_chains.Entries(StreamOf("a", Inc)));
        _time.Advance(Settings.FillWait);
        AppendDue(archiver, flush: true);
        var entries = _chains.Entries(StreamOf("a", Inc));
        Assert.Equal(2, entries.Count);
        Assert.Null(entries[0].GapBefore);
        Assert.Equal((1L, 5L), (entries[1].GapBefore!.FromOffset, entries[1].GapBefore!.ToOffset));
    }

    [Fact]
    public void Another_origin_covered_by_its_chain_is_never_written_here()
    {
        var archiver = Archiver();
        archiver.Start(0, 0, null);
        var b = StreamOf("b", OtherInc);
        _chains.Append(new PendingSegment(b, [.. Enumerable.Range(0, 5).Select(i => ArchiveRecords.From(Records.At(i, "x"), Records.From("b", OtherInc, i)))], null, false), 0, "b");
        for (var i = 0; i < 5; i++) archiver.Accept(Records.At(i, "x"), Records.From("b", OtherInc, i));
        archiver.TipRefreshed(b, _chains.Next(b));
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Null(archiver.TakeOver());
        Assert.Empty(archiver.Due(flush: true));
        Assert.Equal(5, archiver.Checkpoint().Resume);
    }

    [Fact]
    public void Uncovered_records_of_another_origin_are_taken_over_after_the_wait_and_the_reader_rewinds_to_the_first()
    {
        var archiver = Archiver();
        archiver.Start(0, 0, null);
        var b = StreamOf("b", OtherInc);
        archiver.Accept(Records.At(0, "own"), Records.Own("a", Inc, 0));
        archiver.Accept(Records.At(1, "b0"), Records.From("b", OtherInc, 0));
        archiver.Accept(Records.At(2, "b1"), Records.From("b", OtherInc, 1));
        AppendDue(archiver, flush: true);

        // Not before its chain's tip is known, nor before the wait is over.
        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.Null(archiver.TakeOver());
        Assert.Equal([b], archiver.Unrefreshed);
        archiver.TipRefreshed(b, 0);
        Assert.Equal(1, archiver.Checkpoint().Uncovered[new("b", OtherInc)]);
        Assert.Equal(1, archiver.TakeOver());
        Assert.Equal(1, archiver.Position);

        archiver.Accept(Records.At(1, "b0"), Records.From("b", OtherInc, 0));
        archiver.Accept(Records.At(2, "b1"), Records.From("b", OtherInc, 1));
        archiver.Accept(Records.At(3, "own"), Records.Own("a", Inc, 3));
        AppendDue(archiver, flush: true);
        Assert.Equal([0L, 1], _chains.Records(b).Select(r => r.OriginOffset));
        Assert.Equal([0L, 3], _chains.Records(StreamOf("a", Inc)).Select(r => r.OriginOffset));
        Assert.Equal(1, archiver.Progress.TakeOvers);
        Assert.Equal(1, archiver.Progress.TakenOver);
    }

    [Fact]
    public void A_lost_race_stops_writing_the_taken_over_stream_and_watches_what_is_left()
    {
        var archiver = Archiver();
        archiver.Start(0, 0, null);
        var b = StreamOf("b", OtherInc);
        for (var i = 0; i < 4; i++) archiver.Accept(Records.At(i, "x"), Records.From("b", OtherInc, i));
        archiver.TipRefreshed(b, 0);
        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(0, archiver.TakeOver());
        for (var i = 0; i < 4; i++) archiver.Accept(Records.At(i, "x"), Records.From("b", OtherInc, i));

        // The origin is back and wrote 0..1 first.
        _chains.Append(new PendingSegment(b, [.. Enumerable.Range(0, 2).Select(i => ArchiveRecords.From(Records.At(i, "x"), Records.From("b", OtherInc, i)))], null, false), 0, "b");
        var segment = Assert.Single(archiver.Due(flush: true));
        archiver.Appended(segment, _chains.Append(segment, 0, "a"));
        Assert.Equal(1, archiver.Progress.RacesLost);
        Assert.Equal(0, archiver.Progress.TakenOver);
        Assert.Empty(archiver.Due(flush: true));
        Assert.Equal(2, archiver.Checkpoint().Uncovered[new("b", OtherInc)]);

        // The origin goes on and covers the rest: nothing more to do here.
        _chains.Append(new PendingSegment(b, [.. Enumerable.Range(2, 2).Select(i => ArchiveRecords.From(Records.At(i, "x"), Records.From("b", OtherInc, i)))], null, false), 1, "b");
        archiver.TipRefreshed(b, _chains.Next(b));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(archiver.TakeOver());
        Assert.Equal([0L, 1, 2, 3], _chains.Records(b).Select(r => r.OriginOffset));
    }

    [Fact]
    public void Records_read_again_after_a_rewind_are_not_buffered_twice()
    {
        var archiver = Archiver();
        archiver.Start(0, 0, null);
        archiver.Accept(Records.At(0, "b"), Records.From("b", OtherInc, 0));
        for (var i = 1; i < 4; i++) archiver.Accept(Records.At(i, "own"), Records.Own("a", Inc, i));
        archiver.TipRefreshed(StreamOf("b", OtherInc), 0);
        _time.Advance(TimeSpan.FromSeconds(31));
        archiver.TakeOver();
        for (var i = 0; i < 4; i++) archiver.Accept(Records.At(i, "x"), i == 0 ? Records.From("b", OtherInc, 0) : Records.Own("a", Inc, i));
        Assert.Equal(4, archiver.Progress.Buffered);
    }

    [Fact]
    public void Group_marks_are_the_highest_origin_offset_per_origin_below_the_committed_offset()
    {
        var archiver = Archiver();
        archiver.Start(0, 0, null);
        archiver.Accept(Records.At(0, "x"), Records.Own("a", Inc, 0));
        archiver.Accept(Records.At(1, "x"), Records.From("b", OtherInc, 10));
        archiver.Accept(Records.At(2, "x"), Records.From("b", OtherInc, 11));
        archiver.Accept(Records.At(3, "x"), Records.Own("a", Inc, 3));
        archiver.Accept(Records.At(4, "x"), Records.From("b", OtherInc, 12));

        var positions = archiver.Positions;
        Assert.Null(positions.MarksBelow(6));
        Assert.Equal([new OriginMark("a", Inc, 0), new OriginMark("b", OtherInc, 11)], positions.MarksBelow(3)!);
        Assert.Equal([new OriginMark("a", Inc, 3), new OriginMark("b", OtherInc, 12)], positions.MarksBelow(5)!);
        Assert.Empty(positions.MarksBelow(0)!);
    }

    [Fact]
    public void The_reader_position_running_ahead_never_makes_a_record_look_read()
    {
        var archiver = Archiver();
        archiver.Start(0, 0, null);
        archiver.Accept(Records.At(0, "x"), Records.Own("a", Inc, 0));
        // The reader took offset 1 but has not handed it over yet.
        archiver.Reach(2);
        Assert.Equal(1, archiver.Position);
        archiver.Accept(Records.At(1, "x"), Records.Own("a", Inc, 1));
        AppendDue(archiver, flush: true);
        Assert.Equal([0L, 1], _chains.Records(StreamOf("a", Inc)).Select(r => r.OriginOffset));
    }

    [Fact]
    public void A_reader_position_past_markers_answers_group_marks_one_call_later()
    {
        var positions = new OriginPositions();
        positions.Append(0, new Mesh.Core.Offsets.OriginId("a", Inc), 0);
        // Offsets 1 and 2 are transaction markers, never delivered.
        positions.Reach(3);
        Assert.Null(positions.MarksBelow(3));
        positions.Reach(3);
        Assert.Equal([new OriginMark("a", Inc, 0)], positions.MarksBelow(3)!);
    }

    [Fact]
    public void Positions_folded_away_still_count_and_keep_memory_bounded()
    {
        var positions = new OriginPositions();
        var a = new Mesh.Core.Offsets.OriginId("a", Inc);
        var b = new Mesh.Core.Offsets.OriginId("b", OtherInc);
        // Alternating origins: one index segment per record until folded.
        for (var i = 0; i < 1000; i++) positions.Append(i, i % 2 == 0 ? a : b, i / 2);
        Assert.Equal(1000, positions.Segments);
        positions.Forget(990);
        Assert.Equal(10, positions.Segments);
        Assert.Null(positions.MarksBelow(500)); // below what is still known
        Assert.Equal([new OriginMark("a", Inc, 495), new OriginMark("b", OtherInc, 495)], positions.MarksBelow(992)!);
        Assert.Equal([new OriginMark("a", Inc, 494), new OriginMark("b", OtherInc, 494)], positions.MarksBelow(990)!);
        // A record read again after a rewind changes nothing.
        positions.Append(995, a, 497);
        Assert.Equal(10, positions.Segments);
    }

    [Fact]
    public void Retention_removes_positions_but_keeps_what_they_were()
    {
        var positions = new OriginPositions();
        var a = new Mesh.Core.Offsets.OriginId("a", Inc);
        for (var i = 0; i < 10; i++) positions.Append(i, a, i);
        positions.Removed(20);
        Assert.Equal(20, positions.Start);
        Assert.Equal([new OriginMark("a", Inc, 9)], positions.MarksBelow(20)!);
    }

    [Theory]
    [InlineData("1;inc=1a2b3c4d;resume=42;uncovered=")]
    [InlineData("1;inc=1a2b3c4d;resume=0;uncovered=b/5e1f09aa:7,c/r0000abcd:9")]
    public void Checkpoints_round_trip(string text)
    {
        Assert.True(ArchiverCheckpoint.TryDecode(text, out var checkpoint, out var reason), reason);
        Assert.Equal(text, checkpoint!.Encode());
    }

    [Theory]
    [InlineData("2;inc=x;resume=1;uncovered=")]
    [InlineData("1;inc=;resume=1;uncovered=")]
    [InlineData("1;inc=x;resume=-1;uncovered=")]
    [InlineData("1;inc=x;resume=1;uncovered=b:1")]
    [InlineData("1;inc=x;resume=1")]
    public void Malformed_checkpoints_are_refused_with_a_reason(string text)
    {
        Assert.False(ArchiverCheckpoint.TryDecode(text, out _, out var reason));
        Assert.NotEmpty(reason);
    }

    [Fact]
    public void Checkpoint_keys_are_recognised() =>
        Assert.True(ArchiverCheckpoint.IsKey(ArchiverCheckpoint.Key("orders", 3)) && !ArchiverCheckpoint.IsKey("a->b|orders|3"));
}
