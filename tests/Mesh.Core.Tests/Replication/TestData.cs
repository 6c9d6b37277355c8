using System.Collections.Immutable;
using System.Text;
using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Replication;

/// <summary>Seeded generators and record builders shared by the replication tests.</summary>
internal static class TestData
{
    private const string RegionAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_.";

    public static IEnumerable<object[]> Seeds(int count) => Enumerable.Range(0, count).Select(s => new object[] { s });

    /// <summary>A valid region id, mostly short, sometimes at the maximum length.</summary>
    public static string RegionId(Random random)
    {
        var length = random.Next(10) == 0 ? RegionIds.MaxLength : random.Next(1, 16);
        var chars = new char[length];
        for (var i = 0; i < length; i++) chars[i] = RegionAlphabet[random.Next(RegionAlphabet.Length)];
        return new string(chars);
    }

    /// <summary><paramref name="count"/> distinct valid region ids.</summary>
    public static List<string> DistinctRegionIds(Random random, int count)
    {
        var ids = new List<string>();
        while (ids.Count < count)
        {
            var id = RegionId(random);
            if (!ids.Contains(id, StringComparer.Ordinal)) ids.Add(id);
        }
        return ids;
    }

    public static Provenance RandomProvenance(Random random)
    {
        var hops = DistinctRegionIds(random, random.Next(1, 6));
        var partition = random.Next(4) switch { 0 => 0, 1 => int.MaxValue, _ => random.Next(0, 1000) };
        var offset = random.Next(4) switch { 0 => 0L, 1 => long.MaxValue, _ => random.NextInt64(0, long.MaxValue) };
        var timestamp = random.Next(5) switch
        {
            0 => long.MinValue,
            1 => long.MaxValue,
            2 => -random.NextInt64(1, 1_000_000_000_000),
            3 => 0L,
            _ => random.NextInt64(long.MinValue, long.MaxValue),
        };
        return new Provenance(hops[0], partition, offset, timestamp, [.. hops]);
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static RecordHeader ProvenanceHeader(Provenance provenance) =>
        new(ProvenanceCodec.HeaderName, ProvenanceCodec.Encode(provenance));

    public static RecordHeader ProvenanceHeader(string text) => new(ProvenanceCodec.HeaderName, Utf8(text));

    public static Provenance Prov(string origin, int partition, long offset, long timestampMs, params string[] hops) =>
        new(origin, partition, offset, timestampMs, [.. hops]);

    public static SourceRecord Record(long offset, params RecordHeader[] headers) =>
        new(offset, Utf8($"key-{offset}"), Utf8($"value-{offset}"), 1_700_000_000_000 + offset, headers);

    public static ImmutableArray<string> Hops(params string[] hops) => [.. hops];
}
