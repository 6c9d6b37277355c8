namespace Mesh.Core.Replication;

/// <summary>One partition replicator where it runs now: its grain key, its link and topic (the group it is balanced within) and its silo.</summary>
public sealed record ReplicatorPlacement(string Key, string Group, string Silo);

/// <summary>Move a replicator from one silo to another.</summary>
public sealed record ReplicatorMove(string Key, string From, string To);

/// <summary>
/// How a region's partition replicators should spread over its live silos: every silo within one of
/// every other, with as few moves as that takes. A replicator that is already on a silo within its
/// share stays there (a move costs a checkpoint and a recovery), so a silo that joins takes only its
/// share from the busiest silos, and the survivors of a silo that died keep what they had. Pure: the
/// plan changes nothing; the spread grain carries it out.
/// </summary>
public static class ReplicatorSpread
{
    /// <summary>
    /// The moves that even out <paramref name="placements"/> over <paramref name="silos"/>. None while any
    /// replicator runs on a silo that is not in the list (a silo that died or is leaving: Orleans places
    /// its replicators again first, and the next plan sees where they went).
    /// </summary>
    public static IReadOnlyList<ReplicatorMove> Plan(IReadOnlyCollection<string> silos, IReadOnlyCollection<ReplicatorPlacement> placements)
    {
        if (silos.Count < 2 || placements.Any(p => !silos.Contains(p.Silo))) return [];
        var on = silos.ToDictionary(s => s, s => new List<ReplicatorPlacement>(), StringComparer.Ordinal);
        foreach (var p in placements.OrderBy(p => p.Key, StringComparer.Ordinal)) on[p.Silo].Add(p);
        var moves = new List<ReplicatorMove>();
        while (true)
        {
            var busiest = on.OrderByDescending(s => s.Value.Count).ThenBy(s => s.Key, StringComparer.Ordinal).First();
            var idlest = on.OrderBy(s => s.Value.Count).ThenBy(s => s.Key, StringComparer.Ordinal).First();
            if (busiest.Value.Count - idlest.Value.Count <= 1) return moves;
            // Of the busiest silo's replicators, one of the group it holds most of relative to the idlest
            // silo, so that each link (and topic) ends up spread too, not only the total.
            var pick = busiest.Value
                .GroupBy(p => p.Group, StringComparer.Ordinal)
                .OrderByDescending(g => g.Count() - idlest.Value.Count(p => p.Group == g.Key))
                .ThenBy(g => g.Key, StringComparer.Ordinal)
                .First()
                .Last();
            busiest.Value.Remove(pick);
            idlest.Value.Add(pick with { Silo = idlest.Key });
            moves.Add(new ReplicatorMove(pick.Key, busiest.Key, idlest.Key));
        }
    }

    /// <summary>Replicators per silo after <paramref name="moves"/>, every silo listed (for logs and tests).</summary>
    public static IReadOnlyDictionary<string, int> Counts(IReadOnlyCollection<string> silos, IReadOnlyCollection<ReplicatorPlacement> placements, IReadOnlyList<ReplicatorMove>? moves = null)
    {
        var counts = silos.ToDictionary(s => s, _ => 0, StringComparer.Ordinal);
        foreach (var p in placements) counts[p.Silo] = counts.GetValueOrDefault(p.Silo) + 1;
        foreach (var m in moves ?? [])
        {
            counts[m.From]--;
            counts[m.To] = counts.GetValueOrDefault(m.To) + 1;
        }
        return counts;
    }
}
