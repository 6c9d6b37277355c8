using Mesh.Core.Offsets;

namespace Mesh.Core.Replication;

/// <summary>
/// A region that lost its Kafka comes back as a new incarnation; the records it originated before
/// (its "own past") survive only as replicas in the regions they reached. Several links into it may
/// come from such regions; exactly one of them writes the past back, so that no record is written
/// twice: the one whose source holds the most of it. Each origin's records reach a region in origin
/// order and exactly once, so what a region holds of an origin stream is a prefix of it, and the
/// source with the highest origin offset holds every record the others hold. The rebuilt region's
/// log then carries what it got back to its peers, which take what they lacked.
/// </summary>
public static class OwnPast
{
    /// <summary>
    /// The origin offset of the destination's own earlier record, when <paramref name="record"/> read in
    /// <paramref name="source"/> is one; null otherwise.
    /// </summary>
    public static long? OffsetOf(SourceRecord record, string source, string sourceIncarnation, string topic, int partition,
        ProvenanceSigner? signer, string destination, string destinationIncarnation)
    {
        var identity = RecordOrigin.Of(record, source, sourceIncarnation, topic, partition, signer);
        return identity.Verdict == ProvenanceVerdict.Trusted && IsPastOf(identity.Origin.Region, identity.Origin.Incarnation, destination, destinationIncarnation)
            ? identity.OriginOffset
            : null;
    }

    /// <summary>
    /// Whether a record of origin <paramref name="originRegion"/>@<paramref name="originIncarnation"/> is part of the
    /// past of <paramref name="destination"/>, now <paramref name="destinationIncarnation"/>: the destination wrote it
    /// in an earlier incarnation. Never a restored record (into one region or into every one): <c>mesh restore</c>
    /// writes those into the region itself, resumably, and a link writing them back would race it and write them twice
    /// (a restore into one region that was killed and run again did). A region that lost its Kafka gets a restored topic
    /// back by running the same restore again; the peers hold its records already and skip them.
    /// </summary>
    public static bool IsPastOf(string originRegion, string originIncarnation, string destination, string destinationIncarnation) =>
        originRegion == destination && originIncarnation != destinationIncarnation && !Incarnations.IsRestored(originIncarnation);

    /// <summary>
    /// The source that writes the past back: the highest origin offset held (-1: none); among equals the
    /// first by id, so every asker gets the same answer. Null when there are no sources.
    /// </summary>
    public static string? Carrier(IReadOnlyDictionary<string, long> highestHeld) =>
        highestHeld.OrderByDescending(e => e.Value).ThenBy(e => e.Key, StringComparer.Ordinal).Select(e => e.Key).FirstOrDefault();
}
