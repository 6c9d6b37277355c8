using Mesh.Core.Replication;
using Mesh.Grains.Tests.InMemory;

namespace Mesh.Grains.Tests.Infrastructure;

/// <summary>One record of a region's partition, identified by where (and in which incarnation of that region's Kafka) it was produced.</summary>
internal sealed record HeldRecord(long Offset, string Origin, long OriginOffset, IReadOnlyList<string> Hops, SourceRecord Record, string OriginIncarnation);

/// <summary>Exact checks of what a region's partition holds against what its origins produced.</summary>
internal static class ReplicaCheck
{
    /// <summary>
    /// Every record of the partition with its trusted provenance; a record without one is the region's
    /// own, of its current incarnation. A record of the region's earlier incarnation that a rebuild
    /// wrote back names the region as its origin.
    /// </summary>
    public static List<HeldRecord> Read(InMemoryKafka kafka, string region, string topic, int partition)
    {
        var incarnation = kafka.Incarnation(region);
        return
        [
            .. (kafka.Find(region, topic, partition)?.All() ?? []).Select(record =>
            {
                var reading = ProvenanceTrust.Read(record, region, topic, partition, signer: null, readFromIncarnation: incarnation);
                return reading.Verdict == ProvenanceVerdict.Trusted
                    ? new HeldRecord(record.Offset, reading.Trusted!.OriginRegion, reading.Trusted.OriginOffset, reading.Trusted.Hops, record, reading.Trusted.OriginIncarnation)
                    : new HeldRecord(record.Offset, region, record.Offset, [region], record, incarnation);
            }),
        ];
    }

    public static int CountFrom(InMemoryKafka kafka, string region, string topic, int partition, string origin) =>
        Read(kafka, region, topic, partition).Count(r => r.Origin == origin);

    /// <summary>How many records produced in <paramref name="origins"/> (any incarnation but the region's current one) the partition does not hold yet.</summary>
    public static int Missing(InMemoryKafka kafka, Traffic traffic, string region, string topic, int partition, params string[] origins)
    {
        var held = Read(kafka, region, topic, partition).Select(r => (r.Origin, r.OriginIncarnation, r.OriginOffset)).ToHashSet();
        return Streams(kafka, traffic, region, origins).Sum(s =>
            traffic.ProducedIn(s.Origin, topic, partition, s.Incarnation).Count(r => !held.Contains((s.Origin, s.Incarnation, r.Offset))));
    }

    /// <summary>
    /// The problems with <paramref name="region"/>'s partition holding each record produced in
    /// <paramref name="origins"/> exactly once, in each origin's order, with its key, value and timestamp,
    /// and nothing else replicated; empty when there are none. An origin's records of each incarnation
    /// of its Kafka are checked as a stream of their own; <paramref name="region"/> itself may be one of
    /// the origins, for its records of earlier incarnations (its current ones are its own).
    /// </summary>
    public static List<string> Problems(InMemoryKafka kafka, Traffic traffic, string region, string topic, int partition, params string[] origins)
    {
        var problems = new List<string>();
        var where = $"{region} {topic}/{partition}";
        var current = kafka.Incarnation(region);
        var held = Read(kafka, region, topic, partition).Where(r => r.Origin != region || r.OriginIncarnation != current).ToList();
        var streams = Streams(kafka, traffic, region, origins);
        foreach (var stranger in held.Where(r => !streams.Contains((r.Origin, r.OriginIncarnation))).Take(3))
            problems.Add($"{where} offset {stranger.Offset}: a record of {stranger.Origin}@{stranger.OriginOffset} (incarnation {stranger.OriginIncarnation}), which is not expected here");
        foreach (var (origin, incarnation) in streams)
        {
            var name = traffic.IncarnationsOf(origin).Count > 1 ? $"{origin}({incarnation})" : origin;
            var produced = traffic.ProducedIn(origin, topic, partition, incarnation).ToDictionary(r => r.Offset);
            var arrived = held.Where(r => r.Origin == origin && r.OriginIncarnation == incarnation).ToList();
            foreach (var duplicate in arrived.GroupBy(r => r.OriginOffset).Where(g => g.Count() > 1).Take(3))
                problems.Add($"{where}: {name}@{duplicate.Key} is held {duplicate.Count()} times, at offsets {string.Join(", ", duplicate.Select(r => r.Offset))}");
            for (var i = 1; i < arrived.Count; i++)
            {
                if (arrived[i].OriginOffset > arrived[i - 1].OriginOffset) continue;
                problems.Add($"{where} offset {arrived[i].Offset}: {name}@{arrived[i].OriginOffset} after {name}@{arrived[i - 1].OriginOffset} (offset {arrived[i - 1].Offset}): {name}'s order broken");
                break;
            }
            var missing = produced.Keys.Except(arrived.Select(r => r.OriginOffset)).ToList();
            if (missing.Count > 0)
                problems.Add($"{where}: {missing.Count} of {produced.Count} records of {name} missing, e.g. {string.Join(", ", missing.Take(5).Select(o => $"{name}@{o}"))}");
            foreach (var record in arrived.DistinctBy(r => r.OriginOffset))
            {
                if (!produced.TryGetValue(record.OriginOffset, out var original))
                {
                    problems.Add($"{where} offset {record.Offset}: {name}@{record.OriginOffset} was never produced in {origin}");
                    break;
                }
                if (original.Key.AsSpan().SequenceEqual(record.Record.Key) && original.Value.AsSpan().SequenceEqual(record.Record.Value)
                    && original.TimestampMs == record.Record.TimestampMs) continue;
                problems.Add($"{where} offset {record.Offset}: {name}@{record.OriginOffset} differs from what {origin} produced (key, value or timestamp)");
                break;
            }
        }
        return problems;
    }

    /// <summary>Each origin's incarnations that produced records, but for <paramref name="region"/>'s current one (its own records, not replicas).</summary>
    private static List<(string Origin, string Incarnation)> Streams(InMemoryKafka kafka, Traffic traffic, string region, string[] origins) =>
    [
        .. origins.SelectMany(origin => traffic.IncarnationsOf(origin).Select(incarnation => (origin, incarnation)))
            .Where(s => s.origin != region || s.incarnation != kafka.Incarnation(region)),
    ];
}
