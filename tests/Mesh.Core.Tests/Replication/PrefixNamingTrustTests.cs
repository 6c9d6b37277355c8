using Mesh.Core.Replication;
using Mesh.Core.Topology;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

/// <summary>
/// Under prefix naming a record of origin x, topic t, lives in region s as <c>x.t</c> and further on as
/// <c>s.x.t</c>: its header names the origin topic t, and is trusted only in the topic named after its hops.
/// </summary>
public sealed class PrefixNamingTrustTests
{
    private const int P = 3;

    [Theory]
    [InlineData(NamingPolicy.Identity, "x", "t")]
    [InlineData(NamingPolicy.Identity, "x,s", "t")]
    [InlineData(NamingPolicy.Identity, "x,s,d", "t")]
    [InlineData(NamingPolicy.Prefix, "x", "t")]
    [InlineData(NamingPolicy.Prefix, "x,s", "x.t")]
    [InlineData(NamingPolicy.Prefix, "x,s,d", "s.x.t")]
    [InlineData(NamingPolicy.Prefix, "", "t")]
    public void NameAlongHops(NamingPolicy naming, string hops, string expected)
    {
        Assert.Equal(expected, TopicNaming.NameAlongHops(naming, hops.Length == 0 ? [] : hops.Split(','), "t"));
    }

    [Fact]
    public void NameAlongRoute_is_the_name_along_the_route_path()
    {
        var route = new Route("x", "d", ["x", "s", "d"]);

        Assert.Equal("s.x.t", TopicNaming.NameAlongRoute(NamingPolicy.Prefix, route, "t"));
        Assert.Equal("t", TopicNaming.NameAlongRoute(NamingPolicy.Identity, route, "t"));
    }

    /// <summary>(hops, topic read from in the last hop, naming, expected reason; null: trusted).</summary>
    public static TheoryData<string, string, NamingPolicy, string?> Table => new()
    {
        { "x,s", "x.t", NamingPolicy.Prefix, null },
        { "y,x,s", "x.y.t", NamingPolicy.Prefix, null },
        {
            "x,s", "t", NamingPolicy.Prefix,
            "its header names origin topic 't', which along its hops x,s is named 'x.t' in 's', but it was read from topic 't'"
        },
        {
            "y,x,s", "y.x.t", NamingPolicy.Prefix,
            "its header names origin topic 't', which along its hops y,x,s is named 'x.y.t' in 's', but it was read from topic 'y.x.t'"
        },
        {
            "x,s", "s.x.t", NamingPolicy.Prefix,
            "its header names origin topic 't', which along its hops x,s is named 'x.t' in 's', but it was read from topic 's.x.t'"
        },
        { "x,s", "t", NamingPolicy.Identity, null },
        { "x,s", "x.t", NamingPolicy.Identity, "its header names origin topic 't', but it was read from topic 'x.t'" },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void A_header_is_trusted_only_in_the_topic_named_after_its_hops(string hops, string topic, NamingPolicy naming, string? expected)
    {
        var path = hops.Split(',');
        var provenance = Prov(path[0], Inc, "t", P, 41, 77, path);

        foreach (var signed in new[] { false, true })
        {
            using var signer = signed ? Keys.CreateSigner() : null;
            var record = signed ? SignedRecord(9, provenance, Keys) : Record(9, ProvenanceHeader(provenance));

            var reading = ProvenanceTrust.Read(record, "s", topic, P, signer, naming);

            if (expected is null)
            {
                Assert.True(reading.Verdict == ProvenanceVerdict.Trusted, $"signed {signed}: {reading.UntrustedReason}");
                Assert.Equal(provenance, reading.Trusted);
            }
            else
            {
                Assert.Equal(ProvenanceVerdict.Untrusted, reading.Verdict);
                Assert.Equal(expected, reading.UntrustedReason);
            }
        }
    }

    [Fact]
    public void A_prefix_named_link_forwards_into_the_prefixed_topic_and_the_destination_trusts_it_there()
    {
        // x -> s -> d: s reads x's records in 'x.t' and writes them to d's 's.x.t'.
        using var link = new PartitionReplication("s", "d", "x.t", "s.x.t", P, NamingPolicy.Prefix, OriginSet.All, ReplicationPolicy.Default,
            ReplicationCheckpoint.Start(0, Inc, Inc2, OriginSet.All));
        var record = Record(9, ProvenanceHeader(Prov("x", Inc, "t", P, 41, 77, "x", "s")));

        var outbound = Assert.Single(link.Plan([record]).Outbound);
        Assert.Equal(Prov("x", Inc, "t", P, 41, 77, "x", "s", "d"), outbound.Provenance);
        var written = new SourceRecord(0, outbound.Key, outbound.Value, outbound.TimestampMs, outbound.Headers);

        Assert.Equal(outbound.Provenance, link.Observe(written));
        Assert.Equal(41L, link.Vector.HighestFor(OriginVector.Key("x", Inc)));

        // The same record in a topic not named after its hops is an application's copy.
        using var identity = new PartitionReplication("s", "d", "x.t", "x.t", P, NamingPolicy.Prefix, OriginSet.All, ReplicationPolicy.Default,
            ReplicationCheckpoint.Start(0, Inc, Inc2, OriginSet.All));
        Assert.Null(identity.Observe(written));
        Assert.Empty(identity.Vector.Entries);
        Assert.Equal(1L, identity.DestinationEndOffset);
    }

    [Fact]
    public void A_record_in_a_topic_not_named_after_its_hops_is_a_local_record_of_the_source()
    {
        // Read in 't' at s, a header naming hops x,s is not the mesh's: the record is s's own.
        using var link = new PartitionReplication("s", "d", "t", "s.t", P, NamingPolicy.Prefix, OriginSet.All, ReplicationPolicy.Default,
            ReplicationCheckpoint.Start(0, Inc, Inc2, OriginSet.All));
        var record = Record(9, ProvenanceHeader(Prov("x", Inc, "t", P, 41, 77, "x", "s")));

        var decision = link.Decide(record, new OriginVector());

        Assert.Equal(DecisionKind.Forward, decision.Kind);
        Assert.Equal(Prov("s", Inc, "t", P, 9, 77, "s", "d"), decision.Outbound!.Provenance);
        Assert.Equal("offset 9: its header names origin topic 't', which along its hops x,s is named 'x.t' in 's', but it was read from topic 't'", decision.UntrustedHeader);
    }
}
