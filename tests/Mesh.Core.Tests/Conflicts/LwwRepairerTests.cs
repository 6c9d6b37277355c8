using System.Collections.Immutable;
using Mesh.Core.Conflicts;
using Mesh.Core.Replication;
using static Mesh.Core.Tests.Conflicts.ConflictData;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Conflicts;

/// <summary>One region's repairer over its partition of an lww topic: what it indexes, what it asks to repair, what links may write.</summary>
public sealed class LwwRepairerTests
{
    private const string D = "eu-west";
    private const string East = "us-east";
    private const string South = "ap-south";

    private static LwwRepairer Repairer(ProvenanceSigner? signer = null, string? versionHeader = null) =>
        new(new LwwRule(versionHeader), D, Topic, P, signer);

    /// <summary>Feeds the records in order and writes every repair asked for at the end of the log, as a tailing grain does; returns the log.</summary>
    private static List<SourceRecord> Run(LwwRepairer repairer, List<SourceRecord> log)
    {
        for (var i = (int)repairer.NextOffset; i < log.Count; i++)
        {
            if (repairer.Observe(log[i]) is not { } action) continue;
            log.Add(repairer.BuildRepair(log[(int)action.WinnerOffset], action.Winner).At(log.Count));
            repairer.NoteRepaired();
        }
        return log;
    }

    private static string? LastValue(List<SourceRecord> log, string key) =>
        log.Last(r => Text(r.Key) == key).Value is { } value ? Text(value) : null;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_local_write_landing_after_a_newer_remote_one_is_answered_by_a_copy_of_the_winner(bool signed)
    {
        using var signer = signed ? Keys.CreateSigner() : null;
        var repairer = Repairer(signer);
        var winner = Replicated(0, D, "k", "remote", East, 40, 300, signer, new RecordHeader("app", [7]));
        var loser = Local(1, "k", "local", 100);

        Assert.Null(repairer.Observe(winner));
        var action = repairer.Observe(loser);

        Assert.NotNull(action);
        Assert.Equal((0L, new RecordVersion(300, East, 40)), (action.WinnerOffset, action.Winner));
        Assert.Equal(Utf8("k"), action.Key);
        Assert.Equal([action], repairer.Pending);

        var repair = repairer.BuildRepair(winner, action.Winner);
        Assert.Equal(winner.Key, repair.Key);
        Assert.Equal(winner.Value, repair.Value);
        Assert.Equal(300, repair.TimestampMs);
        Assert.Equal(["app", ProvenanceCodec.HeaderName, RepairMarker.HeaderName], repair.Headers.Select(h => h.Name));
        Assert.Equal(winner.Headers, repair.Headers.Take(2));
        Assert.Equal(Prov(East, Inc, Topic, P, 40, 300, East, D), repair.Provenance);
        Assert.True(RepairMarker.TryRead(repair.At(2), signer, out var marker));
        Assert.Equal(new RepairMarker(East, Inc, 40), marker);

        // The copy is the winner: nothing more to repair, and the index points at the copy (the record compaction keeps).
        Assert.Null(repairer.Observe(repair.At(2)));
        Assert.Empty(repairer.Pending);
        Assert.False(repairer.ShouldWrite(Utf8("k"), new RecordVersion(300, East, 40)));
        Assert.Equal(3, repairer.NextOffset);
        Assert.Equal(1, repairer.KeyCount);
    }

    [Fact]
    public void A_remote_write_older_than_the_local_winner_is_repaired_too()
    {
        var log = Run(Repairer(), [Local(0, "k", "local", 500), Replicated(1, D, "k", "remote", East, 3, 400, null)]);

        Assert.Equal(3, log.Count);
        Assert.Equal("local", LastValue(log, "k"));
        Assert.True(RepairMarker.TryRead(log[2], null, out var marker));
        Assert.Equal(new RepairMarker(D, null, 0), marker);
    }

    [Fact]
    public void Newer_writes_need_no_repair_and_one_clears_a_pending_repair()
    {
        var repairer = Repairer();
        Assert.Null(repairer.Observe(Local(0, "k", "a", 100)));
        Assert.Null(repairer.Observe(Local(1, "k", "b", 200)));
        Assert.NotNull(repairer.Observe(Replicated(2, D, "k", "c", East, 0, 150, null)));
        Assert.Single(repairer.Pending);

        // A newer write lands before the repair: it is the winner now, and last.
        Assert.Null(repairer.Observe(Replicated(3, D, "k", "d", South, 0, 250, null)));

        Assert.Empty(repairer.Pending);
        Assert.False(repairer.ShouldWrite(Utf8("k"), new RecordVersion(249, East, 9)));
    }

    [Fact]
    public void Equal_timestamps_are_decided_by_region_then_offset()
    {
        // "us-east" sorts after "eu-west": its write wins the tie however the two land.
        var log = Run(Repairer(), [Replicated(0, D, "k", "east", East, 5, 100, null), Local(1, "k", "west", 100)]);
        Assert.Equal("east", LastValue(log, "k"));

        log = Run(Repairer(), [Replicated(0, D, "k", "south", South, 5, 100, null), Local(1, "k", "west", 100)]);
        Assert.Equal(2, log.Count);
        Assert.Equal("west", LastValue(log, "k"));

        // One region, one timestamp: the later offset wins.
        log = Run(Repairer(), [Replicated(0, D, "k", "second", East, 8, 100, null), Replicated(1, D, "k", "first", East, 7, 100, null)]);
        Assert.Equal("second", LastValue(log, "k"));
    }

    [Fact]
    public void A_tombstone_wins_like_any_write_and_its_repair_is_a_tombstone()
    {
        var log = Run(Repairer(), [Local(0, "k", null, 300), Replicated(1, D, "k", "late", East, 0, 200, null)]);

        Assert.Equal(3, log.Count);
        Assert.Null(log[2].Value);
        Assert.True(RepairMarker.TryRead(log[2], null, out _));
    }

    [Fact]
    public void Links_write_only_what_beats_the_partitions_winner()
    {
        var repairer = Repairer();
        repairer.Observe(Local(0, "k", "v", 100));
        var provenance = new Provenance(East, Inc, Topic, P, 9, 100, ImmutableArray.Create(East, D));

        Assert.True(repairer.ShouldWrite(Utf8("other"), new RecordVersion(long.MinValue, "a", 0)));
        Assert.False(repairer.ShouldWrite(Utf8("k"), new RecordVersion(100, D, 0)));
        Assert.False(repairer.ShouldWrite(Utf8("k"), new RecordVersion(99, "zz", 99)));
        Assert.False(repairer.ShouldWrite(Utf8("k"), new RecordVersion(100, "a", 99)));
        Assert.True(repairer.ShouldWrite(Utf8("k"), new RecordVersion(100, D, 1)));
        Assert.True(repairer.ShouldWrite(Utf8("k"), new RecordVersion(101, "a", 0)));
        // us-east sorts after eu-west, so at the same timestamp its write wins.
        Assert.True(repairer.ShouldWrite(new OutboundRecord(Utf8("k"), null, 100, [], provenance, 9)));
        Assert.False(repairer.ShouldWrite(new OutboundRecord(Utf8("k"), null, 100, [], provenance with { OriginRegion = "a" }, 9)));
        Assert.True(repairer.ShouldWrite(new OutboundRecord(null, null, 0, [], provenance, 9)));
    }

    [Fact]
    public void Records_without_a_key_are_not_indexed_and_redelivered_ones_are_ignored()
    {
        var repairer = Repairer();
        Assert.Null(repairer.Observe(Local(0, "k", "new", 200)));
        Assert.Null(repairer.Observe(Local(1, "k", "x", 0) with { Key = null }));
        Assert.Equal(2, repairer.NextOffset);
        Assert.Equal(1, repairer.KeyCount);

        // Offset 0 again, as a reader re-delivers: already observed, so nothing to repair and the index is unchanged.
        Assert.Null(repairer.Observe(Local(0, "k", "old", 100)));
        Assert.Null(repairer.Observe(Local(1, "k", "old", 100)));
        Assert.Equal(2, repairer.NextOffset);
        Assert.NotNull(repairer.Observe(Local(2, "k", "old", 100)));
    }

    [Fact]
    public void Bad_versions_are_ordered_by_timestamp_and_counted_once_not_again_on_their_copies()
    {
        var repairer = Repairer(versionHeader: "v");
        var log = Run(repairer,
        [
            Local(0, "k", "bad", 500, new RecordHeader("v", Utf8("x"))),
            Local(1, "k", "good", 100, new RecordHeader("v", Utf8("400"))),
        ]);

        // 500 (the bad one's timestamp) beats 400 (the good one's version).
        Assert.Equal("bad", LastValue(log, "k"));
        Assert.Equal(3, log.Count);
        Assert.Equal(1, repairer.BadVersions);
        Assert.Equal(1, repairer.Repaired);
    }

    [Fact]
    public void A_version_header_orders_against_the_timestamps()
    {
        var log = Run(Repairer(versionHeader: "v"),
        [
            Local(0, "k", "v9", 100, new RecordHeader("v", Utf8("9"))),
            Replicated(1, D, "k", "v3", East, 0, 900, null, new RecordHeader("v", Utf8("3"))),
        ]);

        Assert.Equal("v9", LastValue(log, "k"));
    }

    [Fact]
    public void A_repairer_that_starts_over_repairs_only_what_is_still_wrong_at_the_end()
    {
        var log = Run(Repairer(), [Local(0, "a", "a-new", 200), Local(1, "a", "a-old", 100), Local(2, "b", "b-new", 200), Local(3, "b", "b-old", 100)]);
        Assert.Equal(6, log.Count);
        log.Add(Local(6, "c", "c-new", 200));
        log.Add(Local(7, "c", "c-old", 100)); // not repaired before the restart
        log.Add(Local(8, "d", "d-old", 100));
        log.Add(Local(9, "d", "d-older", 50));
        log.Add(Local(10, "d", "d-newest", 300)); // superseded before it was repaired

        var restarted = Repairer();
        foreach (var record in log) restarted.Observe(record); // reading to the end, writing nothing

        var pending = restarted.Pending.Single();
        Assert.Equal(("c", 6L), (Text(pending.Key), pending.WinnerOffset));
        Assert.Equal(0, restarted.Repaired);
    }

    [Fact]
    public void A_copy_of_a_copy_names_the_original_write_and_carries_one_marker()
    {
        var repairer = Repairer();
        var log = Run(repairer, [Local(0, "k", "win", 200, new RecordHeader("app", [1])), Local(1, "k", "lose", 100)]);
        log.Add(Local(3, "k", "lose again", 150));
        Run(repairer, log);

        Assert.Equal(5, log.Count);
        Assert.Equal(["app", RepairMarker.HeaderName], log[4].Headers.Select(h => h.Name));
        Assert.True(RepairMarker.TryRead(log[4], null, out var marker));
        Assert.Equal(new RepairMarker(D, null, 0), marker);
        Assert.Equal(2, repairer.Repaired);
    }

    [Fact]
    public void A_forged_marker_makes_a_record_an_ordinary_local_write()
    {
        using var signer = Keys.CreateSigner();
        var repairer = Repairer(signer);
        repairer.Observe(Local(0, "k", "win", 200));
        // An application copied a marker naming the winner onto its own older write: it is that write, and loses.
        var forged = Local(1, "k", "lose", 100, new RecordHeader(RepairMarker.HeaderName, new RepairMarker(D, null, 0).Encode(Utf8("k"), Utf8("win"), signer)));

        Assert.NotNull(repairer.Observe(forged));
    }

    [Fact]
    public void A_copy_stamped_with_another_time_by_a_log_append_time_topic_is_still_the_winner()
    {
        var repairer = Repairer();
        repairer.Observe(Local(0, "k", "win", 200));
        var action = repairer.Observe(Local(1, "k", "lose", 100))!;
        var repair = repairer.BuildRepair(Local(0, "k", "win", 200), action.Winner).At(2) with { TimestampMs = 1_000, LogAppendTime = true };

        Assert.Null(repairer.Observe(repair));
        Assert.Empty(repairer.Pending);
        // Still 200, not the 1000 stamped on the copy: a write at 201 beats it.
        Assert.True(repairer.ShouldWrite(Utf8("k"), new RecordVersion(201, "a", 0)));
    }

    [Fact]
    public void Building_a_repair_from_a_record_that_is_not_the_winner_fails_with_where_and_what()
    {
        var repairer = Repairer();
        repairer.Observe(Local(0, "k", "win", 200));
        var action = repairer.Observe(Local(1, "k", "lose", 100))!;

        var error = Assert.Throws<ArgumentException>(() => repairer.BuildRepair(Local(1, "k", "lose", 100), action.Winner));
        Assert.Contains($"the record at offset 1 of {Topic}/{P} in {D} is the write {D}/1, not the winner 200@{D}/0", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => repairer.BuildRepair(Local(0, "k", "win", 200) with { Key = null }, action.Winner));
    }

    [Fact]
    public void Arguments_are_checked()
    {
        Assert.Throws<ArgumentException>(() => new LwwRepairer(new LwwRule(null), "e+u", Topic, 0, null));
        Assert.Throws<ArgumentException>(() => new LwwRepairer(new LwwRule(null), D, "a topic", 0, null));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LwwRepairer(new LwwRule(null), D, Topic, -1, null));
    }
}
