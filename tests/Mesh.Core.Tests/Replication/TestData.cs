using System.Collections.Immutable;
using System.Text;
using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Replication;

/// <summary>Seeded generators and record builders shared by the replication tests.</summary>
internal static class TestData
{
    private const string RegionAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_.";
    private const string IncarnationAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    private const string TopicAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";

    /// <summary>The incarnation the tests give a region unless they say otherwise.</summary>
    public const string Inc = "1a2b3c4d";

    /// <summary>Another incarnation (a region that came back with an empty Kafka).</summary>
    public const string Inc2 = "5e1f09aa";

    /// <summary>The topic the tests replicate unless they say otherwise.</summary>
    public const string Topic = "orders";

    /// <summary>Two valid mesh keys (49 characters each).</summary>
    public const string KeyText = "test-key-0000000000000000000000000000000000000000";
    public const string OtherKeyText = "test-key-1111111111111111111111111111111111111111";

    public static MeshKeys Keys => MeshKeys.Create(KeyText, null)!;

    public static IEnumerable<object[]> Seeds(int count) => Enumerable.Range(0, count).Select(s => new object[] { s });

    /// <summary>A valid region id, mostly short, sometimes at the maximum length.</summary>
    public static string RegionId(Random random)
    {
        var length = random.Next(10) == 0 ? RegionIds.MaxLength : random.Next(1, 16);
        return RandomText(random, RegionAlphabet, length);
    }

    /// <summary>A valid incarnation, mostly eight hex digits, sometimes at the maximum length.</summary>
    public static string Incarnation(Random random) => random.Next(3) switch
    {
        0 => RandomText(random, IncarnationAlphabet, Incarnations.MaxLength),
        1 => RandomText(random, IncarnationAlphabet, random.Next(1, 12)),
        _ => Incarnations.FromClusterId(random.Next().ToString()),
    };

    /// <summary>A valid Kafka topic name, mostly short, sometimes at the maximum length.</summary>
    public static string TopicName(Random random) =>
        RandomText(random, TopicAlphabet, random.Next(10) == 0 ? TopicNames.MaxLength : random.Next(1, 30));

    private static string RandomText(Random random, string alphabet, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++) chars[i] = alphabet[random.Next(alphabet.Length)];
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
        return new Provenance(hops[0], Incarnation(random), TopicName(random), partition, offset, timestamp, [.. hops]);
    }

    /// <summary>Random bytes, or null, or empty.</summary>
    public static byte[]? RandomBytes(Random random) => random.Next(6) switch
    {
        0 => null,
        1 => [],
        _ => Enumerable.Range(0, random.Next(1, 40)).Select(_ => (byte)random.Next(256)).ToArray(),
    };

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static string Text(byte[]? bytes) => bytes is null ? "<null>" : Encoding.UTF8.GetString(bytes);

    /// <summary>An unsigned provenance header.</summary>
    public static RecordHeader ProvenanceHeader(Provenance provenance) =>
        new(ProvenanceCodec.HeaderName, ProvenanceCodec.Encode(provenance));

    public static RecordHeader ProvenanceHeader(string text) => new(ProvenanceCodec.HeaderName, Utf8(text));

    public static Provenance Prov(string origin, string incarnation, string topic, int partition, long offset, long timestampMs, params string[] hops) =>
        new(origin, incarnation, topic, partition, offset, timestampMs, [.. hops]);

    /// <summary>Provenance of topic <see cref="Topic"/>, incarnation <see cref="Inc"/>.</summary>
    public static Provenance Prov(string origin, int partition, long offset, long timestampMs, params string[] hops) =>
        Prov(origin, Inc, Topic, partition, offset, timestampMs, hops);

    /// <summary>The timestamp <see cref="Record(long, RecordHeader[])"/> gives a record without a provenance header.</summary>
    public static long LocalTimestamp(long offset) => 1_700_000_000_000 + offset;

    /// <summary>
    /// A record at <paramref name="offset"/>. Its timestamp is <see cref="LocalTimestamp"/>, except that a record
    /// carrying a well-formed provenance header has the origin timestamp it names (the first such header's), as
    /// every record the mesh writes does: so a genuine header is trusted on it. A test about a header copied onto
    /// a record with another timestamp says so with <c>with { TimestampMs = ... }</c>.
    /// </summary>
    public static SourceRecord Record(long offset, params RecordHeader[] headers) =>
        new(offset, Utf8($"key-{offset}"), Utf8($"value-{offset}"), OriginTimestampOf(headers) ?? LocalTimestamp(offset), headers);

    private static long? OriginTimestampOf(IEnumerable<RecordHeader> headers)
    {
        foreach (var header in headers)
        {
            if (header.Name == ProvenanceCodec.HeaderName && header.Value is { } value && ProvenanceCodec.TryDecode(value, out var decoded, out _))
                return decoded!.Provenance.OriginTimestampMs;
        }
        return null;
    }

    /// <summary>
    /// A record at <paramref name="offset"/> carrying <paramref name="provenance"/> signed for exactly this record,
    /// with the origin timestamp as its own (as the mesh writes it).
    /// </summary>
    public static SourceRecord SignedRecord(long offset, Provenance provenance, MeshKeys keys, params RecordHeader[] headers)
    {
        var bare = Record(offset) with { TimestampMs = provenance.OriginTimestampMs };
        using var signer = keys.CreateSigner();
        var header = new RecordHeader(ProvenanceCodec.HeaderName, signer.Encode(provenance, bare.Key, bare.Value));
        return bare with { Headers = [.. headers, header] };
    }

    public static ImmutableArray<string> Hops(params string[] hops) => [.. hops];
}
