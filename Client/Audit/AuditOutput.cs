using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mesh.Core.Topology;

namespace Mesh.Client.Audit;

/// <summary>An audit report for people (plain lines, never wrapped, so offsets and keys can be copied) and for scripts (JSON).</summary>
public static class AuditOutput
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    public static string Policy(ConflictPolicy policy) => policy == ConflictPolicy.Lww ? "lww" : "append";

    public static IEnumerable<string> Lines(AuditReport report)
    {
        foreach (var topic in report.Topics)
        {
            var subject = topic.Subject;
            var problems = topic.Partitions.Sum(p => p.Problems.Count);
            var names = subject.Members.Where(m => m.Topic != subject.Topic).Select(m => $"{m.Region}: {m.Topic}").ToList();
            var records = subject.Members.Select(m => m.Partitions == 0
                ? $"{m.Region} lacks the topic"
                : $"{m.Region} {Number(topic.Partitions.Sum(p => p.Regions.FirstOrDefault(r => r.Region == m.Region)?.Records ?? 0))} records");
            yield return $"{subject.Label} ({Policy(subject.Policy)}, {Plural(subject.Partitions, "partition")}{(names.Count > 0 ? "; " + string.Join(", ", names) : "")}): " +
                         $"{string.Join(", ", records)}: {(problems == 0 ? "regions agree" : Plural(problems, "problem"))}";
            foreach (var region in subject.Members.Select(m => m.Region))
            {
                var notChecked = topic.Partitions.Sum(p => p.Regions.FirstOrDefault(r => r.Region == region)?.NotChecked ?? 0);
                if (notChecked > 0)
                    yield return $"  {region}: {Plural(notChecked, "record")} other regions hold {(notChecked == 1 ? "was" : "were")} not checked: " +
                                 $"{(notChecked == 1 ? "it is" : "they are")} older than what {region}'s log still has (retention removed its first records)";
            }
            foreach (var partition in topic.Partitions)
            {
                foreach (var line in OriginLines(report, partition)) yield return "  " + line;
                foreach (var region in partition.Regions.Where(r => r.UntrustedHeaders > 0))
                    yield return $"  {region.Region} partition {partition.Partition}: {Plural(region.UntrustedHeaders, "record")} " +
                                 $"{(region.UntrustedHeaders == 1 ? "carries" : "carry")} a provenance header the mesh would not believe " +
                                 $"(copied from another record or written by hand): counted as {region.Region}'s own";
                foreach (var problem in partition.Problems.Where(p => p.Kind == ProblemKind.Diverged))
                {
                    yield return $"  partition {partition.Partition}: {Plural(problem.Count, "key")} {(problem.Count == 1 ? "differs" : "differ")} between regions" +
                                 (problem.Count > problem.Keys.Count ? $" (first {problem.Keys.Count} shown)" : "") + ":";
                    foreach (var key in problem.Keys)
                        yield return $"    key {KeyText(key.Key)}: " + string.Join("; ", key.Finals.Select(f =>
                            $"{f.Key} {ValueText(f.Value, topic.Values.GetValueOrDefault((f.Key, partition.Partition, f.Value?.Offset ?? -1)))}"));
                }
            }
        }
        var partitions = report.Topics.Sum(t => t.Partitions.Count);
        var regions = report.Incarnations.Count;
        if (report.Agree)
            yield return $"regions agree: {Plural(report.Topics.Count, "topic")}, {Plural(partitions, "partition")} compared across {Plural(regions, "region")}";
        else
        {
            var bad = report.Topics.SelectMany(t => t.Partitions).Where(p => !p.Agree).ToList();
            yield return $"regions disagree: {Plural(bad.Sum(p => p.Problems.Count), "problem")} in {Plural(bad.Count, "partition")} of " +
                         $"{Plural(report.Topics.Count(t => !t.Agree), "topic")}";
        }
    }

    // "eu-west partition 1: 3 records of us-east missing (origin offsets 120, 121, 407), 1 duplicated (origin offset 55 at offsets 300 and 301)"
    private static IEnumerable<string> OriginLines(AuditReport report, PartitionAudit partition)
    {
        foreach (var group in partition.Problems.Where(p => p.Kind != ProblemKind.Diverged).GroupBy(p => (p.Region, p.Origin)))
        {
            var origin = OriginText(report, group.Key.Origin!.Value);
            var parts = new List<string>();
            foreach (var problem in group)
            {
                var what = parts.Count == 0 ? $"{Plural(problem.Count, "record")} of {origin}" : Number(problem.Count);
                parts.Add(problem.Kind == ProblemKind.Missing
                    ? $"{what} missing ({(problem.Count == 1 ? "origin offset" : "origin offsets")} {OffsetRanges.Describe(problem.OriginRanges)}" +
                      (OffsetRanges.Count(problem.OriginRanges) < problem.Count ? ", ..." : "") + ")"
                    : $"{what} duplicated ({string.Join("; ", problem.Duplicates.Select(d => $"origin offset {d.OriginOffset} at offsets {And(d.Offsets)}"))}" +
                      (problem.Duplicates.Count < problem.Count ? ", ..." : "") + ")");
            }
            yield return $"{group.Key.Region} partition {partition.Partition}: {string.Join(", ", parts)}";
        }
    }

    /// <summary>The origin region, with its incarnation when it is not the region's current one (records from before its Kafka was replaced).</summary>
    private static string OriginText(AuditReport report, OriginStream origin) =>
        report.Incarnations.TryGetValue(origin.Region, out var current) && current != origin.Incarnation
            ? $"{origin.Region} (earlier incarnation {origin.Incarnation})"
            : origin.Region;

    public static string Json(AuditReport report) => JsonSerializer.Serialize(new
    {
        regions = report.Incarnations.ToDictionary(r => r.Key, r => new { incarnation = r.Value }),
        naming = report.Naming == NamingPolicy.Prefix ? "prefix" : "identity",
        topics = report.Topics.Select(t => new
        {
            topic = t.Subject.Topic,
            origin = t.Subject.Origin,
            policy = Policy(t.Subject.Policy),
            names = t.Subject.Members.ToDictionary(m => m.Region, m => m.Topic),
            agree = t.Agree,
            partitions = t.Partitions.Select(p => new
            {
                partition = p.Partition,
                regions = p.Regions.ToDictionary(r => r.Region, r => new
                {
                    topic = r.Topic,
                    present = r.Present,
                    records = r.Records,
                    logStart = r.LogStart,
                    origins = r.RecordsByOrigin,
                    notChecked = t.Subject.Policy == ConflictPolicy.Lww ? (long?)null : r.NotChecked,
                    keys = t.Subject.Policy == ConflictPolicy.Lww ? r.Keys : (long?)null,
                    unkeyed = t.Subject.Policy == ConflictPolicy.Lww ? r.Unkeyed : (long?)null,
                    untrustedHeaders = r.UntrustedHeaders,
                }),
                problems = p.Problems.Select(problem => new
                {
                    kind = problem.Kind.ToString().ToLowerInvariant(),
                    region = problem.Region,
                    origin = problem.Origin?.Region,
                    incarnation = problem.Origin?.Incarnation,
                    count = problem.Count,
                    originOffsets = problem.Kind == ProblemKind.Missing ? OffsetRanges.FirstOffsets(problem.OriginRanges, 20) : null,
                    originRanges = problem.Kind == ProblemKind.Missing ? problem.OriginRanges.Select(r => new { first = r.First, last = r.Last }) : null,
                    duplicates = problem.Kind == ProblemKind.Duplicate ? problem.Duplicates.Select(d => new { originOffset = d.OriginOffset, offsets = d.Offsets }) : null,
                    keys = problem.Kind == ProblemKind.Diverged
                        ? problem.Keys.Select(k => new
                        {
                            key = KeyJson(k.Key, out var encoding),
                            keyEncoding = encoding,
                            regions = k.Finals.ToDictionary(f => f.Key, f => f.Value is not { } final ? null : new
                            {
                                offset = final.Offset,
                                timestamp = final.TimestampMs,
                                tombstone = final.Tombstone,
                                bytes = final.Tombstone ? (int?)null : final.ValueLength,
                                value = t.Values.GetValueOrDefault((f.Key, p.Partition, final.Offset)) is { } v ? Text(v) ?? Convert.ToHexStringLower(v) : null,
                                origin = final.Origin,
                            }),
                        })
                        : null,
                }),
            }),
        }),
        agree = report.Agree,
    }, JsonOptions);

    private static string KeyText(byte[] key) => Text(key) is { } text ? $"\"{text}\"" : "0x" + Convert.ToHexStringLower(key);

    private static string KeyJson(byte[] key, out string encoding)
    {
        if (Text(key) is { } text) { encoding = "utf8"; return text; }
        encoding = "hex";
        return Convert.ToHexStringLower(key);
    }

    private static string ValueText(FinalRecord? final, byte[]? value)
    {
        if (final is not { } f) return "has no record";
        var where = $"at offset {f.Offset}, timestamp {DateTimeOffset.FromUnixTimeMilliseconds(f.TimestampMs):yyyy-MM-ddTHH:mm:ss.fffZ}, from {f.Origin}";
        if (f.Tombstone) return $"tombstone ({where})";
        var shown = value is null ? "(value not read back)"
            : Text(value) is { } text ? $"\"{(text.Length > 40 ? text[..40] + "..." : text)}\""
            : "0x" + Convert.ToHexStringLower(value.AsSpan(0, Math.Min(16, value.Length))) + (value.Length > 16 ? "..." : "");
        return $"{shown} ({f.ValueLength} B {where})";
    }

    /// <summary>The bytes as text when they are UTF-8 without control characters; otherwise null.</summary>
    private static string? Text(byte[] bytes)
    {
        try
        {
            var text = StrictUtf8.GetString(bytes);
            return text.Any(char.IsControl) ? null : text;
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    private static string And(IReadOnlyList<long> offsets) =>
        offsets.Count == 1 ? $"{offsets[0]}" : string.Join(", ", offsets.Take(offsets.Count - 1)) + $" and {offsets[^1]}";

    private static string Number(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Plural(long count, string noun) => count == 1 ? $"1 {noun}" : $"{Number(count)} {noun}s";
}
