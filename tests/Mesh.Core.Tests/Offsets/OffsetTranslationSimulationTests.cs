using Mesh.Core.Offsets;

namespace Mesh.Core.Tests.Offsets;

/// <summary>
/// Active-active partitions: several origins' streams merged in a different random order in each of
/// two regions, each region possibly missing some records (conflict losers) and its head (retention).
/// A group committed at a random offset in one; the translation into the other must lose nothing and
/// count exactly what it delivers again.
/// </summary>
public sealed class OffsetTranslationSimulationTests
{
    private readonly record struct Record(OriginId Origin, long OriginOffset);

    [Theory]
    [InlineData(1, false, false)]
    [InlineData(2, true, false)]
    [InlineData(3, false, true)]
    [InlineData(4, true, true)]
    public void Random_interleavings_lose_nothing_and_count_redelivery_exactly(int seed, bool gaps, bool retention)
    {
        var random = new Random(seed);
        var paths = new Dictionary<string, int>();
        for (var run = 0; run < 400; run++)
        {
            var origins = Enumerable.Range(0, random.Next(1, 5))
                .Select(i => new OriginId(((char)('a' + i)).ToString(), random.Next(2) == 0 ? "1" : "2"))
                .Distinct().ToList();
            var lengths = origins.ToDictionary(o => o, _ => random.Next(0, 60));
            var source = Merge(random, origins, lengths, gaps);
            var target = Merge(random, origins, lengths, gaps);
            var sourceStart = retention && random.Next(3) == 0 ? random.Next(0, source.Count + 1) : 0;
            var targetStart = retention && random.Next(3) == 0 ? random.Next(0, target.Count + 1) : 0;
            var committed = random.Next(0, source.Count + 1);
            if (sourceStart > 0 && random.Next(4) == 0) committed = random.Next(0, sourceStart + 1);

            var translation = OffsetTranslator.Translate(Index(source, sourceStart), committed, Index(target, targetStart));
            var what = $"run {run}: source [{Show(source)}] from {sourceStart}, committed {committed}; target [{Show(target)}] from {targetStart}: {translation}";

            var processed = source.Take(committed).ToHashSet();
            var high = processed.GroupBy(r => r.Origin).ToDictionary(g => g.Key, g => g.Max(r => r.OriginOffset));
            long HighOf(OriginId o) => high.TryGetValue(o, out var h) ? h : -1;
            var p = translation.Offset;
            Assert.InRange(p, targetStart, target.Count);

            // Zero loss: everything before the position was processed (up to the origin's mark).
            for (var i = targetStart; i < p; i++)
                Assert.True(target[i].OriginOffset <= HighOf(target[i].Origin), $"{what}: {Show(target[i])} at {i} was never processed");
            if (!gaps)
                for (var i = targetStart; i < p; i++) Assert.True(processed.Contains(target[i]), $"{what}: {Show(target[i])} at {i} is skipped");

            // Exactness: what is re-delivered is counted; without the source's head missing, exactly.
            var redelivered = Enumerable.Range((int)p, target.Count - (int)p).Count(i => processed.Contains(target[i]));
            if (sourceStart == 0)
            {
                Assert.True(translation.Uncertain == 0 && translation.Redelivered == redelivered, $"{what}: {redelivered} re-delivered");
                // No later position is safe: the record at it was not processed.
                if (p < target.Count) Assert.True(target[(int)p].OriginOffset > HighOf(target[(int)p].Origin), $"{what}: position not the latest safe one");
            }
            else
            {
                Assert.True(translation.Certain <= redelivered && redelivered <= translation.Redelivered, $"{what}: {redelivered} re-delivered is outside the bound");
            }
            Note(paths, p == target.Count ? "at the end" : p == targetStart ? "at the start" : "in the middle");
            Note(paths, translation.Redelivered > 0 ? "re-delivers" : "re-delivers nothing");
            if (translation.Uncertain > 0) Note(paths, "uncertain");
        }
        // The interesting paths ran.
        Assert.True(paths.GetValueOrDefault("in the middle") > 50, string.Join(", ", paths));
        Assert.True(paths.GetValueOrDefault("re-delivers") > 50, string.Join(", ", paths));
        if (retention) Assert.True(paths.GetValueOrDefault("uncertain") > 0, string.Join(", ", paths));
    }

    private static void Note(Dictionary<string, int> paths, string path) => paths[path] = paths.GetValueOrDefault(path) + 1;

    /// <summary>The origins' streams merged in a random order, each in origin order, some records left out when there are gaps.</summary>
    private static List<Record> Merge(Random random, List<OriginId> origins, Dictionary<OriginId, int> lengths, bool gaps)
    {
        var next = origins.ToDictionary(o => o, _ => 0L);
        var log = new List<Record>();
        while (true)
        {
            var open = origins.Where(o => next[o] < lengths[o]).ToList();
            if (open.Count == 0) return log;
            var origin = open[random.Next(open.Count)];
            // Runs of a few records from one origin, as replication batches write them.
            for (var n = random.Next(1, 5); n > 0 && next[origin] < lengths[origin]; n--)
            {
                var record = new Record(origin, next[origin]++);
                if (!gaps || random.Next(6) != 0) log.Add(record);
            }
        }
    }

    private static PartitionIndex Index(List<Record> log, int start)
    {
        var index = new PartitionIndex(start);
        for (var i = start; i < log.Count; i++) index.Append(i, log[i].Origin, log[i].OriginOffset);
        index.Reach(log.Count);
        return index;
    }

    private static string Show(Record r) => $"{r.Origin}.{r.OriginOffset}";

    private static string Show(List<Record> log) => string.Join(' ', log.Select(Show));
}
