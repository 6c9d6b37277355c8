using Mesh.Core.Conflicts;

namespace Mesh.Core.Tests.Conflicts;

public sealed class KeyIndexTests
{
    private static readonly string[] Regions = ["us-east", "eu-west", "ap-south"];

    [Fact]
    public void Set_then_get_and_overwrite()
    {
        var index = new KeyIndex();

        Assert.False(index.TryGet("a"u8, out _, out var missing));
        Assert.Equal(-1, missing);
        index.Set("a"u8, new RecordVersion(5, "us-east", 1), 10);
        index.Set("b"u8, new RecordVersion(-5, "eu-west", 2), 11);
        index.Set("a"u8, new RecordVersion(6, "ap-south", 3), 12);

        Assert.Equal(2, index.Count);
        Assert.True(index.TryGet("a"u8, out var a, out var aOffset));
        Assert.Equal((new RecordVersion(6, "ap-south", 3), 12L), (a, aOffset));
        Assert.True(index.TryGet("b"u8, out var b, out var bOffset));
        Assert.Equal((new RecordVersion(-5, "eu-west", 2), 11L), (b, bOffset));
    }

    [Fact]
    public void Keys_are_compared_in_full_binary_and_empty_ones_included()
    {
        var index = new KeyIndex();
        byte[][] keys = [[], [0], [0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1], [1, 0], [0, 1], [255, 0, 255]];
        for (var i = 0; i < keys.Length; i++) index.Set(keys[i], new RecordVersion(i, "us-east", i), i);

        Assert.Equal(keys.Length, index.Count);
        for (var i = 0; i < keys.Length; i++)
        {
            Assert.True(index.TryGet(keys[i], out var winner, out var offset), $"key {Convert.ToHexString(keys[i])}");
            Assert.Equal((i, (long)i), (winner.Value, offset));
        }
        Assert.False(index.TryGet([0, 0, 0], out _, out _));
    }

    [Fact]
    public void Long_keys_of_every_length_prefix_size_and_beyond_a_chunk()
    {
        var index = new KeyIndex();
        var random = new Random(3);
        int[] lengths = [127, 128, 16_383, 16_384, 300_000, 1 << 20, (1 << 20) + 1, 3 << 20, 5];
        var keys = lengths.Select(length => { var key = new byte[length]; random.NextBytes(key); return key; }).ToArray();
        for (var i = 0; i < keys.Length; i++) index.Set(keys[i], new RecordVersion(i, "a", 0), i);

        for (var i = 0; i < keys.Length; i++)
        {
            Assert.True(index.TryGet(keys[i], out var winner, out _), $"key of {keys[i].Length} bytes");
            Assert.Equal(i, winner.Value);
        }
        // The same bytes, one shorter: a different key.
        Assert.False(index.TryGet(keys[3].AsSpan(0, keys[3].Length - 1), out _, out _));
        Assert.True(index.EstimatedBytes > lengths.Sum());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    public void Colliding_hashes_never_confuse_keys(int hashMask)
    {
        // With the hash masked to a few values every key collides with many others: only a full comparison tells them apart.
        var index = new KeyIndex(hashMask);
        var oracle = new Dictionary<string, (RecordVersion, long)>();
        var random = new Random(hashMask);
        for (var i = 0; i < 3000; i++)
        {
            var key = new byte[random.Next(0, 4)];
            random.NextBytes(key);
            var entry = (new RecordVersion(random.NextInt64(), Regions[random.Next(3)], i), (long)i);
            index.Set(key, entry.Item1, entry.Item2);
            oracle[Convert.ToHexString(key)] = entry;
        }

        Assert.Equal(oracle.Count, index.Count);
        foreach (var (hex, expected) in oracle)
        {
            Assert.True(index.TryGet(Convert.FromHexString(hex), out var winner, out var offset), hex);
            Assert.Equal(expected, (winner, offset));
        }
    }

    [Fact]
    public void Hundred_thousand_random_keys_agree_with_a_dictionary()
    {
        var index = new KeyIndex();
        var oracle = new Dictionary<string, (RecordVersion Winner, long Offset)>();
        var random = new Random(11);
        var keys = new List<byte[]>();
        for (var step = 0; step < 150_000; step++)
        {
            // Mostly new keys, some overwrites of earlier ones; lengths from empty to 64 bytes.
            byte[] key;
            if (keys.Count > 0 && random.Next(4) == 0) key = keys[random.Next(keys.Count)];
            else
            {
                key = new byte[random.Next(0, 65)];
                random.NextBytes(key);
                keys.Add(key);
            }
            var entry = (new RecordVersion(random.NextInt64(long.MinValue, long.MaxValue), Regions[random.Next(3)], random.NextInt64(0, long.MaxValue)), random.NextInt64(0, long.MaxValue));
            index.Set(key, entry.Item1, entry.Item2);
            oracle[Convert.ToHexString(key)] = entry;
        }

        Assert.True(oracle.Count >= 100_000, $"{oracle.Count} distinct keys");
        Assert.Equal(oracle.Count, index.Count);
        foreach (var (hex, expected) in oracle)
        {
            Assert.True(index.TryGet(Convert.FromHexString(hex), out var winner, out var offset), hex);
            Assert.Equal(expected, (winner, offset));
        }
        for (var i = 0; i < 10_000; i++)
        {
            var absent = new byte[random.Next(1, 65)];
            random.NextBytes(absent);
            Assert.Equal(oracle.ContainsKey(Convert.ToHexString(absent)), index.TryGet(absent, out _, out _));
        }
    }

    [Fact]
    public void A_small_index_stays_small_and_a_large_one_near_its_entries()
    {
        var small = new KeyIndex();
        for (var i = 0; i < 10; i++) small.Set(BitConverter.GetBytes(i), new RecordVersion(i, "a", i), i);
        Assert.True(small.EstimatedBytes < 4096, $"ten keys take {small.EstimatedBytes} bytes");

        var large = new KeyIndex();
        for (var i = 0; i < 200_000; i++) large.Set(BitConverter.GetBytes((long)i * 7919), new RecordVersion(i, Regions[i % 3], i), i);
        var perKey = (double)large.EstimatedBytes / large.Count;
        Assert.True(perKey < 8 + 1 + 64, $"{perKey:F1} bytes per 8-byte key");
    }

    [Fact]
    public void Region_names_are_kept_once_and_given_back_whole()
    {
        var index = new KeyIndex();
        var names = Enumerable.Range(0, 300).Select(i => $"region-{i}").ToArray();
        for (var i = 0; i < 3000; i++) index.Set(BitConverter.GetBytes(i), new RecordVersion(0, names[i % names.Length], i), i);

        for (var i = 0; i < 3000; i++)
        {
            Assert.True(index.TryGet(BitConverter.GetBytes(i), out var winner, out _));
            Assert.Equal(names[i % names.Length], winner.OriginRegion);
        }
    }
}
