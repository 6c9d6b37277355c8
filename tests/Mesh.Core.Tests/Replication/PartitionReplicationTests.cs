using Mesh.Core.Replication;
using Mesh.Core.Topology;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

/// <summary>One link us-east -> eu-west, partition 3; ap-south is the third region of the mesh.</summary>
public sealed class PartitionReplicationTests
{
    private const string S = "us-east";
    private const string D = "eu-west";
    private const string Other = "ap-south";
    private const int P = 3;

    /// <summary>A full mesh link carries its source's own records.</summary>
    private static readonly OriginSet FullMesh = OriginSet.Of([S]);

    private static ReplicationCheckpoint Fresh => ReplicationCheckpoint.Start(0, Inc, Inc2, FullMesh);

    /// <summary>A link with <paramref name="start"/> (taken while it carried <paramref name="carried"/>, or not saying).</summary>
    private static PartitionReplication Link(ReplicationCheckpoint? start = null, OriginSet? carried = null, ReplicationPolicy? policy = null)
    {
        carried ??= FullMesh;
        return new(S, D, Topic, Topic, P, NamingPolicy.Identity, carried, policy ?? ReplicationPolicy.Default,
            start ?? ReplicationCheckpoint.Start(0, Inc, Inc2, carried));
    }

    private static readonly string SKey = OriginVector.Key(S, Inc);
    private static readonly string OtherKey = OriginVector.Key(Other, Inc);
    private static readonly string DKey = OriginVector.Key(D, Inc);

    private static ReplicationCheckpoint StartAt(long next, long dest, params (string Origin, long Offset)[] entries)
    {
        var vector = new OriginVector();
        foreach (var (origin, offset) in entries) vector.Advance(origin, offset);
        return new ReplicationCheckpoint(next, vector, dest, Inc, Inc2, 0, 0);
    }

    /// <summary>Carries every origin: leaves loop and duplicate protection to the runtime.</summary>
    private static readonly OriginSet Flooding = OriginSet.All;

    // ---------------------------------------------------------------- construction

    [Theory]
    [InlineData("", D, Topic, Topic, "source")]
    [InlineData("us+east", D, Topic, Topic, "source")]
    [InlineData("us east", D, Topic, Topic, "source")]
    [InlineData(S, "", Topic, Topic, "destination")]
    [InlineData(S, "eu+west", Topic, Topic, "destination")]
    [InlineData(S, "eu|west", Topic, Topic, "destination")]
    [InlineData(S, D, "", Topic, "sourceTopic")]
    [InlineData(S, D, "or|ders", Topic, "sourceTopic")]
    [InlineData(S, D, "orders ", Topic, "sourceTopic")]
    [InlineData(S, D, Topic, "", "destinationTopic")]
    [InlineData(S, D, Topic, "us-east|orders", "destinationTopic")]
    public void Constructor_rejects_invalid_region_ids_and_topics(string source, string destination, string sourceTopic, string destinationTopic, string parameter)
    {
        var error = Assert.Throws<ArgumentException>(() =>
            new PartitionReplication(source, destination, sourceTopic, destinationTopic, P, NamingPolicy.Identity, FullMesh, ReplicationPolicy.Default, Fresh));

        Assert.Equal(parameter, error.ParamName);
    }

    [Fact]
    public void Constructor_rejects_a_link_into_itself()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            new PartitionReplication(S, S, Topic, Topic, P, NamingPolicy.Identity, FullMesh, ReplicationPolicy.Default, Fresh));

        Assert.Contains("a link cannot replicate region 'us-east' into itself", error.Message);
    }

    [Fact]
    public void Constructor_rejects_a_negative_partition_or_source_offset()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new PartitionReplication(S, D, Topic, Topic, -1, NamingPolicy.Identity, FullMesh, ReplicationPolicy.Default, Fresh));
        Assert.Throws<ArgumentOutOfRangeException>(() => Link(StartAt(-1, 0)));
    }

    [Fact]
    public void Constructor_rejects_a_checkpoint_taken_while_the_link_carried_other_origins()
    {
        var error = Assert.Throws<ArgumentException>(() => Link(Fresh, carried: OriginSet.Of([S, Other])));

        Assert.Equal("start", error.ParamName);
        Assert.StartsWith("the checkpoint of us-east -> eu-west orders/3 was taken while the link carried us-east, not ap-south,us-east: reassign the checkpoint first",
            error.Message);
    }

    [Fact]
    public void Constructor_takes_a_checkpoint_that_does_not_say_what_it_carried()
    {
        using var link = Link(StartAt(4, 0), carried: OriginSet.Of([S, Other]));

        Assert.Equal(OriginSet.Of([S, Other]), link.Carried);
        Assert.Equal(OriginSet.Of([S, Other]), link.Checkpoint().Carried);
        Assert.Null(link.CatchUp);
    }

    [Fact]
    public void Constructor_resumes_from_the_checkpoint_and_copies_its_vector()
    {
        var start = new ReplicationCheckpoint(120, new OriginVector(), 4411, Inc, Inc2, 2, 5);
        start.Vector.Advance(SKey, 119);

        using var link = Link(start);
        start.Vector.Advance(SKey, 500); // the caller's checkpoint is not the live state

        Assert.Equal(S, link.Source);
        Assert.Equal(D, link.Destination);
        Assert.Equal(Topic, link.Topic);
        Assert.Equal(Topic, link.DestinationTopic);
        Assert.Equal(P, link.Partition);
        Assert.Equal(FullMesh, link.Carried);
        Assert.Null(link.CatchUp);
        Assert.Equal(Inc, link.SourceIncarnation);
        Assert.Equal(Inc2, link.DestinationIncarnation);
        Assert.Equal(120L, link.NextSourceOffset);
        Assert.Equal(4411L, link.DestinationEndOffset);
        Assert.Equal(2L, link.RecordsQuarantined);
        Assert.Equal(5L, link.RecordsExpired);
        Assert.Equal("us-east@1a2b3c4d:119", link.Vector.ToString());
        Assert.Equal("3;next=120;dest=4411;src=1a2b3c4d;dst=5e1f09aa;quarantined=2;expired=5;carried=us-east;catchup=;vector=us-east@1a2b3c4d:119", link.Checkpoint().Encode());
    }

    // ---------------------------------------------------------------- a local record's first hop

    [Fact]
    public void A_local_record_gets_provenance_for_its_first_hop()
    {
        var key = Utf8("k");
        var value = Utf8("v");
        var record = new SourceRecord(7, key, value, -1732480000000, []);

        var plan = Link().Plan([record]);

        var outbound = Assert.Single(plan.Outbound);
        Assert.Equal(Prov(S, P, 7, -1732480000000, S, D), outbound.Provenance);
        Assert.Same(key, outbound.Key);
        Assert.Same(value, outbound.Value);
        Assert.Equal(-1732480000000L, outbound.TimestampMs);
        Assert.Equal(7L, outbound.SourceOffset);
        var header = Assert.Single(outbound.Headers);
        Assert.Equal("mesh.provenance", header.Name);
        Assert.Equal("2|us-east|1a2b3c4d|orders|3|7|-1732480000000|us-east,eu-west|-", Text(header.Value));
        Assert.Null(plan.Held);
        Assert.Equal(0, plan.Skipped);
        Assert.Equal(0, plan.UntrustedHeaders);
        Assert.Equal(8L, plan.NextSourceOffset);
    }

    [Fact]
    public void A_local_record_is_signed_for_its_key_value_and_timestamp_when_the_mesh_has_a_key()
    {
        var record = new SourceRecord(7, Utf8("k"), Utf8("v"), 99, []);

        var outbound = Assert.Single(Link(policy: ReplicationPolicy.Default with { Keys = Keys }).Plan([record]).Outbound);

        var header = Assert.Single(outbound.Headers);
        Assert.StartsWith($"2|us-east|1a2b3c4d|orders|3|7|99|us-east,eu-west|{Keys.SigningKeyId}.", Text(header.Value));
        Assert.True(ProvenanceCodec.TryDecode(header.Value, out var decoded, out var reason), reason);
        using var signer = Keys.CreateSigner();
        Assert.True(signer.Verify(header.Value, decoded!, record.Key, record.Value, out reason), reason);
    }

    [Fact]
    public void A_local_record_keeps_its_application_headers_in_order_and_unchanged()
    {
        var traceValue = Utf8("trace-1");
        RecordHeader[] application =
        [
            new("trace", traceValue),
            new("tenant", Utf8("acme")),
            new("empty", []),
            new("nothing", null),
            new("tenant", Utf8("second-tenant-header")),
        ];
        var record = new SourceRecord(0, null, null, 1, application);

        var outbound = Assert.Single(Link().Plan([record]).Outbound);

        Assert.Equal(6, outbound.Headers.Count);
        for (var i = 0; i < application.Length; i++)
        {
            Assert.Equal(application[i].Name, outbound.Headers[i].Name);
            Assert.Equal(Text(application[i].Value), Text(outbound.Headers[i].Value));
        }
        Assert.Same(traceValue, outbound.Headers[0].Value);
        Assert.Null(outbound.Headers[3].Value);
        Assert.Equal("mesh.provenance", outbound.Headers[5].Name);
        Assert.Equal("2|us-east|1a2b3c4d|orders|3|0|1|us-east,eu-west|-", Text(outbound.Headers[5].Value));
        Assert.Null(outbound.Key);
        Assert.Null(outbound.Value);
        Assert.Equal(5, record.Headers.Count); // the source record is not modified
    }

    [Fact]
    public void A_forwarded_record_carries_its_original_identity_and_replaces_its_provenance_header()
    {
        // Flooding, so that a record that originated at ap-south and passed through us-east is carried on.
        var link = Link(carried: Flooding);
        // A replicated record carries its origin timestamp as its own.
        var record = new SourceRecord(50, Utf8("k"), Utf8("v"), 123,
        [
            new("a", Utf8("1")),
            ProvenanceHeader(Prov(Other, Inc2, Topic, P, 12, 123, Other, S)),
            new("b", Utf8("2")),
        ]);

        var outbound = Assert.Single(link.Plan([record]).Outbound);

        Assert.Equal(Prov(Other, Inc2, Topic, P, 12, 123, Other, S, D), outbound.Provenance);
        Assert.Equal(50L, outbound.SourceOffset);
        Assert.Equal(123L, outbound.TimestampMs);
        Assert.Equal(["a", "b", "mesh.provenance"], outbound.Headers.Select(h => h.Name));
        Assert.Equal("2|ap-south|5e1f09aa|orders|3|12|123|ap-south,us-east,eu-west|-", Text(outbound.Headers[2].Value));
        Assert.Empty(link.Vector.Entries);
    }

    [Theory]
    [InlineData("us-east", "us-east", DecisionKind.Forward)]
    [InlineData("us-east", "ap-south", DecisionKind.SkipNotOnRoute)]
    [InlineData("ap-south,us-east", "ap-south", DecisionKind.Forward)]
    [InlineData("ap-south", "us-east", DecisionKind.SkipNotOnRoute)]
    [InlineData("", "us-east", DecisionKind.SkipNotOnRoute)]
    [InlineData("*", "ap-south", DecisionKind.Forward)]
    public void A_record_crosses_only_when_the_link_carries_its_origin(string carried, string origin, DecisionKind expected)
    {
        Assert.True(OriginSet.TryParse(carried, out var set, out var reason), reason);
        var record = origin == S ? Record(1) : Record(1, ProvenanceHeader(Prov(origin, P, 4, 0, origin, S)));

        Assert.Equal(expected, Link(carried: set).Decide(record, new OriginVector()).Kind);
    }

    // ---------------------------------------------------------------- the per-record rule

    public static TheoryData<string, RecordHeader[], DecisionKind> DecisionTable => new()
    {
        { "local record", [], DecisionKind.Forward },
        { "local record with application headers", [new("x", Utf8("y"))], DecisionKind.Forward },
        { "local record with a kept untrusted header", [new(ProvenanceCodec.UntrustedHeaderName, Utf8("garbage"))], DecisionKind.Forward },
        { "came from the destination", [ProvenanceHeader(Prov(D, P, 9, 0, D, S))], DecisionKind.SkipLoop },
        { "passed through the destination", [ProvenanceHeader(Prov(Other, P, 9, 0, Other, D, S))], DecisionKind.SkipLoop },
        { "originated at the third region", [ProvenanceHeader(Prov(Other, P, 9, 0, Other, S))], DecisionKind.SkipNotOnRoute },
        { "originated at the third region in another incarnation", [ProvenanceHeader(Prov(Other, Inc2, Topic, P, 9, 0, Other, S))], DecisionKind.SkipNotOnRoute },
    };

    [Theory]
    [MemberData(nameof(DecisionTable))]
    public void Decide_applies_the_full_mesh_rule(string description, RecordHeader[] headers, DecisionKind expected)
    {
        var decision = Link().Decide(Record(9, headers), new OriginVector());

        Assert.True(expected == decision.Kind, $"{description}: expected {expected}, got {decision.Kind} ({decision.Reason})");
        Assert.Equal(expected == DecisionKind.Forward, decision.Outbound is not null);
        Assert.Null(decision.Reason);
        Assert.Null(decision.UntrustedHeader);
    }

    /// <summary>Headers the mesh must not believe on a record read at us-east offset 9 (no key configured), and why.</summary>
    public static TheoryData<string, RecordHeader[], string> UntrustedTable => new()
    {
        {
            "malformed provenance",
            [ProvenanceHeader("garbage")],
            "its header is malformed: unsupported provenance format version 'garbage' (this build reads version 2)"
        },
        {
            "provenance with a null value",
            [new RecordHeader(ProvenanceCodec.HeaderName, null)],
            "its header has no value"
        },
        {
            "looped hops",
            [ProvenanceHeader("2|us-east|1a2b3c4d|orders|3|9|0|us-east,eu-west,ap-south,eu-west,us-east|-")],
            "its header is malformed: hops list a region twice (us-east,eu-west,ap-south,eu-west,us-east): the record has looped"
        },
        {
            "version 1 header",
            [ProvenanceHeader("1|us-east|3|9|0|us-east")],
            "its header is malformed: unsupported provenance format version '1' (this build reads version 2)"
        },
        {
            "invalid UTF-8",
            [new RecordHeader(ProvenanceCodec.HeaderName, [0xFF, 0xFE])],
            "its header is malformed: header is not valid UTF-8"
        },
        {
            "two provenance headers",
            [ProvenanceHeader(Prov(Other, P, 9, 0, Other, S)), ProvenanceHeader(Prov(Other, P, 9, 0, Other, S))],
            "it carries more than one 'mesh.provenance' header"
        },
        {
            "last hop is not the source",
            [ProvenanceHeader(Prov(Other, P, 9, 0, Other))],
            "its header's last hop is 'ap-south', but it was read from 'us-east' (a header copied or forged there)"
        },
        {
            "last hop is the destination",
            [ProvenanceHeader(Prov(Other, P, 9, 0, Other, S, D))],
            "its header's last hop is 'eu-west', but it was read from 'us-east' (a header copied or forged there)"
        },
        {
            "another topic",
            [ProvenanceHeader(Prov(Other, Inc, "payments", P, 9, 0, Other, S))],
            "its header names origin topic 'payments', but it was read from topic 'orders'"
        },
        {
            "another partition",
            [ProvenanceHeader(Prov(Other, P + 1, 9, 0, Other, S))],
            "its header names origin partition 4, but it was read from partition 3"
        },
    };

    [Theory]
    [MemberData(nameof(UntrustedTable))]
    public void By_default_an_untrusted_header_makes_the_record_local_and_travels_as_untrusted(string description, RecordHeader[] headers, string expectedReason)
    {
        var record = Record(9, [new("app", Utf8("x")), .. headers]);

        var decision = Link(carried: Flooding).Decide(record, new OriginVector());

        Assert.True(decision.Kind == DecisionKind.Forward, $"{description}: got {decision.Kind}");
        Assert.Equal($"offset 9: {expectedReason}", decision.UntrustedHeader);
        Assert.Null(decision.Reason);
        var outbound = decision.Outbound!;
        Assert.Equal(Prov(S, P, 9, record.TimestampMs, S, D), outbound.Provenance);
        Assert.Equal(["app", .. headers.Select(_ => ProvenanceCodec.UntrustedHeaderName), ProvenanceCodec.HeaderName], outbound.Headers.Select(h => h.Name));
        Assert.Equal(headers.Select(h => Text(h.Value)), outbound.Headers.Skip(1).Take(headers.Length).Select(h => Text(h.Value)));
        Assert.Equal($"2|us-east|1a2b3c4d|orders|3|9|{record.TimestampMs}|us-east,eu-west|-", Text(outbound.Headers[^1].Value));
    }

    [Theory]
    [MemberData(nameof(UntrustedTable))]
    public void An_untrusted_header_is_dropped_when_the_policy_says_so(string description, RecordHeader[] headers, string expectedReason)
    {
        var link = Link(carried: Flooding, policy: ReplicationPolicy.Default with { KeepUntrustedHeader = false });

        var record = Record(9, [new("app", Utf8("x")), .. headers]);

        var decision = link.Decide(record, new OriginVector());

        Assert.True(decision.Kind == DecisionKind.Forward, $"{description}: got {decision.Kind}");
        Assert.Equal($"offset 9: {expectedReason}", decision.UntrustedHeader);
        Assert.Equal(["app", ProvenanceCodec.HeaderName], decision.Outbound!.Headers.Select(h => h.Name));
        Assert.Equal(Prov(S, P, 9, record.TimestampMs, S, D), decision.Outbound.Provenance);
    }

    [Theory]
    [MemberData(nameof(UntrustedTable))]
    public void Strict_provenance_holds_a_record_with_an_untrusted_header_for_the_quarantine(string description, RecordHeader[] headers, string expectedReason)
    {
        var strict = ReplicationPolicy.Default with { StrictProvenance = true };

        var quarantine = Link(carried: Flooding, policy: strict).Decide(Record(9, headers), new OriginVector());
        var stop = Link(carried: Flooding, policy: strict with { OnBadRecord = BadRecordAction.Stop }).Decide(Record(9, headers), new OriginVector());

        Assert.True(quarantine.Kind == DecisionKind.Quarantine, $"{description}: got {quarantine.Kind}");
        Assert.Null(quarantine.Outbound);
        Assert.Equal($"provenance header not trusted: offset 9: {expectedReason}", quarantine.Reason);
        Assert.Equal(QuarantineKinds.UntrustedProvenance, quarantine.QuarantineKind);
        Assert.True(stop.Kind == DecisionKind.Stop, $"{description}: got {stop.Kind}");
        Assert.Null(stop.Outbound);
        Assert.Equal(quarantine.Reason, stop.Reason);
        Assert.Equal(QuarantineKinds.UntrustedProvenance, stop.QuarantineKind);
    }

    [Theory]
    [InlineData(0L, DecisionKind.SkipAlreadyApplied)]
    [InlineData(40L, DecisionKind.SkipAlreadyApplied)]
    [InlineData(41L, DecisionKind.SkipAlreadyApplied)]
    [InlineData(42L, DecisionKind.Forward)]
    [InlineData(1000L, DecisionKind.Forward)]
    public void Decide_skips_what_the_vector_has_applied(long offset, DecisionKind expected)
    {
        var vector = new OriginVector();
        vector.Advance(SKey, 41);
        vector.Advance(OtherKey, 1_000_000);
        vector.Advance(OriginVector.Key(S, Inc2), 1_000_000); // another incarnation of the source is another stream

        Assert.Equal(expected, Link().Decide(Record(offset), vector).Kind);
    }

    [Fact]
    public void Decide_uses_the_source_incarnation_for_local_records()
    {
        var vector = new OriginVector();
        vector.Advance(SKey, 100);
        var reborn = Link(new ReplicationCheckpoint(0, new OriginVector(), 0, Inc2, Inc, 0, 0));

        var decision = reborn.Decide(Record(5), vector);

        Assert.Equal(DecisionKind.Forward, decision.Kind);
        Assert.Equal(OriginVector.Key(S, Inc2), decision.Outbound!.Provenance.OriginKey);
    }

    [Fact]
    public void Decide_uses_the_provenance_offset_not_the_source_offset_for_the_vector()
    {
        var vector = new OriginVector();
        vector.Advance(OtherKey, 10);
        var link = Link(carried: Flooding);

        // Source offset 500 is far above the vector; origin offset 10 is not.
        Assert.Equal(DecisionKind.SkipAlreadyApplied, link.Decide(Record(500, ProvenanceHeader(Prov(Other, P, 10, 0, Other, S))), vector).Kind);
        Assert.Equal(DecisionKind.Forward, link.Decide(Record(5, ProvenanceHeader(Prov(Other, P, 11, 0, Other, S))), vector).Kind);
    }

    [Fact]
    public void Decide_checks_loops_before_routes_and_routes_before_the_vector()
    {
        var vector = new OriginVector();
        vector.Advance(DKey, 100);
        vector.Advance(OtherKey, 100);
        vector.Advance(SKey, 0);

        // Looped, off route and applied: loop wins.
        Assert.Equal(DecisionKind.SkipLoop, Link().Decide(Record(1, ProvenanceHeader(Prov(D, P, 5, 0, D, S))), vector).Kind);
        // Off route and applied: route wins.
        Assert.Equal(DecisionKind.SkipNotOnRoute, Link().Decide(Record(1, ProvenanceHeader(Prov(Other, P, 5, 0, Other, S))), vector).Kind);
        // An untrusted header claiming a loop is ignored: the record is local and not applied yet.
        Assert.Equal(DecisionKind.Forward, Link().Decide(Record(1, ProvenanceHeader(Prov(D, P, 5, 0, D))), vector).Kind);
        // ... unless the provenance is strict: then the header beats everything.
        Assert.Equal(DecisionKind.Quarantine,
            Link(policy: ReplicationPolicy.Default with { StrictProvenance = true }).Decide(Record(1, ProvenanceHeader(Prov(D, P, 5, 0, D))), vector).Kind);
    }

    [Fact]
    public void Decide_does_not_touch_the_vector_it_is_given()
    {
        var vector = new OriginVector();

        Link().Decide(Record(3), vector);

        Assert.Empty(vector.Entries);
    }

    // ---------------------------------------------------------------- planning a batch

    [Fact]
    public void Plan_counts_every_kind_of_skip_and_forwards_the_rest_in_order()
    {
        var link = Link(StartAt(0, 0, (SKey, 1)));
        SourceRecord[] batch =
        [
            Record(0),                                                            // applied
            Record(1),                                                            // applied
            Record(2),                                                            // forward
            Record(3, ProvenanceHeader(Prov(D, P, 0, 0, D, S))),                  // loop
            Record(4, ProvenanceHeader(Prov(Other, P, 0, 0, Other, S))),          // not on route
            Record(5),                                                            // forward
            Record(6, ProvenanceHeader(Prov(Other, P, 1, 0, Other, D, S))),       // loop
            Record(7, new RecordHeader("app", Utf8("x"))),                        // forward
            Record(8, ProvenanceHeader("garbage")),                               // forward, as local
        ];

        var plan = link.Plan(batch);

        Assert.Null(plan.Held);
        Assert.Equal([2L, 5L, 7L, 8L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal([2L, 5L, 7L, 8L], plan.Outbound.Select(o => o.Provenance.OriginOffset));
        Assert.Equal(5, plan.Skipped);
        Assert.Equal(1, plan.UntrustedHeaders);
        Assert.StartsWith("offset 8: its header is malformed", plan.LastUntrustedHeader);
        Assert.Equal(9L, plan.NextSourceOffset);
    }

    [Fact]
    public void Plan_of_an_empty_batch_stays_where_it_is()
    {
        var plan = Link(StartAt(17, 3)).Plan([]);

        Assert.Empty(plan.Outbound);
        Assert.Equal(0, plan.Skipped);
        Assert.Null(plan.Held);
        Assert.Equal(17L, plan.NextSourceOffset);
    }

    [Fact]
    public void Plan_moves_past_gaps_in_source_offsets()
    {
        var plan = Link().Plan([Record(0), Record(5), Record(9)]);

        Assert.Equal([0L, 5L, 9L], plan.Outbound.Select(o => o.Provenance.OriginOffset));
        Assert.Equal(10L, plan.NextSourceOffset);
    }

    [Fact]
    public void Plan_ignores_records_below_the_next_source_offset()
    {
        var link = Link(StartAt(5, 0));

        var plan = link.Plan([Record(3), Record(4), Record(5), Record(6)]);

        Assert.Equal([5L, 6L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(0, plan.Skipped); // ignored, not counted as skipped
        Assert.Equal(7L, plan.NextSourceOffset);
    }

    [Fact]
    public void Plan_ignores_records_redelivered_within_the_batch()
    {
        var plan = Link().Plan([Record(0), Record(1), Record(1), Record(0), Record(2)]);

        Assert.Equal([0L, 1L, 2L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(0, plan.Skipped);
        Assert.Equal(3L, plan.NextSourceOffset);
    }

    [Fact]
    public void Plan_skips_a_duplicate_of_an_origin_offset_planned_earlier_in_the_same_batch()
    {
        // With flooding, the same ap-south record may reach us-east twice (over two routes).
        var link = Link(carried: Flooding);
        var header = ProvenanceHeader(Prov(Other, P, 4, 0, Other, S));

        var plan = link.Plan([Record(0, header), Record(1, header)]);

        Assert.Equal([0L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(1, plan.Skipped);
        Assert.Equal(2L, plan.NextSourceOffset);
    }

    [Fact]
    public void Plan_does_not_stop_at_a_malformed_record_by_default()
    {
        var link = Link(StartAt(10, 0));
        SourceRecord[] batch =
        [
            Record(10),
            Record(11, ProvenanceHeader(Prov(Other, P, 0, 0, Other, S))),
            Record(12, ProvenanceHeader("2|us-east|1a2b3c4d|orders|3|x|0|us-east|-")),
            Record(13),
        ];

        var plan = link.Plan(batch);

        Assert.Null(plan.Held);
        Assert.Equal([10L, 12L, 13L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(1, plan.Skipped);
        Assert.Equal(1, plan.UntrustedHeaders);
        Assert.Equal("offset 12: its header is malformed: origin offset 'x' is not a non-negative integer", plan.LastUntrustedHeader);
        Assert.Equal(14L, plan.NextSourceOffset);
    }

    [Fact]
    public void Plan_with_strict_provenance_ends_before_a_malformed_record()
    {
        var link = Link(StartAt(10, 0), policy: ReplicationPolicy.Default with { StrictProvenance = true });
        SourceRecord[] batch =
        [
            Record(10),
            Record(11, ProvenanceHeader(Prov(Other, P, 0, 0, Other, S))),
            Record(12, ProvenanceHeader("2|us-east|1a2b3c4d|orders|3|x|0|us-east|-")),
            Record(13),
        ];

        var plan = link.Plan(batch);

        Assert.Equal([10L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(1, plan.Skipped);
        var held = plan.Held!;
        Assert.Same(batch[2], held.Record);
        Assert.Equal(DecisionKind.Quarantine, held.Kind);
        Assert.Equal(QuarantineKinds.UntrustedProvenance, held.QuarantineKind);
        Assert.Equal("provenance header not trusted: offset 12: its header is malformed: origin offset 'x' is not a non-negative integer", held.Reason);
        Assert.Equal(12L, plan.NextSourceOffset);
    }

    [Fact]
    public void Plan_holding_the_first_record_does_not_move()
    {
        var plan = Link(StartAt(10, 0), policy: ReplicationPolicy.Default with { StrictProvenance = true }).Plan([Record(10, ProvenanceHeader("")), Record(11)]);

        Assert.Empty(plan.Outbound);
        Assert.Equal(0, plan.Skipped);
        Assert.Equal(10L, plan.Held!.Record.Offset);
        Assert.Equal(10L, plan.NextSourceOffset);
    }

    [Fact]
    public void A_malformed_record_keeps_stopping_the_partition_after_commit_when_the_policy_is_stop()
    {
        var link = Link(policy: new ReplicationPolicy(null, true, true, BadRecordAction.Stop));
        SourceRecord[] log = [Record(0), Record(1, ProvenanceHeader("bad")), Record(2)];

        var first = link.Plan(log);
        link.Commit(first, 1);
        var second = link.Plan(log);

        Assert.Equal(1L, link.NextSourceOffset);
        Assert.Equal(0L, link.RecordsQuarantined);
        Assert.Empty(second.Outbound);
        Assert.Equal(DecisionKind.Stop, second.Held!.Kind);
        Assert.Equal("provenance header not trusted: offset 1: its header is malformed: unsupported provenance format version 'bad' (this build reads version 2)", second.Held.Reason);
        Assert.Equal(1L, second.NextSourceOffset);
    }

    [Fact]
    public void Plan_stops_after_max_outbound_forwarded_records()
    {
        var link = Link(StartAt(0, 0));
        SourceRecord[] batch =
        [
            Record(0),
            Record(1, ProvenanceHeader(Prov(D, P, 0, 0, D, S))), // loop: skipped, not counted against the limit
            Record(2),
            Record(3),
            Record(4),
        ];

        var plan = link.Plan(batch, maxOutbound: 2);

        Assert.Equal([0L, 2L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(1, plan.Skipped);
        Assert.Null(plan.Held);
        Assert.Equal(3L, plan.NextSourceOffset); // the plan ends after the last record it covers

        link.Commit(plan, 2);
        var rest = link.Plan(batch, maxOutbound: 2);
        Assert.Equal([3L, 4L], rest.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(5L, rest.NextSourceOffset);
    }

    [Fact]
    public void Plan_with_max_outbound_one_takes_the_skips_before_the_first_forwarded_record()
    {
        var link = Link(StartAt(0, 0, (SKey, 1)));
        SourceRecord[] batch = [Record(0), Record(1), Record(2, ProvenanceHeader(Prov(D, P, 0, 0, D, S))), Record(3), Record(4)];

        var plan = link.Plan(batch, maxOutbound: 1);

        Assert.Equal([3L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(3, plan.Skipped);
        Assert.Equal(4L, plan.NextSourceOffset);
    }

    [Fact]
    public void Plan_with_max_outbound_still_ends_at_a_held_record_before_the_limit()
    {
        var link = Link(StartAt(0, 0), policy: ReplicationPolicy.Default with { StrictProvenance = true });
        SourceRecord[] batch = [Record(0), Record(1, ProvenanceHeader("garbage")), Record(2), Record(3)];

        var plan = link.Plan(batch, maxOutbound: 2);

        Assert.Equal([0L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(1L, plan.Held!.Record.Offset);
        Assert.Equal(1L, plan.NextSourceOffset);
    }

    [Fact]
    public void Plan_with_max_outbound_zero_plans_nothing()
    {
        var link = Link(StartAt(5, 0));

        var plan = link.Plan([Record(5), Record(6)], maxOutbound: 0);

        Assert.Empty(plan.Outbound);
        Assert.Equal(0, plan.Skipped);
        Assert.Null(plan.Held);
        Assert.Equal(5L, plan.NextSourceOffset);
    }

    [Fact]
    public void Plan_does_not_change_the_state()
    {
        var link = Link(StartAt(2, 40, (SKey, 1), (OtherKey, 7)));
        var before = link.Checkpoint();

        var plan = link.Plan([Record(2), Record(3), Record(4)]);

        Assert.Equal(3, plan.Outbound.Count);
        Assert.Equal(before, link.Checkpoint());
        Assert.Equal(2L, link.NextSourceOffset);
        Assert.Equal(40L, link.DestinationEndOffset);
        Assert.Equal("ap-south@1a2b3c4d:7,us-east@1a2b3c4d:1", link.Vector.ToString());

        var again = link.Plan([Record(2), Record(3), Record(4)]);
        Assert.Equal(plan.Outbound.Select(o => o.Provenance), again.Outbound.Select(o => o.Provenance));
        Assert.Equal(plan.NextSourceOffset, again.NextSourceOffset);
    }

    // ---------------------------------------------------------------- commit, checkpoint, recovery

    [Fact]
    public void Commit_advances_vector_next_offset_and_destination_end()
    {
        var link = Link(StartAt(0, 100));
        var plan = link.Plan([Record(0), Record(1, ProvenanceHeader(Prov(Other, P, 0, 0, Other, S))), Record(2)]);

        link.Commit(plan, 102);

        Assert.Equal(3L, link.NextSourceOffset);
        Assert.Equal(102L, link.DestinationEndOffset);
        Assert.Equal("us-east@1a2b3c4d:2", link.Vector.ToString());
        Assert.Equal("3;next=3;dest=102;src=1a2b3c4d;dst=5e1f09aa;quarantined=0;expired=0;carried=us-east;catchup=;vector=us-east@1a2b3c4d:2", link.Checkpoint().Encode());
    }

    [Fact]
    public void Commit_of_a_plan_that_only_skipped_still_moves_the_source_offset()
    {
        var link = Link(StartAt(0, 100));
        var plan = link.Plan([Record(0, ProvenanceHeader(Prov(Other, P, 0, 0, Other, S)))]);

        link.Commit(plan, 100);

        Assert.Equal(1L, link.NextSourceOffset);
        Assert.Equal(100L, link.DestinationEndOffset);
        Assert.Empty(link.Vector.Entries);
    }

    [Fact]
    public void Commit_never_moves_anything_backwards()
    {
        var link = Link();
        var stale = link.Plan([Record(0)]);
        var fresh = link.Plan([Record(0), Record(1), Record(2)]);
        link.Commit(fresh, 50);

        link.Commit(stale, 10);

        Assert.Equal(3L, link.NextSourceOffset);
        Assert.Equal(50L, link.DestinationEndOffset);
        Assert.Equal("us-east@1a2b3c4d:2", link.Vector.ToString());
    }

    [Fact]
    public void After_commit_the_same_records_are_not_planned_again()
    {
        var link = Link();
        SourceRecord[] log = [Record(0), Record(1)];
        link.Commit(link.Plan(log), 2);

        var plan = link.Plan(log);

        Assert.Empty(plan.Outbound);
        Assert.Equal(0, plan.Skipped);
        Assert.Equal(2L, plan.NextSourceOffset);
    }

    [Fact]
    public void Checkpoint_is_a_copy()
    {
        var link = Link();
        link.Commit(link.Plan([Record(0)]), 1);

        var checkpoint = link.Checkpoint();
        checkpoint.Vector.Advance(SKey, 99);

        Assert.Equal("us-east@1a2b3c4d:0", link.Vector.ToString());
        Assert.Equal(new ReplicationCheckpoint(1, link.Vector.Clone(), 1, Inc, Inc2, 0, 0) { Carried = FullMesh }, link.Checkpoint());
    }

    [Fact]
    public void Observe_folds_recovered_provenance_into_the_vector()
    {
        var link = Link(StartAt(0, 10));

        link.Observe(Record(12, ProvenanceHeader(Prov(S, P, 4, 0, S, D))));

        Assert.Equal("us-east@1a2b3c4d:4", link.Vector.ToString());
        Assert.Equal(13L, link.DestinationEndOffset);
        Assert.Equal(0L, link.NextSourceOffset); // re-reading the source is what finds the gap

        link.Observe(Record(11, ProvenanceHeader(Prov(S, P, 2, 0, S, D)))); // older provenance, earlier position: nothing moves back
        Assert.Equal("us-east@1a2b3c4d:4", link.Vector.ToString());
        Assert.Equal(13L, link.DestinationEndOffset);

        link.Observe(Record(20, ProvenanceHeader(Prov(Other, P, 8, 0, Other, D))));
        Assert.Equal("ap-south@1a2b3c4d:8,us-east@1a2b3c4d:4", link.Vector.ToString());
        Assert.Equal(21L, link.DestinationEndOffset);

        link.Observe(Record(21)); // a local record of the destination moves only the end offset
        Assert.Equal("ap-south@1a2b3c4d:8,us-east@1a2b3c4d:4", link.Vector.ToString());
        Assert.Equal(22L, link.DestinationEndOffset);
    }

    [Fact]
    public void A_crash_between_write_and_commit_duplicates_nothing_after_observe()
    {
        var link = Link();
        SourceRecord[] source = [Record(0), Record(1), Record(2), Record(3), Record(4)];
        var destination = new List<OutboundRecord>();

        var first = link.Plan(source[..2]);
        link.Commit(first, Write(first.Outbound));
        var checkpoint = link.Checkpoint();
        Assert.Equal("3;next=2;dest=2;src=1a2b3c4d;dst=5e1f09aa;quarantined=0;expired=0;carried=us-east;catchup=;vector=us-east@1a2b3c4d:1", checkpoint.Encode());

        // Records 2 and 3 are written, then the replicator dies before Commit.
        Write(link.Plan(source[..4]).Outbound);

        var recovered = Link(checkpoint);
        for (var offset = checkpoint.DestinationEndOffset; offset < destination.Count; offset++)
        {
            var written = destination[(int)offset];
            recovered.Observe(new SourceRecord(offset, written.Key, written.Value, written.TimestampMs, written.Headers));
        }

        Assert.Equal("us-east@1a2b3c4d:3", recovered.Vector.ToString());
        Assert.Equal(4L, recovered.DestinationEndOffset);
        var plan = recovered.Plan(source);
        Assert.Equal([4L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.Equal(2, plan.Skipped);
        Assert.Equal(5L, plan.NextSourceOffset);

        long Write(List<OutboundRecord> records)
        {
            destination.AddRange(records);
            return destination.Count;
        }
    }
}
