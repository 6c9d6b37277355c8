using Mesh.Core.Topology;

namespace Mesh.Core.Replication;

/// <summary>What a record's provenance header says about it, as judged where the record was read.</summary>
public enum ProvenanceVerdict
{
    /// <summary>No header: the record was produced in the region it was read from.</summary>
    None,
    /// <summary>The header verifies and matches where the record was read: the record was replicated there.</summary>
    Trusted,
    /// <summary>A header the mesh must not believe; the record is a local record of the region it was read from.</summary>
    Untrusted,
    /// <summary>
    /// A header this region cannot judge: unsigned where it requires signatures, or signed with a key it
    /// does not hold. The regions' keys differ (a configuration problem); believing it is unsafe and
    /// re-labelling it as local would send mesh records round in circles, so it is held for the quarantine.
    /// </summary>
    Unverifiable,
}

/// <param name="FaceValue">What a well-formed header says, trusted or not; never a basis for skipping a record.</param>
public readonly record struct ProvenanceReading(ProvenanceVerdict Verdict, Provenance? Trusted, string? UntrustedReason, Provenance? FaceValue = null);

/// <summary>
/// The rule that lets nothing but the mesh itself move an origin vector: a header is trusted only
/// when it is well formed, it verifies with a key this region holds (when the mesh runs signed), its
/// last hop is the region the record was read from, its origin topic (as named there, see
/// <see cref="TopicNaming.NameAlongHops"/>) and partition are where it was read, and the record's timestamp is the origin timestamp it names. Applications copy headers (stream processors do by default) and can forge them; an
/// untrusted header must never make the mesh skip a genuine record.
/// </summary>
public static class ProvenanceTrust
{
    /// <param name="topic">The topic the record was read from, as named in <paramref name="readFrom"/>.</param>
    /// <param name="naming">How topics are named across regions: under prefix naming the header's origin topic is
    /// named after every hop before <paramref name="readFrom"/>.</param>
    /// <param name="readFromIncarnation">The current incarnation of <paramref name="readFrom"/>, when the caller knows it: a
    /// record of an earlier incarnation of that region, written back into it by a rebuild, names it as its origin.</param>
    public static ProvenanceReading Read(SourceRecord record, string readFrom, string topic, int partition, ProvenanceSigner? signer,
        NamingPolicy naming = NamingPolicy.Identity, string? readFromIncarnation = null, string separator = TopicNaming.DefaultSeparator)
    {
        var index = -1;
        for (var i = 0; i < record.Headers.Count; i++)
        {
            if (record.Headers[i].Name != ProvenanceCodec.HeaderName) continue;
            if (index >= 0) return Untrusted($"it carries more than one '{ProvenanceCodec.HeaderName}' header");
            index = i;
        }
        if (index < 0) return new(ProvenanceVerdict.None, null, null);

        var value = record.Headers[index].Value;
        if (value is null) return Untrusted("its header has no value");
        if (!ProvenanceCodec.TryDecode(value, out var header, out var malformed)) return Untrusted($"its header is malformed: {malformed}");
        var provenance = header!.Provenance;
        // The mesh never writes a region's own records back into it, so a replicated record read in a
        // region names that region as its origin only when a rebuild brought back a record of an
        // earlier incarnation (its Kafka was lost); anything else was written there by hand.
        // In a signed mesh such a record was signed by the mesh: an unsigned one was written by hand.
        if (provenance.OriginRegion == readFrom
            && (readFromIncarnation is null || provenance.OriginIncarnation == readFromIncarnation || (signer is not null && header.KeyId is null)))
            return Untrusted($"its header names '{readFrom}', where it was read, as its origin: the mesh never writes a region's own records back to it" +
                             (readFromIncarnation is null ? "" : " (only an earlier incarnation's, in a rebuild)"));
        if (provenance.LastHop != readFrom)
            return Untrusted($"its header's last hop is '{provenance.LastHop}', but it was read from '{readFrom}' (a header copied or forged there)");
        var expectedTopic = TopicNaming.NameAlongHops(naming, provenance.Hops, provenance.OriginTopic, separator);
        if (expectedTopic != topic)
            return Untrusted(naming == NamingPolicy.Identity
                ? $"its header names origin topic '{provenance.OriginTopic}', but it was read from topic '{topic}'"
                : $"its header names origin topic '{provenance.OriginTopic}', which along its hops {string.Join(',', provenance.Hops)} is named '{expectedTopic}' in '{readFrom}', but it was read from topic '{topic}'");
        if (provenance.OriginPartition != partition)
            return Untrusted($"its header names origin partition {provenance.OriginPartition}, but it was read from partition {partition}");
        if (signer is not null && !signer.Verify(value, header, record.Key, record.Value, out var unverified, out var keysDiffer))
            return keysDiffer ? new(ProvenanceVerdict.Unverifiable, null, unverified, provenance) : Untrusted(unverified);
        // Every record the mesh writes carries its origin timestamp as its own; a topic that stamps
        // append times rewrites it, which is the one difference a genuine record may show.
        if (!record.LogAppendTime && record.TimestampMs != provenance.OriginTimestampMs)
            return Untrusted($"its timestamp {record.TimestampMs} is not the origin timestamp {provenance.OriginTimestampMs} its header names (a header copied onto another record)");
        return new(ProvenanceVerdict.Trusted, provenance, null);
    }

    private static ProvenanceReading Untrusted(string reason) => new(ProvenanceVerdict.Untrusted, null, reason);
}
