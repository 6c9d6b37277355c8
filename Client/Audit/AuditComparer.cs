using Mesh.Core.Topology;

namespace Mesh.Client.Audit;

public enum ProblemKind
{
    /// <summary>Records of an origin that a region should hold and does not.</summary>
    Missing,

    /// <summary>Records of an origin a region holds more than once.</summary>
    Duplicate,

    /// <summary>Keys of a last-writer-wins topic whose last record differs between regions.</summary>
    Diverged,
}

/// <summary>A key whose last record differs between regions: each region's last record of it (null: the region has none).</summary>
public sealed record DivergedKey(byte[] Key, IReadOnlyDictionary<string, FinalRecord?> Finals);

/// <summary>
/// One disagreement in one partition. <see cref="Count"/> counts records (missing, duplicate) or keys
/// (diverged); the lists hold the first few examples only.
/// </summary>
/// <param name="Region">The region that lacks or repeats records; null for a divergence, which is between regions.</param>
public sealed record AuditProblem(ProblemKind Kind, string? Region, long Count)
{
    public OriginStream? Origin { get; init; }

    /// <summary>Missing: the first ranges of origin offsets the region lacks.</summary>
    public IReadOnlyList<OffsetRange> OriginRanges { get; init; } = [];

    /// <summary>Duplicate: the first duplicated origin offsets, each with every offset it sits at in the region.</summary>
    public IReadOnlyList<DuplicateRecord> Duplicates { get; init; } = [];

    /// <summary>Diverged: the first keys that differ.</summary>
    public IReadOnlyList<DivergedKey> Keys { get; init; } = [];
}

/// <summary>What one region holds of one partition.</summary>
/// <param name="Topic">The topic as named in the region.</param>
/// <param name="Present">False when the region lacks the topic or the partition (it is then compared as empty).</param>
/// <param name="RecordsByOrigin">Records per origin region, incarnations together.</param>
/// <param name="NotChecked">
/// Records other regions hold that this region may have had before its log start (retention removed
/// its first records), so their absence is not counted as missing.
/// </param>
/// <param name="Keys">Last-writer-wins topics: distinct keys.</param>
/// <param name="UntrustedHeaders">Records whose provenance header would not be believed; they count as the region's own.</param>
public sealed record RegionPartition(string Region, string Topic, bool Present, long Records, long LogStart,
    IReadOnlyDictionary<string, long> RecordsByOrigin, long NotChecked, long Keys, long Unkeyed, long UntrustedHeaders);

public sealed record PartitionAudit(int Partition, IReadOnlyList<RegionPartition> Regions, IReadOnlyList<AuditProblem> Problems)
{
    public bool Agree => Problems.Count == 0;
}

/// <summary>One region's copy of a partition as the comparer takes it: what was read, or nothing (compared as empty).</summary>
public sealed record PartitionCopy(string Region, string Topic, PartitionTally? Tally);

/// <summary>
/// Compares the copies of one partition, pure: no Kafka, no clock. Append topics: every region that
/// an origin's records reach (<c>expects(origin, region)</c>) should hold each of that origin's
/// records exactly once; "each" is what any region holds of it. Last-writer-wins topics: every
/// region should end each key on the same record, or all of them deleted (tombstone or none).
/// </summary>
public static class AuditComparer
{
    public const int Examples = 5;

    /// <param name="expects">Whether records that originated in the first region should be in the second.</param>
    public static PartitionAudit Compare(int partition, ConflictPolicy policy, IReadOnlyList<PartitionCopy> copies, Func<string, string, bool> expects,
        int examples = Examples)
    {
        var notChecked = new Dictionary<string, long>(StringComparer.Ordinal);
        var problems = policy == ConflictPolicy.Lww ? CompareFinals(copies, examples) : CompareOrigins(copies, expects, examples, notChecked);
        var regions = copies.Select(c => new RegionPartition(
            c.Region, c.Topic, c.Tally is not null, c.Tally?.Records ?? 0, c.Tally?.LogStart ?? 0,
            c.Tally?.RecordsByOrigin.GroupBy(o => o.Key.Region).ToDictionary(g => g.Key, g => g.Sum(o => o.Value), StringComparer.Ordinal) ?? [],
            notChecked.GetValueOrDefault(c.Region), c.Tally?.Finals.Count ?? 0, c.Tally?.Unkeyed ?? 0, c.Tally?.UntrustedHeaders ?? 0)).ToList();
        return new PartitionAudit(partition, regions, problems);
    }

    private static List<AuditProblem> CompareOrigins(IReadOnlyList<PartitionCopy> copies, Func<string, string, bool> expects, int examples,
        Dictionary<string, long> notChecked)
    {
        var problems = new List<AuditProblem>();
        var streams = copies.Where(c => c.Tally is not null).SelectMany(c => c.Tally!.Origins.Keys).Distinct()
            .OrderBy(s => s.Region, StringComparer.Ordinal).ThenBy(s => s.Incarnation, StringComparer.Ordinal).ToList();
        foreach (var stream in streams)
        {
            var held = copies.ToDictionary(c => c.Region, c => c.Tally?.Origins.GetValueOrDefault(stream)?.Ranges() ?? []);
            var all = OffsetRanges.Union(held.Values);
            foreach (var copy in copies)
            {
                if (!expects(stream.Region, copy.Region)) continue;
                var missing = OffsetRanges.Except(all, held[copy.Region]);
                if (Boundary(copy, stream) is { } boundary)
                {
                    var checkable = OffsetRanges.From(missing, boundary);
                    notChecked[copy.Region] = notChecked.GetValueOrDefault(copy.Region) + OffsetRanges.Count(missing) - OffsetRanges.Count(checkable);
                    missing = checkable;
                }
                if (missing.Count > 0)
                    problems.Add(new AuditProblem(ProblemKind.Missing, copy.Region, OffsetRanges.Count(missing)) { Origin = stream, OriginRanges = [.. missing.Take(examples)] });
            }
            foreach (var copy in copies)
            {
                if (copy.Tally?.Origins.GetValueOrDefault(stream) is { DuplicateCount: > 0 } offsets)
                    problems.Add(new AuditProblem(ProblemKind.Duplicate, copy.Region, offsets.DuplicateCount) { Origin = stream, Duplicates = offsets.Duplicates });
            }
        }
        return problems;
    }

    /// <summary>
    /// Below which origin offset a region's lack of a stream's records proves nothing: none when its
    /// log was never trimmed. When retention removed its first records, its own records before its log
    /// start, and other origins' records before the first it still holds of them, may simply be gone.
    /// </summary>
    private static long? Boundary(PartitionCopy copy, OriginStream stream)
    {
        if (copy.Tally is not { LogStart: > 0 } tally) return null;
        if (stream == tally.LocalStream) return tally.LogStart;
        return tally.Origins.GetValueOrDefault(stream)?.FirstOriginOffset ?? long.MaxValue;
    }

    private static List<AuditProblem> CompareFinals(IReadOnlyList<PartitionCopy> copies, int examples)
    {
        var differing = 0L;
        var keys = new List<DivergedKey>();
        for (var i = 0; i < copies.Count; i++)
        {
            if (copies[i].Tally is not { } tally) continue;
            foreach (var (key, final) in tally.Finals)
            {
                // Each key once: at the first copy that holds it.
                if (copies.Take(i).Any(c => c.Tally?.Finals.ContainsKey(key) == true)) continue;
                var finals = copies.ToDictionary(c => c.Region, c => c.Tally?.Finals.TryGetValue(key, out var f) == true ? f : (FinalRecord?)null, StringComparer.Ordinal);
                if (finals.Values.All(f => Outcome(f) == Outcome(final))) continue;
                differing++;
                if (keys.Count < examples) keys.Add(new DivergedKey(key, finals));
            }
        }
        return differing == 0 ? [] : [new AuditProblem(ProblemKind.Diverged, null, differing) { Keys = keys }];
    }

    // A tombstone and no record are the same outcome (deleted): compaction drops tombstones after
    // delete.retention.ms, sooner in one region than in another.
    private static UInt128? Outcome(FinalRecord? final) => final is { Tombstone: false } record ? record.Hash : null;
}
