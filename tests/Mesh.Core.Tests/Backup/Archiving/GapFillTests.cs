using Mesh.Core.Backup;
using Mesh.Core.Backup.Archiving;
using Mesh.Core.Offsets;
using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Backup.Archiving;

/// <summary>
/// Records retention removed in their origin region before they were backed up are filled in from a region that
/// still holds them: the origin's own stream waits, the other region takes the stream over and writes them, and
/// only what no region held is recorded as a gap.
/// </summary>
public sealed class GapFillTests
{
    private const string IncA = "1a2b3c4d";
    private const string IncB = "5e1f09aa";
    private static readonly ArchiverSettings Settings = new(1_000_000, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));
    private static readonly BackupStream StreamA = new("orders", 0, "a", IncA);

    private readonly ManualTime _time = new();
    private readonly FakeSimulatedChains _chains = new();

    /// <summary>Region a backed up its first 10 records, then lost 10..39 to retention; its log holds 40..49.</summary>
    private PartitionArchiver StartA(ArchiverCheckpoint? checkpoint = null)
    {
        var a = new PartitionArchiver("a", IncA, "orders", 0, Settings, _time);
        Assert.Equal(40, a.Start(_chains.Refresh("a", StreamA), 40, checkpoint));
        for (var i = 40; i < 50; i++) a.Accept(Records.At(i, $"a{i}"), Records.Own("a", IncA, i));
        return a;
    }

    private void BackUpFirstTen()
    {
        var records = Enumerable.Range(0, 10).Select(i => ArchiveRecords.From(Records.At(i, $"a{i}"), Records.Own("a", IncA, i))).ToArray();
        Assert.True(_chains.Append("a", new PendingSegment(StreamA, records, null, false)).Appended);
    }

    /// <summary>
    /// Region b, whose log held a's records 0..49 at local offsets 0..49, of which retention removed those below
    /// <paramref name="logStart"/>.
    /// </summary>
    private (PartitionArchiver Archiver, List<(SourceRecord, RecordIdentity)> Log) StartB(int logStart)
    {
        var log = Enumerable.Range(0, 50).Select(i => (Records.At(i, $"a{i}"), Records.From("a", IncA, i))).ToList();
        var b = new PartitionArchiver("b", IncB, "orders", 0, Settings, _time);
        Assert.Equal(logStart, b.Start(0, logStart, null));
        return (b, log);
    }

    private static void Read(PartitionArchiver archiver, List<(SourceRecord Record, RecordIdentity Identity)> log)
    {
        while (archiver.Position < log.Count)
        {
            var (record, identity) = log[(int)archiver.Position];
            archiver.Accept(record, identity);
        }
    }

    private void Refresh(string region, PartitionArchiver archiver)
    {
        foreach (var stream in archiver.Watched) archiver.TipRefreshed(stream, _chains.Refresh(region, stream));
    }

    private void Append(string region, PartitionArchiver archiver, bool flush = true)
    {
        foreach (var segment in archiver.Due(flush)) archiver.Appended(segment, _chains.Append(region, segment));
    }

    private void BTakesOver(PartitionArchiver b, List<(SourceRecord, RecordIdentity)> log)
    {
        Read(b, log);
        Refresh("b", b);
        _time.Advance(Settings.TakeOver + TimeSpan.FromSeconds(1));
        Assert.NotNull(b.TakeOver());
        Read(b, log);
        Append("b", b);
    }

    [Fact]
    public void Records_lost_in_their_origin_are_written_from_a_region_that_still_holds_them_and_no_gap_is_recorded()
    {
        BackUpFirstTen();
        var a = StartA();
        Assert.True(a.WaitingForFill);
        Assert.Empty(a.Due(flush: true));
        Assert.Contains(StreamA, a.Watched);

        var (b, log) = StartB(logStart: 0);
        BTakesOver(b, log);

        // a sees b's segment when it refreshes its own chain: what b wrote leaves a's buffer, the gap with it.
        Refresh("a", a);
        Assert.False(a.WaitingForFill);
        Assert.Empty(a.Due(flush: true));
        for (var i = 50; i < 53; i++) a.Accept(Records.At(i, $"a{i}"), Records.Own("a", IncA, i));
        Append("a", a);

        var records = _chains.Records(StreamA);
        Assert.Equal(Enumerable.Range(0, 53).Select(i => (long)i), records.Select(r => r.OriginOffset));
        Assert.Equal(Enumerable.Range(0, 53).Select(i => $"a{i}"), records.Select(r => System.Text.Encoding.UTF8.GetString(r.Value!)));
        Assert.Equal(0, a.Progress.GapRecords);
        Assert.Equal(0, b.Progress.GapRecords);
        Assert.Equal(40, b.Progress.RecordsWritten);
        Assert.Equal(1, b.Progress.TakeOvers);

        // b's next append of a's stream loses the race to a and b goes back to watching.
        var more = new List<(SourceRecord, RecordIdentity)>(log);
        for (var i = 50; i < 53; i++) more.Add((Records.At(more.Count, $"a{i}"), Records.From("a", IncA, i)));
        Read(b, more);
        Append("b", b);
        Assert.Equal(0, b.Progress.TakenOver);
        Assert.Equal(53, _chains.Records(StreamA).Count);
    }

    [Fact]
    public void What_no_region_held_is_recorded_as_a_gap_by_the_region_that_filled_the_rest()
    {
        BackUpFirstTen();
        var a = StartA();
        var (b, log) = StartB(logStart: 25);
        BTakesOver(b, log);
        Refresh("a", a);
        Assert.False(a.WaitingForFill);

        var records = _chains.Records(StreamA);
        Assert.Equal(Enumerable.Range(0, 10).Concat(Enumerable.Range(25, 25)).Select(i => (long)i), records.Select(r => r.OriginOffset));
        Assert.Equal(15, b.Progress.GapRecords);
        Assert.Equal(0, a.Progress.GapRecords);
        var gap = _chains.Gaps(StreamA).Single();
        Assert.Equal((10L, 24L), (gap.FromOffset, gap.ToOffset));
        Assert.Contains("not held by b when it took the stream over", gap.Reason);
    }

    [Fact]
    public void With_no_region_to_fill_them_the_origin_records_its_gap_after_the_wait()
    {
        BackUpFirstTen();
        var a = StartA();
        _time.Advance(Settings.FillWait - TimeSpan.FromSeconds(1));
        Refresh("a", a);
        Assert.Empty(a.Due(flush: true));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(a.WaitingForFill);
        Assert.DoesNotContain(StreamA, a.Watched);
        Append("a", a);
        Assert.Equal(30, a.Progress.GapRecords);
        Assert.Equal(20, _chains.Records(StreamA).Count);
    }

    [Fact]
    public void A_restart_while_waiting_finds_the_gap_again_instead_of_skipping_it()
    {
        BackUpFirstTen();
        var a = StartA();
        var checkpoint = a.Checkpoint();
        Assert.Equal(10, checkpoint.Resume);

        _chains.Forget("a");
        var again = StartA(checkpoint);
        Assert.True(again.WaitingForFill);
        _time.Advance(Settings.FillWait);
        Append("a", again);
        Assert.Equal(30, again.Progress.GapRecords);
    }

    [Fact]
    public void The_last_flush_of_a_run_writes_a_gap_it_was_holding()
    {
        BackUpFirstTen();
        var a = StartA();
        Assert.Empty(a.Due(flush: true));
        var segment = Assert.Single(a.Due(flush: true, final: true));
        Assert.Equal(new BackupGap(10, 39, segment.Gap!.Reason), segment.Gap);
    }

    [Fact]
    public void A_taken_over_stream_whose_offsets_are_sparse_records_no_gap_when_no_record_was_lost_here()
    {
        // a's own records are every other offset of its partition (the others are what it replicated): b holds all of them.
        BackUpFirstTen();
        var log = Enumerable.Range(0, 20).Select(i => (Records.At(i, $"a{10 + 2 * i}"), Records.From("a", IncA, 10 + 2 * i))).ToList();
        var b = new PartitionArchiver("b", IncB, "orders", 0, Settings, _time);
        b.Start(0, 0, null);
        BTakesOver(b, log);
        Assert.Equal(0, b.Progress.GapRecords);
        Assert.Empty(_chains.Gaps(StreamA));
        Assert.Equal(30, _chains.Records(StreamA).Count);
    }

    [Fact]
    public void A_taken_over_stream_that_continues_its_chain_records_no_gap()
    {
        BackUpFirstTen();
        var (b, log) = StartB(logStart: 0);
        BTakesOver(b, log);
        Assert.Equal(0, b.Progress.GapRecords);
        Assert.Equal(50, _chains.Records(StreamA).Count);
    }
}
