namespace Mesh.Client.Drill;

/// <summary>Records acknowledged by a dead region that no survivor held, and how old the oldest was when the region died.</summary>
/// <param name="Examples">A few of their values (region:sequence), oldest first.</param>
public sealed record RecoveryPoint(int Records, double Seconds, IReadOnlyList<string> Examples);

/// <summary>What a consumer group did across a failover: what it never processed, and what it processed more than once.</summary>
/// <param name="Lost">Records the surviving region held that the group processed in neither region.</param>
/// <param name="Redelivered">Distinct records the group processed more than once (in one region or across both).</param>
/// <param name="ExtraDeliveries">Deliveries beyond the first, summed over every record.</param>
public sealed record GroupOutcome(int Lost, IReadOnlyList<string> LostExamples, int Redelivered, long ExtraDeliveries);

/// <summary>
/// The drill's figures as pure functions of sets of record identities (a record is known by its
/// value, <c>region:sequence</c>, unique across the mesh), so that what the drill reports can be
/// checked without a mesh.
/// </summary>
public static class DrillMeasures
{
    private const int ExampleCount = 5;

    /// <summary>
    /// The recovery point: records <paramref name="acked"/> by the dead region's producer (value to the
    /// time it was sent) that no survivor holds. Its age is the kill time minus the send time of the
    /// oldest of them; 0 when there are none.
    /// </summary>
    public static RecoveryPoint RecoveryPoint(IReadOnlyDictionary<string, DateTimeOffset> acked, Func<string, bool> anySurvivorHolds, DateTimeOffset killedAt)
    {
        var missing = acked.Where(a => !anySurvivorHolds(a.Key)).OrderBy(a => a.Value).ThenBy(a => a.Key, StringComparer.Ordinal).ToList();
        if (missing.Count == 0) return new RecoveryPoint(0, 0, []);
        var age = Math.Max(0, (killedAt - missing[0].Value).TotalSeconds);
        return new RecoveryPoint(missing.Count, age, [.. missing.Take(ExampleCount).Select(m => m.Key)]);
    }

    /// <summary>
    /// What the group lost and re-processed. <paramref name="held"/> is what the region the group failed
    /// over to held at the end (records that never reached it are the recovery point's, not the
    /// group's); <paramref name="processed"/> is how many times the group processed each record, in
    /// the dead region and the survivor together.
    /// </summary>
    public static GroupOutcome GroupOutcome(IEnumerable<string> held, IReadOnlyDictionary<string, int> processed)
    {
        var lost = held.Where(v => processed.GetValueOrDefault(v) == 0).Distinct().Order(StringComparer.Ordinal).ToList();
        var redelivered = processed.Values.Count(n => n > 1);
        var extra = processed.Values.Where(n => n > 1).Sum(n => (long)n - 1);
        return new GroupOutcome(lost.Count, [.. lost.Take(ExampleCount)], redelivered, extra);
    }

    /// <summary>
    /// Records another survivor holds that the region the group failed over to does not: neither lost
    /// by the group (it could never see them there) nor part of the recovery point (a survivor holds
    /// them), but out of the group's reach until the mesh brings them over.
    /// </summary>
    public static (int Records, IReadOnlyList<string> Examples) OutOfReach(IEnumerable<string> heldByFailover, IEnumerable<string> heldByOtherSurvivors)
    {
        var failover = heldByFailover.ToHashSet(StringComparer.Ordinal);
        var missing = heldByOtherSurvivors.Where(v => !failover.Contains(v)).Distinct().Order(StringComparer.Ordinal).ToList();
        return (missing.Count, [.. missing.Take(ExampleCount)]);
    }

    /// <summary>Counts each value's occurrences across the given sequences of processed values.</summary>
    public static Dictionary<string, int> Tally(params IEnumerable<string>[] processed)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var values in processed)
            foreach (var value in values)
                counts[value] = counts.GetValueOrDefault(value) + 1;
        return counts;
    }

    /// <summary>How many of <paramref name="expected"/> a region does not hold (a rebuilt region holds all of them).</summary>
    public static int Missing(IEnumerable<string> expected, Func<string, bool> holds) => expected.Count(v => !holds(v));
}

/// <summary>
/// Decides when a count has stopped changing: it has held the same value for <see cref="Window"/>.
/// Fed observations with their times, so that it needs no clock of its own.
/// </summary>
public sealed class Quiescence(TimeSpan window)
{
    private long? _last;
    private DateTimeOffset _since;

    public TimeSpan Window { get; } = window;

    /// <summary>Notes the count seen at <paramref name="now"/>; true once it has not changed for the window.</summary>
    public bool Observe(long count, DateTimeOffset now)
    {
        if (_last != count)
        {
            _last = count;
            _since = now;
            return false;
        }
        return now - _since >= Window;
    }
}
