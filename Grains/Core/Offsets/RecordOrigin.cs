using Mesh.Core.Replication;
using Mesh.Core.Topology;

namespace Mesh.Core.Offsets;

/// <summary>
/// An origin stream: a region in one incarnation (its Kafka cluster). Origin offsets are comparable
/// only within one stream: a region whose Kafka came back empty starts a new one.
/// </summary>
public readonly record struct OriginId(string Region, string Incarnation)
{
    public override string ToString() => $"{Region}/{Incarnation}";
}

/// <summary>Who first wrote a record, and at which offset there: the record's identity in every region.</summary>
public readonly record struct RecordIdentity(OriginId Origin, long OriginOffset, ProvenanceVerdict Verdict);

/// <summary>
/// The identity of a record read from a region's partition, by the mesh's own trust rule: a record
/// whose provenance header would be believed where it was read is the origin's record it names; any
/// other (no header, or one not to believe) is a record produced in that region, at its own offset.
/// </summary>
public static class RecordOrigin
{
    /// <param name="region">Where the record was read.</param>
    /// <param name="incarnation">That region's incarnation: the identity of records produced there.</param>
    /// <param name="topic">The topic as named in <paramref name="region"/>.</param>
    /// <param name="signer">Null where the mesh key is not held (the audit, the CLI): the rule without the signature.</param>
    public static RecordIdentity Of(SourceRecord record, string region, string incarnation, string topic, int partition,
        ProvenanceSigner? signer = null, NamingPolicy naming = NamingPolicy.Identity, string separator = TopicNaming.DefaultSeparator)
    {
        // The region's own earlier records, written back by a rebuild, name it as their origin with an older incarnation.
        var reading = ProvenanceTrust.Read(record, region, topic, partition, signer, naming, incarnation, separator);
        return reading.Trusted is { } provenance
            ? new RecordIdentity(new OriginId(provenance.OriginRegion, provenance.OriginIncarnation), provenance.OriginOffset, reading.Verdict)
            : new RecordIdentity(new OriginId(region, incarnation), record.Offset, reading.Verdict);
    }
}
