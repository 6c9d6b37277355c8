using Mesh.Core.Replication;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

/// <summary>Records the mesh cannot take (quarantine, stop, refusals), gaps, and reading the destination back.</summary>
public sealed class QuarantineTests
{
    private const string S = "us-east";
    private const string D = "eu-west";
    private const string Other = "ap-south";
    private const int P = 3;
    private static readonly string SKey = OriginVector.Key(S, Inc);
    private static readonly ReplicationPolicy Strict = new(Keys, StrictProvenance: true, KeepUntrustedHeader: true, BadRecordAction.Quarantine);

    private static PartitionReplication Link(ReplicationPolicy policy, long start = 0, IForwardingPolicy? forwarding = null) =>
        new(S, D, Topic, P, forwarding ?? FullMeshForwarding.Instance, policy, ReplicationCheckpoint.Start(start, Inc, Inc2));

    private static SourceRecord[] LogWithForgedAt(int forged, int count) =>
        Enumerable.Range(0, count).Select(o => o == forged ? Record(o, ProvenanceHeader(Prov(Other, P, 1, 0, Other, S))) : Record(o)).ToArray();

    // ---------------------------------------------------------------- strict provenance

    [Fact]
    public void Strict_untrusted_header_ends_the_plan_and_commit_moves_past_it_counting_it()
    {
        using var link = Link(Strict);
        var log = LogWithForgedAt(3, 6);

        var plan = link.Plan(log);

        Assert.Equal([0L, 1L, 2L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(3L, plan.NextSourceOffset);
        var held = plan.Held!;
        Assert.Same(log[3], held.Record);
        Assert.Equal(DecisionKind.Quarantine, held.Kind);
        Assert.Equal(QuarantineKinds.UntrustedProvenance, held.QuarantineKind);
        Assert.Equal("provenance header not trusted: offset 3: it is not signed, and this region requires signed provenance (Mesh:Provenance:Key is set)", held.Reason);

        var entry = link.QuarantineEntryFor(held, 1234);
        Assert.Equal(new QuarantineEntry(S, Inc, D, Topic, P, 3, QuarantineKinds.UntrustedProvenance, held.Reason, 1234, log[3]), entry);

        link.Commit(plan, 3);

        Assert.Equal(4L, link.NextSourceOffset);
        Assert.Equal(1L, link.RecordsQuarantined);
        Assert.Equal("us-east@1a2b3c4d:2", link.Vector.ToString());
        Assert.Equal(1L, link.Checkpoint().RecordsQuarantined);

        var rest = link.Plan(log);
        Assert.Null(rest.Held);
        Assert.Equal([4L, 5L], rest.Outbound.Select(o => o.SourceOffset));
        link.Commit(rest, 5);
        Assert.Equal(6L, link.NextSourceOffset);
        Assert.Equal(1L, link.RecordsQuarantined);
    }

    [Fact]
    public void Strict_with_stop_holds_the_record_and_commit_does_not_move_past_it()
    {
        using var link = Link(Strict with { OnBadRecord = BadRecordAction.Stop });
        var log = LogWithForgedAt(3, 6);

        var plan = link.Plan(log);
        link.Commit(plan, 3);
        var again = link.Plan(log);

        Assert.Equal(DecisionKind.Stop, plan.Held!.Kind);
        Assert.Equal(QuarantineKinds.UntrustedProvenance, plan.Held.QuarantineKind);
        Assert.Equal(3L, link.NextSourceOffset);
        Assert.Equal(0L, link.RecordsQuarantined);
        Assert.Equal("us-east@1a2b3c4d:2", link.Vector.ToString());
        Assert.Empty(again.Outbound);
        Assert.Equal(DecisionKind.Stop, again.Held!.Kind);
        Assert.Same(log[3], again.Held.Record);
    }

    [Fact]
    public void Strict_provenance_still_forwards_genuine_signed_records()
    {
        using var link = Link(Strict, forwarding: new OriginSetForwarding([S, Other]));
        SourceRecord[] log = [Record(0), SignedRecord(1, Prov(Other, P, 7, 0, Other, S), Keys), Record(2)];

        var plan = link.Plan(log);

        Assert.Null(plan.Held);
        Assert.Equal([0L, 1L, 2L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(OriginVector.Key(Other, Inc), plan.Outbound[1].Provenance.OriginKey);
    }

    // ---------------------------------------------------------------- refusals

    [Fact]
    public void A_refused_record_is_held_as_refused_by_destination_and_the_rest_follow()
    {
        using var link = Link(ReplicationPolicy.Default);
        var log = Enumerable.Range(0, 5).Select(o => Record(o)).ToArray();

        var plan = link.Plan(log);
        link.CommitUpToRefusal(plan, 2, 2, "RecordTooLarge: 2 MB > 1 MB");

        Assert.Equal(2L, link.NextSourceOffset);
        Assert.Equal(2L, link.DestinationEndOffset);
        Assert.Equal("us-east@1a2b3c4d:1", link.Vector.ToString());

        var replan = link.Plan(log);
        Assert.Empty(replan.Outbound);
        var held = replan.Held!;
        Assert.Equal(2L, held.Record.Offset);
        Assert.Equal(DecisionKind.Quarantine, held.Kind);
        Assert.Equal(QuarantineKinds.RefusedByDestination, held.QuarantineKind);
        Assert.Equal("RecordTooLarge: 2 MB > 1 MB", held.Reason);
        Assert.Equal(QuarantineKinds.RefusedByDestination, link.QuarantineEntryFor(held, 0).Kind);

        link.Commit(replan, 2);
        Assert.Equal(3L, link.NextSourceOffset);
        Assert.Equal(1L, link.RecordsQuarantined);

        var next = link.Plan(log);
        Assert.Null(next.Held);
        Assert.Equal([3L, 4L], next.Outbound.Select(o => o.SourceOffset));
        link.Commit(next, 4);
        Assert.Equal("us-east@1a2b3c4d:4", link.Vector.ToString());
        Assert.Equal(1L, link.RecordsQuarantined);
    }

    [Fact]
    public void A_refused_first_record_stays_where_it_is_and_stop_policy_holds_it_as_stop()
    {
        using var link = Link(ReplicationPolicy.Default with { OnBadRecord = BadRecordAction.Stop }, start: 10);
        var log = Enumerable.Range(10, 3).Select(o => Record(o)).ToArray();

        link.CommitUpToRefusal(link.Plan(log), 0, 0, "invalid record");
        var replan = link.Plan(log);
        link.Commit(replan, 0);

        Assert.Equal(10L, link.NextSourceOffset);
        Assert.Empty(link.Vector.Entries);
        Assert.Equal(DecisionKind.Stop, replan.Held!.Kind);
        Assert.Equal(QuarantineKinds.RefusedByDestination, replan.Held.QuarantineKind);
        Assert.Equal(0L, link.RecordsQuarantined);
    }

    [Fact]
    public void CommitUpToRefusal_rejects_an_index_outside_the_plan()
    {
        using var link = Link(ReplicationPolicy.Default);
        var plan = link.Plan([Record(0)]);

        Assert.Throws<ArgumentOutOfRangeException>(() => link.CommitUpToRefusal(plan, -1, 0, "x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => link.CommitUpToRefusal(plan, 1, 0, "x"));
    }

    // ---------------------------------------------------------------- the quarantine record format

    [Fact]
    public void QuarantineCodec_round_trips_an_entry_with_every_header()
    {
        RecordHeader[] original = [new("a", Utf8("1")), new("nothing", null), new("empty", []), ProvenanceHeader("garbage"), new("a", Utf8("2"))];
        var entry = new QuarantineEntry(S, Inc, D, Topic, P, 17, QuarantineKinds.UntrustedProvenance, "why; with = signs | and ünïcode", -5,
            new SourceRecord(17, Utf8("k"), Utf8("v"), 1732480000000, original));

        var headers = QuarantineCodec.Headers(entry);

        Assert.Equal(["a", "nothing", "empty", "mesh.provenance", "a", "mesh.quarantine", "mesh.quarantine.reason"], headers.Select(h => h.Name));
        Assert.Equal("1;source=us-east;incarnation=1a2b3c4d;destination=eu-west;topic=orders;partition=3;offset=17;kind=untrusted-provenance;at=-5;kept=1", Text(headers[5].Value));
        Assert.True(QuarantineCodec.TryDecode(Utf8("k"), Utf8("v"), 1732480000000, headers, out var decoded, out var reason), reason);
        Assert.Equal(entry with { Record = decoded!.Record }, decoded);
        Assert.Equal(17L, decoded.Record.Offset);
        Assert.Equal(Utf8("k"), decoded.Record.Key);
        Assert.Equal(Utf8("v"), decoded.Record.Value);
        Assert.Equal(1732480000000L, decoded.Record.TimestampMs);
        Assert.Equal(original.Select(h => (h.Name, Text(h.Value))), decoded.Record.Headers.Select(h => (h.Name, Text(h.Value))));
        Assert.Null(decoded.Record.Headers[1].Value);
    }

    [Fact]
    public void An_entry_too_large_for_the_quarantine_keeps_its_headers_and_says_where_the_record_is()
    {
        var entry = new QuarantineEntry(S, Inc, D, Topic, P, 17, QuarantineKinds.RefusedByDestination, "too large", 5,
            new SourceRecord(17, Utf8("k"), new byte[50_000], 1732480000000, [new("a", Utf8("1"))]));

        var slim = entry.WithoutRecord("larger than the quarantine accepts");

        Assert.True(QuarantineCodec.TryDecode(slim.Record.Key, slim.Record.Value, slim.Record.TimestampMs, QuarantineCodec.Headers(slim), out var decoded, out var reason), reason);
        Assert.False(decoded!.RecordKept);
        Assert.Null(decoded.Record.Value);
        Assert.Equal(["a"], decoded.Record.Headers.Select(h => h.Name));
        Assert.Contains($"reads it again from {S} {Topic}/{P} offset 17", decoded.Reason);
        Assert.StartsWith("too large [", decoded.Reason);
    }

    [Fact]
    public void A_gap_does_not_count_source_records_the_destination_shows_applied()
    {
        using var replication = new PartitionReplication(S, D, Topic, P, FullMeshForwarding.Instance, ReplicationPolicy.Default,
            ReplicationCheckpoint.Start(0, Inc, "5e1f09aa"));
        // A crash after writing source offsets 0..499 but before the checkpoint: the read-back finds them.
        replication.Vector.Advance(OriginVector.Key(S, Inc), 499);

        var counted = replication.SkipExpired(0, 2000);

        Assert.Equal((500L, 2000L), counted);
        Assert.Equal(1500, replication.RecordsExpired);
        Assert.Equal(2000, replication.NextSourceOffset);
    }

    [Fact]
    public void QuarantineCodec_keeps_a_null_key_and_value()
    {
        var entry = new QuarantineEntry(S, Inc, D, Topic, 0, 0, QuarantineKinds.RefusedByDestination, "", 0, new SourceRecord(0, null, null, 0, []));

        Assert.True(QuarantineCodec.TryDecode(null, null, 0, QuarantineCodec.Headers(entry), out var decoded, out var reason), reason);

        Assert.Null(decoded!.Record.Key);
        Assert.Null(decoded.Record.Value);
        Assert.Empty(decoded.Record.Headers);
        Assert.Equal("", decoded.Reason);
    }

    public static TheoryData<string, string> MalformedMeta => new()
    {
        { "2;source=a;incarnation=1;destination=b;topic=t;partition=0;offset=0;kind=k;at=0", "'mesh.quarantine' is not format version 1: 2;source=a;incarnation=1;destination=b;topic=t;partition=0;offset=0;kind=k;at=0" },
        { "1;incarnation=1;destination=b;topic=t;partition=0;offset=0;kind=k;at=0", "'mesh.quarantine' lacks a field: 1;incarnation=1;destination=b;topic=t;partition=0;offset=0;kind=k;at=0" },
        { "1;source=a;incarnation=1;destination=b;topic=t;partition=x;offset=0;kind=k;at=0", "'mesh.quarantine' lacks a field: 1;source=a;incarnation=1;destination=b;topic=t;partition=x;offset=0;kind=k;at=0" },
        { "1;source=a;incarnation=1;destination=b;topic=t;partition=0;offset=-1;kind=k;at=0", "'mesh.quarantine' lacks a field: 1;source=a;incarnation=1;destination=b;topic=t;partition=0;offset=-1;kind=k;at=0" },
        { "1;source=a;incarnation=1;destination=b;topic=t;partition=0;offset=0;at=0", "'mesh.quarantine' lacks a field: 1;source=a;incarnation=1;destination=b;topic=t;partition=0;offset=0;at=0" },
        { "1;source=a;incarnation=1;destination=b;topic=t;partition=0;offset=0;kind=k", "'mesh.quarantine' lacks a field: 1;source=a;incarnation=1;destination=b;topic=t;partition=0;offset=0;kind=k" },
    };

    [Theory]
    [MemberData(nameof(MalformedMeta))]
    public void QuarantineCodec_rejects_a_malformed_meta_header(string meta, string expectedReason)
    {
        Assert.False(QuarantineCodec.TryDecode(null, null, 0, [new(QuarantineCodec.MetaHeader, Utf8(meta))], out var entry, out var reason));
        Assert.Null(entry);
        Assert.Equal(expectedReason, reason);
    }

    [Fact]
    public void QuarantineCodec_rejects_a_record_without_the_meta_header_such_as_a_replay_marker()
    {
        var marker = QuarantineCodec.ReplayedMarker(41, 1200, 99);

        Assert.False(QuarantineCodec.TryDecode(null, null, 0, [marker], out _, out var reason));
        Assert.Equal("no 'mesh.quarantine' header", reason);
    }

    [Theory]
    [InlineData(0L, 0L, 0L)]
    [InlineData(41L, 1200L, 1732480000000L)]
    [InlineData(long.MaxValue, long.MaxValue, -1L)]
    public void Replay_markers_round_trip(long quarantineOffset, long written, long at)
    {
        var marker = QuarantineCodec.ReplayedMarker(quarantineOffset, written, at);

        Assert.Equal(QuarantineCodec.ReplayedHeader, marker.Name);
        Assert.Equal($"1;of={quarantineOffset};written={written};at={at}", Text(marker.Value));
        Assert.True(QuarantineCodec.TryDecodeReplayed([new("other", null), marker], out var of, out var atMs));
        Assert.Equal(quarantineOffset, of);
        Assert.Equal(at, atMs);
    }

    [Fact]
    public void A_record_without_a_replay_marker_is_not_one()
    {
        Assert.False(QuarantineCodec.TryDecodeReplayed([], out _, out _));
        Assert.False(QuarantineCodec.TryDecodeReplayed([new(QuarantineCodec.ReplayedHeader, Utf8("1;of=x;at=0"))], out _, out _));
        Assert.False(QuarantineCodec.TryDecodeReplayed([new(QuarantineCodec.ReplayedHeader, null)], out _, out _));
    }

    // ---------------------------------------------------------------- replay

    private static QuarantineEntry Entry(SourceRecord record, string destination = D) =>
        new(S, Inc, destination, Topic, P, record.Offset, QuarantineKinds.RefusedByDestination, "too large", 0, record);

    /// <summary>The entry as it comes back from the quarantine topic.</summary>
    private static QuarantineEntry Stored(QuarantineEntry entry)
    {
        Assert.True(QuarantineCodec.TryDecode(entry.Record.Key, entry.Record.Value, entry.Record.TimestampMs, QuarantineCodec.Headers(entry), out var decoded, out var reason), reason);
        return decoded!;
    }

    [Fact]
    public void Replay_gives_a_trusted_record_its_original_identity_signed_for_the_destination()
    {
        using var replay = new QuarantineReplay(D, ReplicationPolicy.Default with { Keys = Keys });
        var record = SignedRecord(17, Prov(Other, Inc2, Topic, P, 41, 5, Other, S), Keys, new RecordHeader("app", Utf8("x")));

        var outbound = replay.ToOutbound(Stored(Entry(record)));

        Assert.Equal(Prov(Other, Inc2, Topic, P, 41, 5, Other, S, D), outbound.Provenance);
        Assert.Equal(17L, outbound.SourceOffset);
        Assert.Equal(["app", ProvenanceCodec.HeaderName], outbound.Headers.Select(h => h.Name));
        using var signer = Keys.CreateSigner();
        var reading = ProvenanceTrust.Read(new SourceRecord(0, outbound.Key, outbound.Value, outbound.TimestampMs, outbound.Headers), D, Topic, P, signer);
        Assert.Equal(outbound.Provenance, reading.Trusted);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Replay_gives_an_untrusted_record_its_identity_where_it_was_read(bool keep)
    {
        using var replay = new QuarantineReplay(D, new ReplicationPolicy(Keys, true, keep, BadRecordAction.Quarantine));
        var forged = ProvenanceHeader(Prov(Other, Inc2, Topic, P, long.MaxValue, 5, Other, S));
        var record = Record(17, new RecordHeader("app", Utf8("x")), forged);

        var outbound = replay.ToOutbound(Stored(Entry(record) with { Kind = QuarantineKinds.UntrustedProvenance }));

        Assert.Equal(Prov(S, Inc, Topic, P, 17, record.TimestampMs, S, D), outbound.Provenance);
        Assert.Equal(keep ? ["app", ProvenanceCodec.UntrustedHeaderName, ProvenanceCodec.HeaderName] : ["app", ProvenanceCodec.HeaderName], outbound.Headers.Select(h => h.Name));
    }

    [Fact]
    public void Replay_never_writes_a_record_back_into_a_region_it_visited()
    {
        using var replay = new QuarantineReplay(D, ReplicationPolicy.Default with { Keys = Keys });
        var looped = SignedRecord(17, Prov(D, Inc2, Topic, P, 41, 5, D, S), Keys);

        var error = Assert.Throws<ArgumentException>(() => replay.ToOutbound(Stored(Entry(looped))));

        Assert.Contains("already lists eu-west in its hops", error.Message);
    }

    [Fact]
    public void Replay_refuses_an_entry_bound_for_another_destination()
    {
        using var replay = new QuarantineReplay(D, ReplicationPolicy.Default);

        var error = Assert.Throws<ArgumentException>(() => replay.ToOutbound(Entry(Record(1), destination: Other)));

        Assert.Contains("on its way to ap-south, not eu-west", error.Message);
    }

    // ---------------------------------------------------------------- gaps

    [Fact]
    public void SkipExpired_counts_only_what_is_ahead_is_idempotent_and_moves_the_source_offset()
    {
        using var link = Link(ReplicationPolicy.Default, start: 10);

        Assert.Equal((10L, 20L), link.SkipExpired(5, 20)); // 5..9 are behind us already
        Assert.Equal(10L, link.RecordsExpired);
        Assert.Equal(20L, link.NextSourceOffset);

        Assert.Equal((20L, 20L), link.SkipExpired(5, 20)); // the same gap again
        Assert.Equal(10L, link.RecordsExpired);

        var (from, to) = link.SkipExpired(0, 15); // a gap entirely behind us
        Assert.Equal(from, to);
        Assert.Equal(10L, link.RecordsExpired);
        Assert.Equal(20L, link.NextSourceOffset);

        Assert.Equal((20L, 25L), link.SkipExpired(20, 25));
        Assert.Equal(15L, link.RecordsExpired);
        Assert.Equal(25L, link.NextSourceOffset);
        Assert.Equal("2;next=25;dest=0;src=1a2b3c4d;dst=5e1f09aa;quarantined=0;expired=15;vector=", link.Checkpoint().Encode());

        var plan = link.Plan([Record(23), Record(24), Record(25)]);
        Assert.Equal([25L], plan.Outbound.Select(o => o.SourceOffset));
    }

    [Fact]
    public void SkipExpired_survives_a_restart_through_the_checkpoint()
    {
        using var link = Link(ReplicationPolicy.Default);
        link.SkipExpired(0, 7);

        Assert.True(ReplicationCheckpoint.TryDecode(link.Checkpoint().Encode(), out var checkpoint, out var reason), reason);
        using var restarted = new PartitionReplication(S, D, Topic, P, FullMeshForwarding.Instance, ReplicationPolicy.Default, checkpoint!);

        Assert.Equal(7L, restarted.RecordsExpired);
        Assert.Equal((7L, 7L), restarted.SkipExpired(0, 7));
        Assert.Equal(7L, restarted.RecordsExpired);
    }

    [Fact]
    public void An_inverted_gap_never_makes_the_expired_count_go_down()
    {
        using var link = Link(ReplicationPolicy.Default);

        try
        {
            link.SkipExpired(20, 10);
        }
        catch (ArgumentException)
        {
            // Rejecting it is fine too.
        }

        Assert.True(link.RecordsExpired >= 0, $"RecordsExpired is {link.RecordsExpired}");
    }

    // ---------------------------------------------------------------- reading the destination back

    [Fact]
    public void Observe_advances_the_vector_only_for_headers_trusted_in_the_destination()
    {
        using var link = Link(ReplicationPolicy.Default with { Keys = Keys });
        var genuine = Prov(S, Inc, Topic, P, 4, 0, S, D);

        link.Observe(Record(0, ProvenanceHeader(genuine with { OriginOffset = 1_000_000 })));                      // unsigned: an application wrote it
        link.Observe(SignedRecord(1, genuine with { OriginOffset = 1_000_000 }, Keys) with { Value = Utf8("x") }); // copied onto another value
        link.Observe(SignedRecord(2, Prov(S, Inc, Topic, P, 1_000_000, 0, S), Keys));                          // last hop is not the destination
        link.Observe(SignedRecord(3, genuine with { OriginPartition = 0, OriginOffset = 1_000_000 }, Keys));   // another partition
        link.Observe(Record(4, ProvenanceHeader("garbage")));
        link.Observe(Record(5));

        Assert.Empty(link.Vector.Entries);
        Assert.Equal(6L, link.DestinationEndOffset);

        link.Observe(SignedRecord(6, genuine, Keys));

        Assert.Equal(4L, link.Vector.HighestFor(SKey));
        Assert.Equal(7L, link.DestinationEndOffset);
        var plan = link.Plan(Enumerable.Range(0, 6).Select(o => Record(o)).ToList());
        Assert.Equal([5L], plan.Outbound.Select(o => o.SourceOffset));
    }

    [Fact]
    public void ObservedUpTo_moves_only_the_destination_end_forward()
    {
        using var link = Link(ReplicationPolicy.Default);

        link.ObservedUpTo(40);
        link.ObservedUpTo(30);

        Assert.Equal(40L, link.DestinationEndOffset);
        Assert.Empty(link.Vector.Entries);
    }
}
