using System.Diagnostics;
using System.Text;
using Mesh.Client.Local;
using Mesh.Core.Topology;
using Mesh.Grains;

namespace Mesh.Client.Admin;

/// <summary>What happened to one region in <c>mesh topology apply</c>; <see cref="Outcome"/> is one of <see cref="RolloutOutcomes"/>.</summary>
/// <param name="VersionBefore">The version it ran when the apply read it; null when it could not be read.</param>
/// <param name="VersionAfter">The version it runs now; null when it stopped answering and nobody knows.</param>
public sealed record RegionApplyReport(
    string Region,
    string Outcome,
    long? VersionBefore,
    long? VersionAfter,
    IReadOnlyList<string> LinksAdded,
    IReadOnlyList<string> LinksRemoved,
    IReadOnlyList<string> LinksChanged,
    int PartitionsRestarted,
    string? Error,
    TimeSpan Elapsed,
    bool Coordinator = false,
    string? AdoptedFrom = null)
{
    public static RegionApplyReport From(ApplyResult result, TimeSpan elapsed, bool coordinator) => new(
        result.Region, RolloutOutcomes.Of(result.Outcome), result.VersionBefore, result.VersionAfter,
        result.LinksAdded, result.LinksRemoved, result.LinksChanged, result.PartitionsRestarted, result.Error, elapsed, coordinator);

    /// <summary>A region nothing was asked of: it stays on <paramref name="version"/> (null: not known, it could not be read).</summary>
    public static RegionApplyReport Untouched(string region, string outcome, long? version, string? error, TimeSpan elapsed = default) =>
        new(region, outcome, version, version, [], [], [], 0, error, elapsed);
}

public static class RolloutOutcomes
{
    public const string Applied = "applied";
    public const string Unchanged = "unchanged";
    public const string Refused = "refused";
    public const string WouldApply = "would-apply";
    public const string Unreachable = "unreachable";
    /// <summary>Nothing was asked of the region: the apply stopped before it (refused elsewhere, a version check).</summary>
    public const string NotApplied = "not-applied";
    /// <summary>A dry run over a local mesh: the region is new and would be started.</summary>
    public const string WouldStart = "would-start";

    public static string Of(ApplyOutcome outcome) => outcome switch
    {
        ApplyOutcome.Applied => Applied,
        ApplyOutcome.Unchanged => Unchanged,
        ApplyOutcome.Refused => Refused,
        ApplyOutcome.WouldApply => WouldApply,
        _ => outcome.ToString().ToLowerInvariant(),
    };
}

/// <param name="ExitCode">0 applied (or a dry run, or nothing to do); 2 refused (invalid, version not increasing, another apply won); 3 a region could not be reached; 1 a region failed otherwise.</param>
/// <param name="Errors">What went wrong, for standard error.</param>
/// <param name="Notes">What the operator should know even when it worked (regions that adopt the version later).</param>
public sealed record RolloutResult(
    int ExitCode,
    long Version,
    string Name,
    bool DryRun,
    IReadOnlyList<RegionApplyReport> Regions,
    IReadOnlyList<string> Errors,
    IReadOnlyList<string> Notes,
    TimeSpan Elapsed);

/// <summary>
/// Applies a topology document to every region of a mesh: reads what each region runs, checks the
/// version increases everywhere, applies to a coordinator first (the reachable region whose id sorts
/// first: its compare-and-set on the version it was read at decides between concurrent applies),
/// then to the others in parallel. Over a local mesh it also starts the regions the document adds.
/// </summary>
/// <param name="local">The local mesh behind <paramref name="gateways"/>, if it is one: new regions are started in it and its state follows the applied version.</param>
/// <param name="progress">One line per long step, for standard error.</param>
/// <param name="show">Text the operator reads before the outcome (the diff), for standard output.</param>
public sealed class TopologyRollout(IRegionGateways gateways, LocalMesh? local, Action<string> progress, Action<string> show)
{
    public static readonly TimeSpan ApplyTimeout = TimeSpan.FromMinutes(2);

    /// <summary>A valid topology file: its text as read, where it came from, what it says.</summary>
    public sealed record Input(string Text, string SourceName, Topology Topology);

    public async Task<RolloutResult> RunAsync(Input input, bool dryRun, bool allowUnreachable, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var version = input.Topology.Version;
        var errors = new List<string>();
        var notes = new List<string>();
        RolloutResult Done(int exitCode, IEnumerable<RegionApplyReport> regions) =>
            new(exitCode, version, input.Topology.Name, dryRun, [.. regions.OrderBy(r => r.Region, StringComparer.Ordinal)], errors, notes, clock.Elapsed);

        var fileRegions = input.Topology.Regions.Select(r => r.Id).ToList();
        List<string> added = local is null ? [] : [.. fileRegions.Except(gateways.Regions).Order(StringComparer.Ordinal)];
        var targets = fileRegions.Union(gateways.Regions).Except(added).Order(StringComparer.Ordinal).ToList();

        progress($"reading the topology of {Plural(targets.Count, "region")} ({string.Join(", ", targets)}) through {gateways.Description}");
        await using var connections = await MeshConnections.OpenAsync(gateways, targets, cancellationToken);
        var read = await connections.ReadTopologiesAsync(cancellationToken);
        var reachable = read.Where(r => r.Reachable).ToList();
        var unreachable = read.Where(r => !r.Reachable).ToList();
        var untouched = () => read.Select(r => RegionApplyReport.Untouched(r.Region, r.Reachable ? RolloutOutcomes.NotApplied : RolloutOutcomes.Unreachable, r.Applied?.Version, r.Error));

        if (unreachable.Count > 0 && (!allowUnreachable || reachable.Count == 0))
        {
            foreach (var region in unreachable) errors.Add($"region {region.Region} cannot be reached: {region.Error}");
            errors.Add(reachable.Count == 0
                ? "Nothing was applied: no region could be reached."
                : $"Nothing was applied anywhere. Start {string.Join(", ", unreachable.Select(r => r.Region))} and apply again, or add --allow-unreachable " +
                  "to apply to the others (an unreachable region adopts the new version from its peers when it returns).");
            return Done(3, untouched());
        }

        var (text, topology) = Effective(input);
        var runsIt = reachable.Where(r => Runs(r, topology)).Select(r => r.Region).ToHashSet(StringComparer.Ordinal);
        show(Diffs(reachable, runsIt, topology, added, gateways.Regions.Except(fileRegions).ToList()));

        var ahead = reachable.Where(r => !runsIt.Contains(r.Region) && r.Version >= version).ToList();
        if (ahead.Count > 0)
        {
            errors.Add($"{input.SourceName} has version {version}, which does not increase over what the regions run:");
            foreach (var region in reachable)
                errors.Add($"  {region.Region} runs version {region.Version}{NameOf(region)}");
            errors.Add($"fix: set 'version: {reachable.Max(r => r.Version) + 1}' (or higher) in {input.SourceName}. Nothing was applied.");
            return Done(2, untouched());
        }
        // Refused before anything is sent: no region could order such a move against another region's links.
        var runs = read.Where(r => !r.Reachable || r.Version > 0)
            .Select(r => new RegionRuns(r.Region, r.Applied is { } a ? Topology.Load(a.Document, r.Region).Topology : null, r.Applied?.Paused ?? []))
            .ToList();
        if (RouteMoves.Unpaused(runs, topology) is { Count: > 0 } moves)
        {
            errors.AddRange(RouteMoves.Refusal(moves, topology, input.SourceName));
            return Done(2, untouched());
        }
        if (runsIt.Count == reachable.Count && added.Count == 0)
        {
            notes.Add($"Every reachable region already runs version {version} of this document; nothing to apply.");
            NoteUnreachable(unreachable.Select(r => r.Region), notes, version);
            return Done(0, read.Select(r => RegionApplyReport.Untouched(r.Region, r.Reachable ? RolloutOutcomes.Unchanged : RolloutOutcomes.Unreachable, r.Applied?.Version, r.Error)));
        }

        var pending = reachable.Where(r => !runsIt.Contains(r.Region)).OrderBy(r => r.Region, StringComparer.Ordinal).ToList();
        var alreadyRunning = reachable.Where(r => runsIt.Contains(r.Region))
            .Select(r => RegionApplyReport.Untouched(r.Region, RolloutOutcomes.Unchanged, r.Version, null)).ToList();
        var unreachableReports = unreachable.Select(r => RegionApplyReport.Untouched(r.Region, RolloutOutcomes.Unreachable, null, r.Error)).ToList();

        if (dryRun)
        {
            progress($"asking {Plural(pending.Count, "region")} what version {version} would change (dry run)");
            var answers = await Task.WhenAll(pending.Select(r => ApplyOneAsync(connections.Open[r.Region], text, topology, r.Version, dryRun: true, coordinator: false, cancellationToken)));
            var wouldStart = added.Select(r => RegionApplyReport.Untouched(r, RolloutOutcomes.WouldStart, 0,
                $"not running yet: the apply would start it (embedded Kafka with the mesh's topics, silos) on version {version}"));
            foreach (var refused in answers.Where(a => a.Outcome == RolloutOutcomes.Refused)) errors.Add($"{refused.Region} would refuse version {version}: {refused.Error}");
            notes.Add("Dry run: nothing was changed.");
            NoteUnreachable(unreachable.Select(r => r.Region), notes, version);
            return Done(answers.Any(a => a.Outcome == RolloutOutcomes.Refused) ? 2 : answers.Any(a => a.Outcome == RolloutOutcomes.Unreachable) ? 3 : 0,
                [.. answers, .. wouldStart, .. alreadyRunning, .. unreachableReports]);
        }

        if (added.Count > 0)
        {
            progress($"starting the embedded Kafka of {string.Join(", ", added)} (new in version {version}), with the mesh's topics");
            await local!.AddRegionsAsync(added, version, cancellationToken);
            (text, topology) = Effective(input);
        }

        if (pending.Count == 0)
        {
            // Every region that runs already has this document: the new regions are all there is to do.
            progress($"starting the silos of {string.Join(", ", added)} on version {version}");
            await local!.StartAddedSilosAsync(added, version, text, cancellationToken);
            local.RecordApplied(topology, text);
            return Done(0, [.. await ApplyToAddedAsync(connections, added, text, topology, cancellationToken), .. alreadyRunning, .. unreachableReports]);
        }

        var coordinator = pending[0];
        progress($"applying version {version} to {coordinator.Region} first: it decides between concurrent applies");
        var first = await ApplyOneAsync(connections.Open[coordinator.Region], text, topology, coordinator.Version, dryRun: false, coordinator: true, cancellationToken);
        // Refused because the same document got there first (a concurrent apply of the same file): nothing to decide, go on.
        if (first.Outcome == RolloutOutcomes.Refused && await RunsNowAsync(connections.Open[coordinator.Region], topology, cancellationToken) is { } same)
            first = first with { Outcome = RolloutOutcomes.Unchanged, VersionAfter = same.Version, Error = null };
        if (first.Outcome is not (RolloutOutcomes.Applied or RolloutOutcomes.Unchanged))
        {
            if (added.Count > 0)
            {
                progress($"stopping {string.Join(", ", added)} again");
                await local!.RemoveRegionsAsync(added);
            }
            var others = pending.Skip(1).Select(r => RegionApplyReport.Untouched(r.Region, RolloutOutcomes.NotApplied, r.Version, null));
            if (first.Outcome == RolloutOutcomes.Unreachable)
            {
                errors.Add(first.VersionAfter is { } held
                    ? $"{coordinator.Region} did not take version {version}: the call failed ({first.Error}) and read again it runs version {held}. " +
                      "Nothing else was applied. Apply again."
                    : $"{coordinator.Region} stopped answering during the apply ({first.Error}) and could not be read again: it may or may not have taken version {version}. " +
                      "Nothing else was applied. Check with 'mesh topology get' and apply again.");
                return Done(3, [first, .. others, .. alreadyRunning, .. unreachableReports]);
            }
            errors.Add($"{coordinator.Region} refused version {version}: {first.Error}");
            var now = await connections.ReadTopologiesAsync(cancellationToken);
            errors.Add("The regions run now:");
            foreach (var region in now)
                errors.Add(region.Reachable ? $"  {region.Region} runs version {region.Version}{NameOf(region)}" : $"  {region.Region}: cannot be reached ({region.Error})");
            errors.Add(now.Any(r => r.Version >= version)
                ? $"Another apply won. Nothing else was touched. To replace what it applied, raise 'version' above {now.Max(r => r.Version)} in {input.SourceName} and apply again."
                : "Nothing else was touched.");
            return Done(2, [first, .. others, .. alreadyRunning, .. unreachableReports]);
        }

        if (added.Count > 0)
        {
            progress($"starting the silos of {string.Join(", ", added)} on version {version}");
            await local!.StartAddedSilosAsync(added, version, text, cancellationToken);
        }
        var rest = pending.Skip(1).ToList();
        if (rest.Count + added.Count > 0)
            progress($"applying version {version} to {string.Join(", ", rest.Select(r => r.Region).Concat(added))}");
        var restReports = await Task.WhenAll(rest.Select(r => ApplyOrAdoptedAsync(connections, r.Region, text, topology, r.Version, cancellationToken)));
        var addedReports = await ApplyToAddedAsync(connections, added, text, topology, cancellationToken);
        local?.RecordApplied(topology, text);

        List<RegionApplyReport> all = [first, .. restReports, .. addedReports, .. alreadyRunning, .. unreachableReports];
        var lost = all.Where(r => r.Outcome == RolloutOutcomes.Unreachable).Select(r => r.Region).ToList();
        var failed = all.Where(r => r.Outcome == RolloutOutcomes.Refused).ToList();
        foreach (var region in failed) errors.Add($"{region.Region} refused version {version}: {region.Error}");
        foreach (var region in restReports.Concat(addedReports).Where(r => r.Outcome == RolloutOutcomes.Unreachable))
            errors.Add($"{region.Region} could not be reached during the apply: {region.Error}");
        NoteUnreachable(lost, notes, version);
        var exitCode = failed.Count > 0 ? 1 : lost.Count > 0 && !allowUnreachable ? 3 : 0;
        return Done(exitCode, all);
    }

    /// <summary>The text the regions are sent and what it says: over a local mesh, with the local regions' Kafka filled in.</summary>
    private (string Text, Topology Topology) Effective(Input input)
    {
        if (local is null) return (input.Text, input.Topology);
        var filled = local.WithLocalKafka(input.Topology.Document);
        if (Equals(filled, input.Topology.Document)) return (input.Text, input.Topology);
        var yaml = LocalTopologyFile.ToYaml(filled, input.SourceName,
            [$"Applied by 'mesh topology apply' from {input.SourceName}, with the embedded Kafka of the local regions filled in."]);
        return (yaml, Topology.Load(yaml, input.SourceName).Topology!);
    }

    /// <summary>The region runs exactly this document (an apply that reached it already, or a repeat).</summary>
    private static bool Runs(RegionTopology region, Topology topology) =>
        region.Applied is { } applied && applied.Version == topology.Version
        && Topology.Load(applied.Document, region.Region).Document is { } document && Equals(document, topology.Document);

    private async Task<RegionApplyReport> ApplyOrAdoptedAsync(MeshConnections connections, string region, string text, Topology topology, long expected,
        CancellationToken cancellationToken)
    {
        var connection = connections.Open[region];
        var report = await ApplyOneAsync(connection, text, topology, expected, dryRun: false, coordinator: false, cancellationToken);
        // It ran an older version when we read it, and now runs ours: it adopted it from a peer in between.
        if (report.Outcome == RolloutOutcomes.Unchanged)
            return report with { Outcome = RolloutOutcomes.Applied, VersionBefore = expected, AdoptedFrom = "a peer" };
        if (report.Outcome != RolloutOutcomes.Refused) return report;
        // Regions pass a newer version on to each other: this one may have taken ours from a peer
        // (the coordinator) between our read and our call, which its compare-and-set reports as
        // another version. It runs what we applied, so it is applied, by way of that peer; what the
        // adoption restarted is in the region's log, not in this answer.
        return await RunsNowAsync(connection, topology, cancellationToken) is { } now
            ? report with { Outcome = RolloutOutcomes.Applied, VersionAfter = now.Version, Error = null, AdoptedFrom = now.AdoptedFrom ?? "a peer" }
            : report;
    }

    /// <summary>What the region runs now, if that is exactly <paramref name="topology"/>; null otherwise or when it does not answer.</summary>
    private static async Task<AppliedTopology?> RunsNowAsync(RegionConnection connection, Topology topology, CancellationToken cancellationToken)
    {
        try
        {
            var now = await connection.GetTopologyAsync(MeshConnections.ReadTimeout, cancellationToken);
            return Runs(new RegionTopology(connection.Region, now, null), topology) ? now : null;
        }
        catch (Exception e) when (MeshConnections.IsUnreachable(e, cancellationToken))
        {
            return null;
        }
    }

    /// <summary>Regions the local mesh just started on the new document: connect, read, and confirm they run it.</summary>
    private async Task<IReadOnlyList<RegionApplyReport>> ApplyToAddedAsync(MeshConnections connections, IReadOnlyList<string> added, string text,
        Topology topology, CancellationToken cancellationToken)
    {
        if (added.Count == 0) return [];
        await connections.AddAsync(added, cancellationToken);
        return await Task.WhenAll(added.Select(async region =>
        {
            if (!connections.Open.TryGetValue(region, out var connection))
                return RegionApplyReport.Untouched(region, RolloutOutcomes.Unreachable, null, connections.Unreachable.GetValueOrDefault(region));
            try
            {
                var now = await connection.GetTopologyAsync(MeshConnections.ReadTimeout, cancellationToken);
                var report = await ApplyOneAsync(connection, text, topology, now.Version, dryRun: false, coordinator: false, cancellationToken);
                // It started on this document: show it as the region it is, new at this version.
                return report.Outcome == RolloutOutcomes.Unchanged ? report with { Outcome = RolloutOutcomes.Applied, VersionBefore = 0 } : report;
            }
            catch (Exception e) when (MeshConnections.IsUnreachable(e, cancellationToken))
            {
                return RegionApplyReport.Untouched(region, RolloutOutcomes.Unreachable, null, e.Message);
            }
        }));
    }

    private static async Task<RegionApplyReport> ApplyOneAsync(RegionConnection connection, string text, Topology topology, long expected, bool dryRun,
        bool coordinator, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var result = await connection.ApplyTopologyAsync(new ApplyRequest(text, expected, dryRun), ApplyTimeout, cancellationToken);
            return RegionApplyReport.From(result, clock.Elapsed, coordinator);
        }
        catch (Exception e) when (MeshConnections.IsUnreachable(e, cancellationToken))
        {
            var failed = new RegionApplyReport(connection.Region, RolloutOutcomes.Unreachable, expected, dryRun ? expected : null, [], [], [], 0, e.Message,
                clock.Elapsed, coordinator);
            return dryRun ? failed : AfterFailedCall(failed, topology, await ReadAgainAsync(connection, cancellationToken));
        }
    }

    /// <summary>What the region runs, read once more after a failed call; null when it does not answer this time either.</summary>
    private static async Task<AppliedTopology?> ReadAgainAsync(RegionConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            return await connection.GetTopologyAsync(MeshConnections.ReadTimeout, cancellationToken);
        }
        catch (Exception e) when (MeshConnections.IsUnreachable(e, cancellationToken))
        {
            return null;
        }
    }

    /// <summary>
    /// A region whose apply call failed (<paramref name="failed"/>, versions: what it ran, unknown after), told by what it
    /// runs when read again: it took <paramref name="topology"/> (the call failed on the way back), or it still runs
    /// another version, or it cannot be read (the version it runs is not known).
    /// </summary>
    public static RegionApplyReport AfterFailedCall(RegionApplyReport failed, Topology topology, AppliedTopology? readAgain)
    {
        if (readAgain is null) return failed with { VersionAfter = null };
        return Runs(new RegionTopology(failed.Region, readAgain, null), topology)
            ? failed with { Outcome = RolloutOutcomes.Applied, VersionAfter = readAgain.Version, Error = $"the call failed ({failed.Error}), but read again it runs version {readAgain.Version}" }
            : failed with { VersionAfter = readAgain.Version, Error = $"{failed.Error}; read again, it still runs version {readAgain.Version}" };
    }

    /// <summary>What the new version changes for each group of regions that run the same document.</summary>
    private static string Diffs(IReadOnlyList<RegionTopology> reachable, IReadOnlySet<string> runsIt, Topology topology, IReadOnlyList<string> added,
        IReadOnlyList<string> leaving)
    {
        var text = new StringBuilder();
        if (runsIt.Count > 0)
            text.Append($"{string.Join(", ", runsIt.Order(StringComparer.Ordinal))} already {(runsIt.Count == 1 ? "runs" : "run")} version {topology.Version} of this document.\n\n");
        foreach (var group in reachable.Where(r => !runsIt.Contains(r.Region)).GroupBy(r => (r.Version, r.Applied!.Document)).OrderBy(g => g.Key.Version))
        {
            var regions = string.Join(", ", group.Select(r => r.Region));
            var runs = group.Count() == 1 ? "runs" : "run";
            if (group.Key.Version == 0)
            {
                text.Append($"{regions} {runs} no topology yet: version {topology.Version} gives {(group.Count() == 1 ? "it" : "them")} every link it names.\n\n");
                continue;
            }
            var load = Topology.Load(group.Key.Document, regions);
            if (load.Topology is not { } before)
            {
                text.Append($"{regions} {runs} version {group.Key.Version}, which no longer reads as a valid topology here; it is replaced whole.\n\n");
                continue;
            }
            text.Append($"{regions} {runs} version {group.Key.Version} ('{before.Name}'); applying {topology.Version} ('{topology.Name}') changes:\n");
            foreach (var line in TopologyReport.Diff(TopologyDiff.Compare(before, topology)).TrimEnd('\n').Split('\n'))
                text.Append("  ").Append(line).Append('\n');
            text.Append('\n');
        }
        foreach (var region in added)
            text.Append($"{region} is not running yet: it is started (embedded Kafka with the mesh's topics, then silos) on version {topology.Version}.\n");
        foreach (var region in leaving)
            text.Append($"{region} is not in version {topology.Version}: it keeps running, takes the new version and runs no links.\n");
        return text.ToString();
    }

    private static void NoteUnreachable(IEnumerable<string> regions, List<string> notes, long version)
    {
        foreach (var region in regions)
            notes.Add($"{region} was not reached: it adopts version {version} from its peers when it returns.");
    }

    private static string NameOf(RegionTopology region) =>
        region.Applied is { Version: > 0, Name: var name } ? $" ('{name}')" : region.Version == 0 ? " (no topology)" : "";

    private static string Plural(int count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";
}
