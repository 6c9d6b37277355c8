using Mesh.Core.Replication;
using Mesh.Core.Topology;
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

    private static readonly OriginSet FullMesh = OriginSet.Of([S]);

    private static PartitionReplication Link(ReplicationPolicy policy, long start = 0, OriginSet? carried = null) =>
        new(S, D, Topic, Topic, P, NamingPolicy.Identity, carried ?? FullMesh, policy, ReplicationCheckpoint.Start(start, Inc, Inc2, carried ?? FullMesh));

    /// <summary>A log whose record at <paramref name="forged"/> carries a header signed with the mesh key for another record (copied): untrusted.</summary>
    private static SourceRecord[] LogWithForgedAt(int forged, int count) =>
        Enumerable.Range(0, count).Select(o => o == forged ? SignedRecord(o, Prov(Other, P, 1, 0, Other, S), Keys) with { Value = Utf8("copied onto this value") } : Record(o)).ToArray();

    /// <summary>A log whose record at <paramref name="unverifiable"/> carries an unsigned header: a region with keys cannot judge it.</summary>
    private static SourceRecord[] LogWithUnsignedAt(int unverifiable, int count) =>
        Enumerable.Range(0, count).Select(o => o == unverifiable ? Record(o, ProvenanceHeader(Prov(Other, P, 1, 0, Other, S))) : Record(o)).ToArray();

    private const string CopiedReason =
        "its signature does not match the record (its key, value or provenance differ from what was signed: a header copied from another record, or altered)";

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
        Assert.Equal($"provenance header not trusted: offset 3: {CopiedReason}", held.Reason);

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
        using var link = Link(Strict, carried: OriginSet.Of([S, Other]));
        SourceRecord[] log = [Record(0), SignedRecord(1, Prov(Other, P, 7, 0, Other, S), Keys), Record(2)];

        var plan = link.Plan(log);

        Assert.Null(plan.Held);
        Assert.Equal([0L, 1L, 2L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(OriginVector.Key(Other, Inc), plan.Outbound[1].Provenance.OriginKey);
    }

    [Fact]
    public void By_default_a_header_signed_with_the_mesh_key_for_another_record_is_replicated_as_local()
    {
        using var link = Link(Strict with { StrictProvenance = false });
        var log = LogWithForgedAt(3, 6);

        var plan = link.Plan(log);

        Assert.Null(plan.Held);
        Assert.Equal([0L, 1L, 2L, 3L, 4L, 5L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(Prov(S, P, 3, log[3].TimestampMs, S, D), plan.Outbound[3].Provenance);
        Assert.Equal(1, plan.UntrustedHeaders);
        Assert.Equal($"offset 3: {CopiedReason}", plan.LastUntrustedHeader);
    }

    // ---------------------------------------------------------------- unverifiable provenance (the regions' keys differ)

    public static TheoryData<string, bool, SourceRecord, string> UnverifiableHeaders => new()
    {
        { "unsigned, lenient", false, Record(3, ProvenanceHeader(Prov(Other, P, 1, 0, Other, S))),
            "it is not signed, and this region requires signed provenance (Mesh:Provenance:Key is set)" },
        { "unsigned, strict", true, Record(3, ProvenanceHeader(Prov(Other, P, 1, 0, Other, S))),
            "it is not signed, and this region requires signed provenance (Mesh:Provenance:Key is set)" },
        { "foreign key, lenient", false, SignedRecord(3, Prov(Other, P, 1, 0, Other, S), MeshKeys.Create(OtherKeyText, null)!),
            $"it is signed with key {MeshKeys.Create(OtherKeyText, null)!.SigningKeyId}, which this region does not hold (it accepts {Keys.SigningKeyId})" },
        { "foreign key, strict", true, SignedRecord(3, Prov(Other, P, 1, 0, Other, S), MeshKeys.Create(OtherKeyText, null)!),
            $"it is signed with key {MeshKeys.Create(OtherKeyText, null)!.SigningKeyId}, which this region does not hold (it accepts {Keys.SigningKeyId})" },
        { "foreign key, looped, lenient", false, SignedRecord(3, Prov(D, P, 1, 0, D, S), MeshKeys.Create(OtherKeyText, null)!),
            $"it is signed with key {MeshKeys.Create(OtherKeyText, null)!.SigningKeyId}, which this region does not hold (it accepts {Keys.SigningKeyId})" },
    };

    [Theory]
    [MemberData(nameof(UnverifiableHeaders))]
    public void A_header_the_region_cannot_verify_is_held_for_the_quarantine_whatever_the_strictness(string description, bool strict, SourceRecord record, string why)
    {
        var policy = Strict with { StrictProvenance = strict };
        using var link = Link(policy, carried: OriginSet.Of([S, Other, D]));
        using var stopping = Link(policy with { OnBadRecord = BadRecordAction.Stop }, carried: OriginSet.Of([S, Other, D]));

        var quarantine = link.Decide(record, new OriginVector());
        var stop = stopping.Decide(record, new OriginVector());

        var reason = $"offset 3: provenance header cannot be verified here: {why}. Give every region the same Mesh:Provenance:Key (or AdditionalKey during a rotation)";
        Assert.True(quarantine.Kind == DecisionKind.Quarantine, $"{description}: {quarantine.Kind}");
        Assert.Null(quarantine.Outbound);
        Assert.StartsWith(QuarantineKinds.UnverifiableProvenance, quarantine.QuarantineKind);
        Assert.StartsWith("unverifiable-provenance", quarantine.QuarantineKind);
        Assert.StartsWith(reason, quarantine.Reason);
        Assert.Null(quarantine.UntrustedHeader); // never re-labelled as local
        Assert.True(stop.Kind == DecisionKind.Stop, $"{description}: {stop.Kind}");
        Assert.Null(stop.Outbound);
        Assert.StartsWith(QuarantineKinds.UnverifiableProvenance, stop.QuarantineKind);
        Assert.StartsWith(reason, stop.Reason);
    }

    [Fact]
    public void An_unverifiable_header_ends_the_plan_and_commit_moves_past_it_counting_it()
    {
        using var link = Link(Strict with { StrictProvenance = false });
        var log = LogWithUnsignedAt(3, 6);

        var plan = link.Plan(log);

        Assert.Equal([0L, 1L, 2L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(0, plan.UntrustedHeaders);
        Assert.Equal(3L, plan.NextSourceOffset);
        var held = plan.Held!;
        Assert.Same(log[3], held.Record);
        Assert.Equal(DecisionKind.Quarantine, held.Kind);
        Assert.StartsWith(QuarantineKinds.UnverifiableProvenance, held.QuarantineKind);
        var entry = link.QuarantineEntryFor(held, 1234);
        Assert.Equal(new QuarantineEntry(S, Inc, D, Topic, P, 3, held.QuarantineKind, held.Reason, 1234, log[3]), entry);

        link.Commit(plan, 3);

        Assert.Equal(4L, link.NextSourceOffset);
        Assert.Equal(1L, link.RecordsQuarantined);
        Assert.Equal("us-east@1a2b3c4d:2", link.Vector.ToString()); // the held record moves no vector
        var rest = link.Plan(log);
        Assert.Null(rest.Held);
        Assert.Equal([4L, 5L], rest.Outbound.Select(o => o.SourceOffset));
    }

    [Fact]
    public void An_unverifiable_header_under_stop_keeps_stopping_the_partition()
    {
        using var link = Link(Strict with { StrictProvenance = false, OnBadRecord = BadRecordAction.Stop });
        var log = LogWithUnsignedAt(0, 2);

        var plan = link.Plan(log);
        link.Commit(plan, 0);
        var again = link.Plan(log);

        Assert.Equal(DecisionKind.Stop, plan.Held!.Kind);
        Assert.StartsWith(QuarantineKinds.UnverifiableProvenance, plan.Held.QuarantineKind);
        Assert.Equal(0L, link.NextSourceOffset);
        Assert.Equal(0L, link.RecordsQuarantined);
        Assert.Empty(again.Outbound);
        Assert.Same(log[0], again.Held!.Record);
    }

    [Fact]
    public void Without_keys_an_unsigned_header_is_judged_by_its_structure_only()
    {
        using var link = Link(ReplicationPolicy.Default, carried: OriginSet.Of([S, Other]));
        var log = LogWithUnsignedAt(1, 3);

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
    public void A_refusal_not_known_to_be_the_record_commits_the_records_before_it_and_retries_it()
    {
        using var link = Link(ReplicationPolicy.Default);
        var log = Enumerable.Range(0, 5).Select(o => Record(o)).ToArray();

        var plan = link.Plan(log);
        link.CommitUpToRefusal(plan, 2, 2, reason: null); // the batch was refused; record 2 is not known to be at fault

        Assert.Equal(2L, link.NextSourceOffset);
        Assert.Equal(2L, link.DestinationEndOffset);
        Assert.Equal("us-east@1a2b3c4d:1", link.Vector.ToString());
        Assert.Equal(0L, link.RecordsQuarantined);

        var replan = link.Plan(log); // the record is planned again as usual, not held
        Assert.Null(replan.Held);
        Assert.Equal([2L, 3L, 4L], replan.Outbound.Select(o => o.SourceOffset));
        link.Commit(replan, 5);
        Assert.Equal(5L, link.NextSourceOffset);
        Assert.Equal("us-east@1a2b3c4d:4", link.Vector.ToString());
        Assert.Equal(0L, link.RecordsQuarantined);
    }

    [Fact]
    public void A_batch_refusal_replayed_one_record_at_a_time_holds_only_the_record_at_fault()
    {
        using var link = Link(ReplicationPolicy.Default);
        var log = Enumerable.Range(0, 4).Select(o => Record(o)).ToArray();

        // The whole batch was refused at its first record: nothing known about which one is at fault.
        link.CommitUpToRefusal(link.Plan(log), 0, 0, reason: null);
        Assert.Equal(0L, link.NextSourceOffset);

        // One at a time: record 0 is written, record 1 is refused on its own.
        var one = link.Plan(log, maxOutbound: 1);
        Assert.Equal([0L], one.Outbound.Select(o => o.SourceOffset));
        link.Commit(one, 1);
        var two = link.Plan(log, maxOutbound: 1);
        Assert.Equal([1L], two.Outbound.Select(o => o.SourceOffset));
        link.CommitUpToRefusal(two, 0, 1, "RecordTooLarge");

        var held = link.Plan(log).Held!;
        Assert.Equal(1L, held.Record.Offset);
        Assert.Equal(QuarantineKinds.RefusedByDestination, held.QuarantineKind);
        Assert.Equal("RecordTooLarge", held.Reason);
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
        Assert.Equal("1;source=us-east;incarnation=1a2b3c4d;destination=eu-west;topic=orders;partition=3;offset=17;kind=untrusted-provenance;at=-5;kept=1;ts=1732480000000;lat=0", Text(headers[5].Value));
        Assert.True(QuarantineCodec.TryDecode(Utf8("k"), Utf8("v"), 1732480000000, headers, out var decoded, out var reason), reason);
        Assert.Equal(entry with { Record = decoded!.Record }, decoded);
        Assert.Equal(17L, decoded.Record.Offset);
        Assert.Equal(Utf8("k"), decoded.Record.Key);
        Assert.Equal(Utf8("v"), decoded.Record.Value);
        Assert.Equal(1732480000000L, decoded.Record.TimestampMs);
        Assert.Equal(original.Select(h => (h.Name, Text(h.Value))), decoded.Record.Headers.Select(h => (h.Name, Text(h.Value))));
        Assert.Null(decoded.Record.Headers[1].Value);
    }

    [Theory]
    [InlineData(1732480000000L, false, "ts=1732480000000;lat=0")]
    [InlineData(-1L, true, "ts=-1;lat=1")]
    [InlineData(long.MinValue, false, "ts=-9223372036854775808;lat=0")]
    public void The_stored_record_timestamp_is_the_quarantine_time_and_the_source_timestamp_comes_back_from_ts(long sourceTimestamp, bool logAppendTime, string expectedFields)
    {
        var entry = new QuarantineEntry(S, Inc, D, Topic, P, 17, QuarantineKinds.UnverifiableProvenance, "keys differ", 1800000000000,
            new SourceRecord(17, Utf8("k"), Utf8("v"), sourceTimestamp, [new("a", Utf8("1"))], logAppendTime));
        var headers = QuarantineCodec.Headers(entry);
        Assert.EndsWith($";kind=unverifiable-provenance;at=1800000000000;kept=1;{expectedFields}", Text(headers[^2].Value));

        // The stored Kafka record carries the time it was quarantined; its own timestamp is ignored when 'ts' is there.
        Assert.True(QuarantineCodec.TryDecode(Utf8("k"), Utf8("v"), 1800000000000, headers, out var decoded, out var reason), reason);

        Assert.Equal(sourceTimestamp, decoded!.Record.TimestampMs);
        Assert.Equal(logAppendTime, decoded.Record.LogAppendTime);
        Assert.Equal(1800000000000, decoded.QuarantinedAtMs);
        Assert.Equal(entry with { Record = decoded.Record }, decoded);
    }

    [Fact]
    public void A_quarantine_record_written_before_ts_existed_keeps_its_stored_timestamp()
    {
        RecordHeader[] headers =
        [
            new("a", Utf8("1")),
            new(QuarantineCodec.MetaHeader, Utf8("1;source=us-east;incarnation=1a2b3c4d;destination=eu-west;topic=orders;partition=3;offset=17;kind=refused-by-destination;at=5;kept=1")),
            new(QuarantineCodec.ReasonHeader, Utf8("too large")),
        ];

        Assert.True(QuarantineCodec.TryDecode(Utf8("k"), Utf8("v"), 1732480000000, headers, out var decoded, out var reason), reason);

        Assert.Equal(1732480000000, decoded!.Record.TimestampMs);
        Assert.False(decoded.Record.LogAppendTime);
        Assert.Equal(["a"], decoded.Record.Headers.Select(h => h.Name));
    }

    [Fact]
    public void An_entry_too_large_for_the_quarantine_keeps_only_where_the_record_is_and_why()
    {
        var entry = new QuarantineEntry(S, Inc, D, Topic, P, 17, QuarantineKinds.RefusedByDestination, "too large", 5,
            new SourceRecord(17, Utf8("k"), new byte[50_000], 1732480000000, [new("a", Utf8("1")), new("big", new byte[50_000])], LogAppendTime: true));

        var slim = entry.WithoutRecord("larger than the quarantine accepts");

        Assert.Null(slim.Record.Key);
        Assert.Null(slim.Record.Value);
        Assert.Empty(slim.Record.Headers); // the headers alone may be what is too large
        Assert.Equal(["mesh.quarantine", "mesh.quarantine.reason"], QuarantineCodec.Headers(slim).Select(h => h.Name));
        Assert.True(QuarantineCodec.TryDecode(slim.Record.Key, slim.Record.Value, 99, QuarantineCodec.Headers(slim), out var decoded, out var reason), reason);
        Assert.False(decoded!.RecordKept);
        Assert.Null(decoded.Record.Key);
        Assert.Null(decoded.Record.Value);
        Assert.Empty(decoded.Record.Headers);
        Assert.Equal(1732480000000, decoded.Record.TimestampMs);
        Assert.True(decoded.Record.LogAppendTime);
        Assert.Equal((S, Inc, D, Topic, P, 17L, QuarantineKinds.RefusedByDestination, 5L),
            (decoded.Source, decoded.SourceIncarnation, decoded.Destination, decoded.Topic, decoded.Partition, decoded.SourceOffset, decoded.Kind, decoded.QuarantinedAtMs));
        Assert.Contains("only where it is and why are kept here", decoded.Reason);
        Assert.Contains($"reads it again from {S} {Topic}/{P} offset 17", decoded.Reason);
        Assert.StartsWith("too large [larger than the quarantine accepts;", decoded.Reason);
        Assert.Equal(2, entry.Record.Headers.Count); // the entry itself is not modified
    }

    [Fact]
    public void A_gap_does_not_count_source_records_the_destination_shows_applied()
    {
        using var replication = new PartitionReplication(S, D, Topic, Topic, P, NamingPolicy.Identity, FullMesh, ReplicationPolicy.Default,
            ReplicationCheckpoint.Start(0, Inc, "5e1f09aa", FullMesh));
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

    /// <summary>The entry as it comes back from the quarantine topic (stored with the time it was quarantined as its timestamp).</summary>
    private static QuarantineEntry Stored(QuarantineEntry entry)
    {
        Assert.True(QuarantineCodec.TryDecode(entry.Record.Key, entry.Record.Value, 1_900_000_000_000, QuarantineCodec.Headers(entry), out var decoded, out var reason), reason);
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

    [Fact]
    public void A_write_with_holes_commits_what_was_written_and_counts_the_holes_as_quarantined()
    {
        using var link = Link(ReplicationPolicy.Default);
        var plan = link.Plan([Record(0), Record(1), Record(2), Record(3)]);

        link.CommitWithHoles(plan, 3, [1]);

        Assert.Equal(4, link.NextSourceOffset);
        Assert.Equal(1, link.RecordsQuarantined);
        Assert.Equal(3, link.Vector.HighestFor(SKey));
        Assert.Equal(3, link.DestinationEndOffset);
    }

    [Fact]
    public void A_forwarded_record_is_written_with_its_origin_timestamp_even_when_a_hop_stamped_append_time()
    {
        var provenance = Prov(Other, Inc2, Topic, P, 41, 1732480000000, Other, S);
        var signed = SignedRecord(17, provenance, Keys);
        var appendTimed = signed with { TimestampMs = 1800000000000, LogAppendTime = true };
        using var link = Link(ReplicationPolicy.Default with { Keys = Keys }, carried: OriginSet.Of([S, Other]));

        var decision = link.Decide(appendTimed, new OriginVector());

        Assert.Equal(DecisionKind.Forward, decision.Kind);
        Assert.Equal(1732480000000, decision.Outbound!.TimestampMs);
        // The next region, whose topic keeps create times, trusts it.
        var next = new SourceRecord(5, decision.Outbound.Key, decision.Outbound.Value, decision.Outbound.TimestampMs, decision.Outbound.Headers);
        using var signer = Keys.CreateSigner();
        Assert.Equal(ProvenanceVerdict.Trusted, ProvenanceTrust.Read(next, D, Topic, P, signer).Verdict);
    }

    [Fact]
    public void An_unverifiable_header_that_at_its_word_would_be_written_here_is_a_plain_unverifiable_quarantine()
    {
        var foreign = MeshKeys.Create(OtherKeyText, null)!;
        // Originated at a third region and forwarded by us-east, over a route that carries that origin.
        var record = SignedRecord(17, Prov(Other, Inc2, Topic, P, 41, 5, Other, S), foreign);
        using var carriesOther = Link(ReplicationPolicy.Default with { Keys = Keys }, carried: OriginSet.Of([S, Other]));
        using var fullMesh = Link(ReplicationPolicy.Default with { Keys = Keys });

        Assert.Equal(QuarantineKinds.UnverifiableProvenance, carriesOther.Decide(record, new OriginVector()).QuarantineKind);
        Assert.Equal(QuarantineKinds.UnverifiableProvenanceElsewhere, fullMesh.Decide(record, new OriginVector()).QuarantineKind);
        var applied = new OriginVector();
        applied.Advance(OriginVector.Key(Other, Inc2), 41);
        Assert.Equal(QuarantineKinds.UnverifiableProvenanceElsewhere, carriesOther.Decide(record, applied).QuarantineKind);
    }

    [Fact]
    public void Replay_of_an_unverifiable_record_once_the_region_holds_the_key_gives_it_its_original_identity()
    {
        var foreign = MeshKeys.Create(OtherKeyText, null)!;
        var record = SignedRecord(17, Prov(Other, Inc2, Topic, P, 41, 5, Other, S), foreign, new RecordHeader("app", Utf8("x")));
        // Not on the full-mesh route of us-east -> eu-west at its word (it originated at a third region).
        using (var link = Link(ReplicationPolicy.Default with { Keys = Keys }))
            Assert.Equal(QuarantineKinds.UnverifiableProvenanceElsewhere, link.Decide(record, new OriginVector()).QuarantineKind);
        var stored = Stored(Entry(record) with { Kind = QuarantineKinds.UnverifiableProvenance });

        // The operator gives this region the other key as AdditionalKey, then replays.
        using var replay = new QuarantineReplay(D, ReplicationPolicy.Default with { Keys = MeshKeys.Create(KeyText, OtherKeyText) });
        var outbound = replay.ToOutbound(stored);

        Assert.Equal(Prov(Other, Inc2, Topic, P, 41, 5, Other, S, D), outbound.Provenance);
        Assert.Equal(5L, outbound.TimestampMs);
        Assert.Equal(["app", ProvenanceCodec.HeaderName], outbound.Headers.Select(h => h.Name));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Replay_gives_an_untrusted_record_its_identity_where_it_was_read(bool keep)
    {
        using var replay = new QuarantineReplay(D, new ReplicationPolicy(Keys, true, keep, BadRecordAction.Quarantine));
        // Signed with the mesh key but copied from another record: verifiable, and not this record's.
        var copied = SignedRecord(99, Prov(Other, Inc2, Topic, P, long.MaxValue, 5, Other, S), Keys).Headers[^1];
        var record = Record(17, new RecordHeader("app", Utf8("x")), copied);

        var outbound = replay.ToOutbound(Stored(Entry(record) with { Kind = QuarantineKinds.UntrustedProvenance }));

        Assert.Equal(Prov(S, Inc, Topic, P, 17, record.TimestampMs, S, D), outbound.Provenance);
        Assert.Equal(keep ? ["app", ProvenanceCodec.UntrustedHeaderName, ProvenanceCodec.HeaderName] : ["app", ProvenanceCodec.HeaderName], outbound.Headers.Select(h => h.Name));
    }

    [Fact]
    public void Replay_refuses_a_record_whose_header_still_cannot_be_verified()
    {
        using var replay = new QuarantineReplay(D, ReplicationPolicy.Default with { Keys = Keys });
        var unsigned = Record(17, ProvenanceHeader(Prov(Other, Inc2, Topic, P, 41, 5, Other, S)));

        var error = Assert.Throws<ArgumentException>(() => replay.ToOutbound(Stored(Entry(unsigned) with { Kind = QuarantineKinds.UnverifiableProvenance })));

        Assert.Contains("still cannot be verified", error.Message);
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
        Assert.Equal("3;next=25;dest=0;src=1a2b3c4d;dst=5e1f09aa;quarantined=0;expired=15;carried=us-east;catchup=;vector=", link.Checkpoint().Encode());

        var plan = link.Plan([Record(23), Record(24), Record(25)]);
        Assert.Equal([25L], plan.Outbound.Select(o => o.SourceOffset));
    }

    [Fact]
    public void SkipExpired_survives_a_restart_through_the_checkpoint()
    {
        using var link = Link(ReplicationPolicy.Default);
        link.SkipExpired(0, 7);

        Assert.True(ReplicationCheckpoint.TryDecode(link.Checkpoint().Encode(), out var checkpoint, out var reason), reason);
        using var restarted = new PartitionReplication(S, D, Topic, Topic, P, NamingPolicy.Identity, FullMesh, ReplicationPolicy.Default, checkpoint!);

        Assert.Equal(7L, restarted.RecordsExpired);
        Assert.Equal((7L, 7L), restarted.SkipExpired(0, 7));
        Assert.Equal(7L, restarted.RecordsExpired);
    }

    [Theory]
    [InlineData(20L, 10L)]
    [InlineData(1L, 0L)]
    [InlineData(-1L, 5L)]
    [InlineData(-5L, -1L)]
    public void SkipExpired_rejects_an_inverted_or_negative_gap_and_changes_nothing(long from, long to)
    {
        using var link = Link(ReplicationPolicy.Default, start: 3);

        Assert.Throws<ArgumentOutOfRangeException>(() => link.SkipExpired(from, to));

        Assert.Equal(0L, link.RecordsExpired);
        Assert.Equal(3L, link.NextSourceOffset);
    }

    [Fact]
    public void SkipExpired_of_an_empty_gap_counts_nothing()
    {
        using var link = Link(ReplicationPolicy.Default, start: 3);

        Assert.Equal((10L, 10L), link.SkipExpired(10, 10));
        Assert.Equal(0L, link.RecordsExpired);
    }

    [Fact]
    public void A_gap_counts_only_the_source_offsets_above_what_the_vector_shows_applied_for_the_source_itself()
    {
        using var link = Link(ReplicationPolicy.Default, start: 100);
        link.Vector.Advance(OriginVector.Key(S, Inc), 149);        // the source's own origin stream: found in the destination
        link.Vector.Advance(OriginVector.Key(S, Inc2), 10_000);    // an older incarnation of the source: another stream
        link.Vector.Advance(OriginVector.Key(Other, Inc), 10_000); // another origin's offsets are not source offsets

        Assert.Equal((150L, 200L), link.SkipExpired(100, 200));
        Assert.Equal(50L, link.RecordsExpired);
        Assert.Equal(200L, link.NextSourceOffset);
    }

    [Fact]
    public void A_gap_entirely_applied_in_the_destination_counts_nothing_but_moves_the_source_offset()
    {
        using var link = Link(ReplicationPolicy.Default, start: 0);
        link.Vector.Advance(OriginVector.Key(S, Inc), 499);

        var (from, to) = link.SkipExpired(100, 300);

        Assert.Equal(from, to);
        Assert.Equal(0L, link.RecordsExpired);
        Assert.Equal(300L, link.NextSourceOffset);
        var plan = link.Plan([Record(299), Record(300)]);
        Assert.Empty(plan.Outbound); // 300 is applied already (the vector shows up to 499)
        Assert.Equal(1, plan.Skipped);
    }

    [Fact]
    public void A_reborn_source_counts_its_gap_in_full_whatever_its_old_incarnation_applied()
    {
        using var link = new PartitionReplication(S, D, Topic, Topic, P, NamingPolicy.Identity, FullMesh, ReplicationPolicy.Default,
            ReplicationCheckpoint.Start(0, Inc2, Inc, FullMesh));
        link.Vector.Advance(OriginVector.Key(S, Inc), 10_000); // the old incarnation's offsets say nothing of the new one's

        Assert.Equal((0L, 40L), link.SkipExpired(0, 40));
        Assert.Equal(40L, link.RecordsExpired);
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
