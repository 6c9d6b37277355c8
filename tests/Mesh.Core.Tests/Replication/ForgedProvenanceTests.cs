using Mesh.Core.Replication;
using Mesh.Core.Topology;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

/// <summary>
/// The reproductions at core level, on link us-east -> eu-west (partition 3) of a signed
/// mesh: headers an application forged or copied must never make the mesh skip a genuine record,
/// make a record skip a region, or stop a partition.
/// </summary>
public sealed class ForgedProvenanceTests
{
    private const string S = "us-east";
    private const string D = "eu-west";
    private const string Other = "ap-south";
    private const int P = 3;
    private static readonly string SKey = OriginVector.Key(S, Inc);
    private static readonly ReplicationPolicy Signed = ReplicationPolicy.Default with { Keys = Keys };

    private static PartitionReplication Link(ReplicationPolicy policy) =>
        new(S, D, Topic, Topic, P, NamingPolicy.Identity, OriginSet.Of([S]), policy, ReplicationCheckpoint.Start(0, Inc, Inc2, OriginSet.Of([S])));

    /// <summary>Plans and commits the log in batches, as the grain would; returns everything written.</summary>
    private static List<OutboundRecord> Drain(PartitionReplication link, IReadOnlyList<SourceRecord> log, int batchSize, List<long>? vectorHistory = null)
    {
        var written = new List<OutboundRecord>();
        while (link.NextSourceOffset < log.Count)
        {
            var plan = link.Plan(log.Skip((int)link.NextSourceOffset).Take(batchSize).ToList());
            Assert.Null(plan.Held);
            written.AddRange(plan.Outbound);
            link.Commit(plan, written.Count);
            vectorHistory?.Add(link.Vector.HighestFor(SKey));
        }
        return written;
    }

    public static TheoryData<string, RecordHeader> ForgedLocalHeaders
    {
        get
        {
            var forged = Prov(S, Inc, Topic, P, long.MaxValue - 1, 0, S);
            using var foreign = MeshKeys.Create(OtherKeyText, null)!.CreateSigner();
            return new()
            {
                { "unsigned", ProvenanceHeader(forged) },
                { "signed with a foreign key", new(ProvenanceCodec.HeaderName, foreign.Encode(forged, Utf8("key-0"), Utf8("value-0"))) },
                { "claims the mesh key id with a made-up MAC", new(ProvenanceCodec.HeaderName, ProvenanceCodec.Encode(ProvenanceCodec.EncodeUnsigned(forged), Keys.SigningKeyId, new byte[16])) },
                { "claims the mesh key id and a huge offset in the vector's own stream", ProvenanceHeader(forged with { OriginOffset = 1_000 }) },
            };
        }
    }

    [Theory]
    [MemberData(nameof(ForgedLocalHeaders))]
    public void A_forged_header_claiming_the_source_with_a_huge_offset_does_not_hide_the_records_after_it(string description, RecordHeader forged)
    {
        using var link = Link(Signed);
        var log = new List<SourceRecord> { Record(0, forged) };
        log.AddRange(Enumerable.Range(1, 100).Select(o => Record(o)));
        var vectorHistory = new List<long>();

        var written = Drain(link, log, batchSize: 7, vectorHistory);

        Assert.True(written.Count == 101, $"{description}: {written.Count} of 101 records forwarded");
        Assert.Equal(Enumerable.Range(0, 101).Select(o => (long)o), written.Select(o => o.Provenance.OriginOffset));
        Assert.All(written, o => Assert.Equal(SKey, o.Provenance.OriginKey));
        Assert.All(vectorHistory, highest => Assert.InRange(highest, 0, 100));
        Assert.Equal("us-east@1a2b3c4d:100", link.Vector.ToString());
        Assert.Equal(ProvenanceCodec.UntrustedHeaderName, written[0].Headers[0].Name);
        Assert.Equal(forged.Value, written[0].Headers[0].Value);
    }

    [Fact]
    public void Unsigned_mesh_a_header_claiming_the_source_region_as_origin_does_not_move_the_vector()
    {
        // No mesh link ever writes a record into its origin region, so a header read in region R that
        // names R as its origin (hops = [R]) is never genuine, signed mesh or not. Without a key such a
        // header currently passes the structural checks and makes the vector jump past 100 genuine records.
        using var link = Link(ReplicationPolicy.Default);
        var log = new List<SourceRecord> { Record(0, ProvenanceHeader(Prov(S, Inc, Topic, P, long.MaxValue - 1, 0, S))) };
        log.AddRange(Enumerable.Range(1, 100).Select(o => Record(o)));

        var written = Drain(link, log, batchSize: 10);

        Assert.True(written.Count == 101, $"{written.Count} of 101 records forwarded; vector {link.Vector}");
        Assert.InRange(link.Vector.HighestFor(SKey), 0, 100);
    }

    [Fact]
    public void A_header_whose_hops_name_the_destination_does_not_make_the_record_skip_it()
    {
        // Headers signed with the mesh key but not for these records (copied or altered): untrusted, so
        // the records are replicated as local ones of us-east.
        using var link = Link(Signed);
        var claimsD = Prov(D, Inc, Topic, P, 5, 0, D, S);
        var passedD = Prov(Other, Inc, Topic, P, 5, 0, Other, D, S);
        SourceRecord[] log =
        [
            SignedRecord(0, claimsD, Keys) with { Value = Utf8("copied onto this value") },
            SignedRecord(1, passedD, Keys) with { Key = Utf8("copied onto this key") },
            Record(2, new RecordHeader(ProvenanceCodec.HeaderName, ProvenanceCodec.Encode(ProvenanceCodec.EncodeUnsigned(claimsD), Keys.SigningKeyId, new byte[16]))),
            SignedRecord(3, passedD, Keys) with { Value = Utf8("changed after signing") },
        ];

        var plan = link.Plan(log);

        Assert.Null(plan.Held);
        Assert.Equal(0, plan.Skipped);
        Assert.Equal(4, plan.UntrustedHeaders);
        Assert.Equal([0L, 1L, 2L, 3L], plan.Outbound.Select(o => o.SourceOffset));
        Assert.All(plan.Outbound, o => Assert.Equal(new[] { S, D }, o.Provenance.Hops.ToArray()));
        Assert.All(plan.Outbound, o => Assert.Equal(o.SourceOffset, o.Provenance.OriginOffset));
    }

    [Fact]
    public void An_unverifiable_header_whose_hops_name_the_destination_is_quarantined_not_skipped()
    {
        // Unsigned, or signed with a key us-east does not hold: us-east cannot tell a forgery from a
        // record of a region whose key differs, so the record is neither skipped as a loop nor sent on
        // as local (which could send mesh records round in circles): it is held for the quarantine.
        using var link = Link(Signed);
        using var foreign = MeshKeys.Create(OtherKeyText, null)!.CreateSigner();
        var claimsD = Prov(D, Inc, Topic, P, 5, 0, D, S);
        var passedD = Prov(Other, Inc, Topic, P, 5, 0, Other, D, S);
        SourceRecord[] log =
        [
            Record(0, ProvenanceHeader(claimsD)),
            Record(1, ProvenanceHeader(passedD)),
            Record(2, new RecordHeader(ProvenanceCodec.HeaderName, foreign.Encode(claimsD, Utf8("key-2"), Utf8("value-2")))),
            Record(3),
        ];
        var written = new List<OutboundRecord>();
        var quarantined = new List<QuarantineEntry>();
        var skipped = 0;

        while (link.NextSourceOffset < log.Length)
        {
            var plan = link.Plan(log.Skip((int)link.NextSourceOffset).ToList());
            skipped += plan.Skipped;
            written.AddRange(plan.Outbound);
            if (plan.Held is { } held) quarantined.Add(link.QuarantineEntryFor(held, 0));
            link.Commit(plan, written.Count);
        }

        Assert.Equal(0, skipped);
        Assert.Equal([0L, 1L, 2L], quarantined.Select(q => q.SourceOffset));
        // Taken at their word these headers say the records reached the destination already: quarantined, flagged as likely duplicates on replay.
        Assert.All(quarantined, q => Assert.Equal(QuarantineKinds.UnverifiableProvenanceElsewhere, q.Kind));
        Assert.Equal(3L, link.RecordsQuarantined);
        Assert.Equal([3L], written.Select(o => o.SourceOffset));
        Assert.Equal("us-east@1a2b3c4d:3", link.Vector.ToString());
    }

    [Fact]
    public void A_genuine_header_whose_hops_name_the_destination_is_still_a_loop()
    {
        using var link = Link(Signed);

        var decision = link.Decide(SignedRecord(0, Prov(D, Inc, Topic, P, 5, 0, D, S), Keys), new OriginVector());

        Assert.Equal(DecisionKind.SkipLoop, decision.Kind);
    }

    [Fact]
    public void A_stream_processor_copy_of_a_replicated_record_is_replicated_as_a_local_record_with_its_own_identity()
    {
        using var link = Link(Signed);
        // Offset 10: a record ap-south's link wrote into us-east (genuine, signed for exactly that record).
        var genuine = SignedRecord(10, Prov(Other, Inc2, Topic, P, 41, 1_700_000_000_010, Other, S), Keys, new RecordHeader("trace", Utf8("t1")));
        // Offset 11: a stream processor's output, a new value with the input's headers copied.
        var copy = new SourceRecord(11, genuine.Key, Utf8("enriched value"), 1_700_000_000_500, genuine.Headers);

        var plan = link.Plan([genuine, copy]);

        Assert.Null(plan.Held);
        Assert.Equal(1, plan.Skipped); // the genuine record reaches eu-west over ap-south's own link
        Assert.Equal(1, plan.UntrustedHeaders);
        Assert.StartsWith("offset 11: its signature does not match the record", plan.LastUntrustedHeader);
        var outbound = Assert.Single(plan.Outbound);
        Assert.Equal(11L, outbound.SourceOffset);
        Assert.Equal(Prov(S, Inc, Topic, P, 11, 1_700_000_000_500, S, D), outbound.Provenance);
        Assert.Equal(["trace", ProvenanceCodec.UntrustedHeaderName, ProvenanceCodec.HeaderName], outbound.Headers.Select(h => h.Name));
        Assert.Equal(genuine.Headers[1].Value, outbound.Headers[1].Value);

        // In eu-west the copy's new header is trusted, as its own record.
        using var signer = Keys.CreateSigner();
        var arrived = new SourceRecord(0, outbound.Key, outbound.Value, outbound.TimestampMs, outbound.Headers);
        var reading = ProvenanceTrust.Read(arrived, D, Topic, P, signer);
        Assert.Equal(ProvenanceVerdict.Trusted, reading.Verdict);
        Assert.Equal(outbound.Provenance, reading.Trusted);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_malformed_header_no_longer_stops_the_partition(bool signed)
    {
        using var link = Link(signed ? Signed : ReplicationPolicy.Default);
        SourceRecord[] log =
        [
            Record(0),
            Record(1, ProvenanceHeader("garbage")),
            Record(2, new RecordHeader(ProvenanceCodec.HeaderName, [0xFF])),
            Record(3, new RecordHeader(ProvenanceCodec.HeaderName, null)),
            Record(4, ProvenanceHeader("1|us-east|3|4|0|us-east")),
            Record(5),
        ];

        var written = Drain(link, log, batchSize: 2);

        Assert.Equal([0L, 1L, 2L, 3L, 4L, 5L], written.Select(o => o.Provenance.OriginOffset));
        Assert.Equal(6L, link.NextSourceOffset);
        Assert.Equal(0L, link.RecordsQuarantined);
    }
}
