namespace Mesh.Client.Traffic;

/// <summary>
/// Checks what every region holds against what was produced: each record exactly once in every
/// region, application headers intact, each origin's records in order within each partition.
/// </summary>
public static class ReplicaCheck
{
    public sealed record Result(IReadOnlyDictionary<string, int> RecordsPerRegion, IReadOnlyList<string> Problems)
    {
        public bool Ok => Problems.Count == 0;
    }

    /// <param name="logs">Region id to everything read from the topic in that region.</param>
    /// <param name="produced">Region id to how many records were produced there (values region:0 .. region:n-1).</param>
    /// <param name="reaches">Whether records produced in an origin (second argument) should reach a region (first); default: everywhere.</param>
    public static Result Check(IReadOnlyDictionary<string, List<LoggedRecord>> logs, IReadOnlyDictionary<string, int> produced,
        Func<string, string, bool>? reaches = null, int maxProblems = 20)
    {
        reaches ??= (_, _) => true;
        var problems = new List<string>();
        void Problem(string p) { if (problems.Count < maxProblems) problems.Add(p); }
        foreach (var (region, records) in logs)
        {
            var expected = produced.Where(p => p.Key == region || reaches(region, p.Key)).Sum(p => p.Value);
            var seen = new Dictionary<string, int>();
            foreach (var record in records)
            {
                var value = record.Value ?? "";
                seen[value] = seen.GetValueOrDefault(value) + 1;
                var origin = value.Split(':')[0];
                if (record.Header(TestTraffic.SourceHeader) != origin || record.Header(TestTraffic.TraceHeader) != $"trace-{value.Replace(':', '-')}")
                    Problem($"{region} partition {record.Partition} offset {record.Offset}: application headers of '{value}' changed");
                if (origin != region && record.Provenance is null)
                    Problem($"{region} partition {record.Partition} offset {record.Offset}: replicated record '{value}' has no provenance header");
                // A region rebuilt after losing its Kafka gets its own earlier records back: its id appears twice in their hops.
                if (record.Provenance is { } p && (p.OriginRegion != origin || !HopsAreARoute(p.Hops, p.OriginRegion) || p.Hops[^1] != region))
                    Problem($"{region} partition {record.Partition} offset {record.Offset}: provenance of '{value}' is wrong (origin {p.OriginRegion}, hops {string.Join(",", p.Hops)})");
            }
            foreach (var (origin, count) in produced)
            {
                var want = origin == region || reaches(region, origin) ? 1 : 0;
                for (var i = 0; i < count; i++)
                {
                    var value = TestTraffic.ValueOf(origin, i);
                    var n = seen.GetValueOrDefault(value);
                    if (n != want) Problem($"{region} holds '{value}' {n} times (expected {(want == 1 ? "once" : "never")})");
                }
            }
            if (records.Count != expected)
                Problem($"{region} holds {records.Count} records, expected exactly {expected}");

            // Per origin, within each partition, sequence numbers only grow: the order each producer wrote.
            foreach (var partition in records.GroupBy(r => r.Partition))
            {
                foreach (var byOrigin in partition.Where(r => r.Value is not null).GroupBy(r => r.Value!.Split(':')[0]))
                {
                    long last = -1;
                    foreach (var record in byOrigin.OrderBy(r => r.Offset))
                    {
                        var sequence = long.Parse(record.Value!.Split(':')[1]);
                        if (sequence < last)
                            Problem($"{region} partition {partition.Key}: records of {byOrigin.Key} out of order ({TestTraffic.ValueOf(byOrigin.Key, sequence)} after {TestTraffic.ValueOf(byOrigin.Key, last)})");
                        last = sequence;
                    }
                }
            }
        }
        return new Result(logs.ToDictionary(l => l.Key, l => l.Value.Count), problems);
    }

    /// <summary>No region twice, except the origin once more at the end of a rebuild's route back to it.</summary>
    private static bool HopsAreARoute(IReadOnlyList<string> hops, string origin)
    {
        var rest = hops.Skip(1).ToList();
        var back = rest.IndexOf(origin);
        if (back >= 0) rest.RemoveAt(back);
        return rest.Distinct().Count() == rest.Count && !rest.Contains(origin);
    }
}
