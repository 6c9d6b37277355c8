using Mesh.Core.Replication;
using Mesh.Grains.Tests.InMemory;

namespace Mesh.Grains.Tests.Infrastructure;

/// <summary>One record of a region's partition, identified by where it was produced.</summary>
internal sealed record HeldRecord(long Offset, string Origin, long OriginOffset, IReadOnlyList<string> Hops, SourceRecord Record);

/// <summary>Exact checks of what a region's partition holds against what its origins produced.</summary>
internal static class ReplicaCheck
{
    /// <summary>Every record of the partition with its trusted provenance; a record without one is the region's own.</summary>
    public static List<HeldRecord> Read(InMemoryKafka kafka, string region, string topic, int partition) =>
    [
        .. (kafka.Find(region, topic, partition)?.All() ?? []).Select(record =>
        {
            var reading = ProvenanceTrust.Read(record, region, topic, partition, signer: null);
            return reading.Verdict == ProvenanceVerdict.Trusted
                ? new HeldRecord(record.Offset, reading.Trusted!.OriginRegion, reading.Trusted.OriginOffset, reading.Trusted.Hops, record)
                : new HeldRecord(record.Offset, region, record.Offset, [region], record);
        }),
    ];

    public static int CountFrom(InMemoryKafka kafka, string region, string topic, int partition, string origin) =>
        Read(kafka, region, topic, partition).Count(r => r.Origin == origin);

    /// <summary>How many records produced in <paramref name="origins"/> the partition does not hold yet.</summary>
    public static int Missing(InMemoryKafka kafka, Traffic traffic, string region, string topic, int partition, params string[] origins)
    {
        var held = Read(kafka, region, topic, partition).Select(r => (r.Origin, r.OriginOffset)).ToHashSet();
        return origins.Sum(origin => traffic.ProducedIn(origin, topic, partition).Count(r => !held.Contains((origin, r.Offset))));
    }

    /// <summary>
    /// The problems with <paramref name="region"/>'s partition holding each record produced in
    /// <paramref name="origins"/> exactly once, in each origin's order, with its key, value and timestamp,
    /// and nothing else replicated; empty when there are none.
    /// </summary>
    public static List<string> Problems(InMemoryKafka kafka, Traffic traffic, string region, string topic, int partition, params string[] origins)
    {
        var problems = new List<string>();
        var where = $"{region} {topic}/{partition}";
        var held = Read(kafka, region, topic, partition).Where(r => r.Origin != region).ToList();
        foreach (var stranger in held.Where(r => !origins.Contains(r.Origin)).Take(3))
            problems.Add($"{where} offset {stranger.Offset}: a record of {stranger.Origin}@{stranger.OriginOffset}, which is not expected here");
        foreach (var origin in origins)
        {
            var produced = traffic.ProducedIn(origin, topic, partition).ToDictionary(r => r.Offset);
            var arrived = held.Where(r => r.Origin == origin).ToList();
            foreach (var duplicate in arrived.GroupBy(r => r.OriginOffset).Where(g => g.Count() > 1).Take(3))
                problems.Add($"{where}: {origin}@{duplicate.Key} is held {duplicate.Count()} times, at offsets {string.Join(", ", duplicate.Select(r => r.Offset))}");
            for (var i = 1; i < arrived.Count; i++)
            {
                if (arrived[i].OriginOffset > arrived[i - 1].OriginOffset) continue;
                problems.Add($"{where} offset {arrived[i].Offset}: {origin}@{arrived[i].OriginOffset} after {origin}@{arrived[i - 1].OriginOffset} (offset {arrived[i - 1].Offset}): {origin}'s order broken");
                break;
            }
            var missing = produced.Keys.Except(arrived.Select(r => r.OriginOffset)).ToList();
            if (missing.Count > 0)
                problems.Add($"{where}: {missing.Count} of {produced.Count} records of {origin} missing, e.g. {string.Join(", ", missing.Take(5).Select(o => $"{origin}@{o}"))}");
            foreach (var record in arrived.DistinctBy(r => r.OriginOffset))
            {
                if (!produced.TryGetValue(record.OriginOffset, out var original))
                {
                    problems.Add($"{where} offset {record.Offset}: {origin}@{record.OriginOffset} was never produced in {origin}");
                    break;
                }
                if (original.Key.AsSpan().SequenceEqual(record.Record.Key) && original.Value.AsSpan().SequenceEqual(record.Record.Value)
                    && original.TimestampMs == record.Record.TimestampMs) continue;
                problems.Add($"{where} offset {record.Offset}: {origin}@{record.OriginOffset} differs from what {origin} produced (key, value or timestamp)");
                break;
            }
        }
        return problems;
    }
}
