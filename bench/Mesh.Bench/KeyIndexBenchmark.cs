using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Mesh.Core.Conflicts;
using Spectre.Console;

namespace Mesh.Bench;

/// <summary>
/// <c>keyindex</c>: what a repairer's key index costs per key, against the map one would write first (hex strings
/// to a tuple) and against the alternative design (a dictionary keyed by the key's bytes with a cached hash).
/// Heap growth is measured with <see cref="GC.GetTotalMemory(bool)"/> around filling each structure with the same
/// random keys, winners spread over three origin regions; the keys' own buffer is allocated before and not counted.
/// </summary>
internal static class KeyIndexBenchmark
{
    private static readonly string[] Regions = ["us-east", "eu-west", "ap-south"];

    public static Command Create()
    {
        var keys = new Option<int>("--keys") { Description = "How many random keys to index", DefaultValueFactory = _ => 1_000_000 };
        var keyBytes = new Option<int>("--key-bytes") { Description = "The length of each key in bytes", DefaultValueFactory = _ => 16 };
        var seed = new Option<int>("--seed") { Description = "Seed of the random keys and versions", DefaultValueFactory = _ => 1 };
        keys.Validators.Add(result => { if (result.GetValueOrDefault<int>() <= 0) result.AddError("--keys must be positive"); });
        keyBytes.Validators.Add(result => { if (result.GetValueOrDefault<int>() is < 4 or > 4096) result.AddError("--key-bytes must be between 4 and 4096"); });
        var command = new Command("keyindex", "Fill a KeyIndex with random keys and print its bytes per key beside a Dictionary<string, (long, string, long, long)> of the same keys as hex") { keys, keyBytes, seed };
        command.SetAction(parse => Run(parse.GetValue(keys), parse.GetValue(keyBytes), parse.GetValue(seed)));
        return command;
    }

    private static int Run(int count, int keyBytes, int seed)
    {
        var random = new Random(seed);
        var keys = new byte[(long)count * keyBytes];
        random.NextBytes(keys);
        var winners = new (long Value, int Region, long OriginOffset, long WinnerOffset)[count];
        for (var i = 0; i < count; i++) winners[i] = (random.NextInt64(), random.Next(Regions.Length), random.NextInt64(0, 1L << 40), random.NextInt64(0, 1L << 40));
        ReadOnlySpan<byte> Key(int i) => keys.AsSpan(i * keyBytes, keyBytes);

        var rows = new List<Row>();

        var (indexBytes, indexFill, index) = Measure(() =>
        {
            var built = new KeyIndex();
            for (var i = 0; i < count; i++)
                built.Set(Key(i), new RecordVersion(winners[i].Value, Regions[winners[i].Region], winners[i].OriginOffset), winners[i].WinnerOffset);
            return built;
        });
        var indexLookup = Time(() =>
        {
            for (var i = 0; i < count; i++)
            {
                if (!index.TryGet(Key(i), out _, out _)) throw new InvalidOperationException($"key {i} is missing from the index");
            }
        });
        rows.Add(new Row("KeyIndex", index.Count, indexBytes, index.EstimatedBytes, indexFill, indexLookup));
        GC.KeepAlive(index);
        index = null;

        var (bytesBytes, bytesFill, byBytes) = Measure(() =>
        {
            var built = new Dictionary<BytesKey, Winner>();
            for (var i = 0; i < count; i++)
                built[new BytesKey(Key(i).ToArray())] = new Winner(winners[i].Value, winners[i].OriginOffset, winners[i].WinnerOffset, (ushort)winners[i].Region);
            return built;
        });
        var bytesLookup = Time(() =>
        {
            for (var i = 0; i < count; i++)
            {
                if (!byBytes.ContainsKey(new BytesKey(Key(i).ToArray()))) throw new InvalidOperationException($"key {i} is missing");
            }
        });
        rows.Add(new Row("Dictionary, byte[] keys", byBytes.Count, bytesBytes, null, bytesFill, bytesLookup));
        GC.KeepAlive(byBytes);
        byBytes = null;

        var (hexBytes, hexFill, byHex) = Measure(() =>
        {
            var built = new Dictionary<string, (long, string, long, long)>();
            for (var i = 0; i < count; i++)
                built[Convert.ToHexString(Key(i))] = (winners[i].Value, Regions[winners[i].Region], winners[i].OriginOffset, winners[i].WinnerOffset);
            return built;
        });
        var hexLookup = Time(() =>
        {
            for (var i = 0; i < count; i++)
            {
                if (!byHex.ContainsKey(Convert.ToHexString(Key(i)))) throw new InvalidOperationException($"key {i} is missing");
            }
        });
        rows.Add(new Row("Dictionary, hex keys", byHex.Count, hexBytes, null, hexFill, hexLookup));
        GC.KeepAlive(byHex);

        Print(count, keyBytes, seed, rows);
        return 0;
    }

    private sealed record Row(string Structure, int Keys, long HeapBytes, long? EstimatedBytes, TimeSpan Fill, TimeSpan Lookup);

    private static void Print(int count, int keyBytes, int seed, List<Row> rows)
    {
        static string Number(double value, string format = "F1") => value.ToString(format, CultureInfo.InvariantCulture);
        // Spectre assumes 80 columns when the output is a file; the table reads better unwrapped.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 140;
        AnsiConsole.WriteLine($"{count.ToString("N0", CultureInfo.InvariantCulture)} random keys of {keyBytes} bytes (seed {seed}), winners from {Regions.Length} origin regions; .NET {Environment.Version}, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC");
        var table = new Table().AddColumns("structure", "bytes/key", "beyond key", "MiB/M keys", "estimated", "fill ns", "get ns");
        foreach (var row in rows)
        {
            var perKey = (double)row.HeapBytes / row.Keys;
            table.AddRow(
                Markup.Escape(row.Structure),
                Number(perKey),
                Number(perKey - keyBytes),
                Number(perKey * 1_000_000 / (1 << 20)),
                row.EstimatedBytes is { } estimated ? Number((double)estimated / row.Keys) : "",
                Number(row.Fill.TotalNanoseconds / row.Keys, "F0"),
                Number(row.Lookup.TotalNanoseconds / row.Keys, "F0"));
        }
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine("KeyIndex: the repairer's index. Dictionary, byte[] keys: Dictionary<(byte[], cached hash), struct winner>, the design not taken. " +
                              "Dictionary, hex keys: Dictionary<string, (long, string, long, long)>, the baseline. " +
                              "Bytes per key: heap growth (GC.GetTotalMemory) over keys; estimated: KeyIndex.EstimatedBytes over keys.");
    }

    /// <summary>The heap growth that <paramref name="build"/> leaves behind (its result kept alive), and the time it took.</summary>
    private static (long Bytes, TimeSpan Elapsed, T Result) Measure<T>(Func<T> build)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var watch = Stopwatch.StartNew();
        var result = build();
        watch.Stop();
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(result);
        return (after - before, watch.Elapsed, result);
    }

    private static TimeSpan Time(Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        return watch.Elapsed;
    }

    /// <summary>The alternative design: a key's bytes with their hash computed once.</summary>
    private readonly struct BytesKey : IEquatable<BytesKey>
    {
        private readonly byte[] _bytes;
        private readonly int _hash;

        public BytesKey(byte[] bytes)
        {
            _bytes = bytes;
            var hash = new HashCode();
            hash.AddBytes(bytes);
            _hash = hash.ToHashCode();
        }

        public bool Equals(BytesKey other) => _hash == other._hash && _bytes.AsSpan().SequenceEqual(other._bytes);

        public override bool Equals(object? obj) => obj is BytesKey other && Equals(other);

        public override int GetHashCode() => _hash;
    }

    private readonly record struct Winner(long Value, long OriginOffset, long WinnerOffset, ushort Region);
}
