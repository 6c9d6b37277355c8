using Mesh.Client.Local;
using Mesh.Core.Backup;
using Mesh.Core.Backup.Restore;

namespace Mesh.Client.Backup;

public sealed record PruneReport(string Store, bool DryRun, PrunePlan Plan, int EntriesRemoved, int SegmentsRemoved, int OrphansRemoved);

/// <summary>
/// <c>mesh backup prune</c>: removes what <see cref="PrunePlanner"/> says no restore at or after now - D needs,
/// each segment's manifest entry first and then the segment (a crash between leaves an orphan the next prune removes).
/// </summary>
public static class BackupPrune
{
    public static async Task<PruneReport> RunAsync(string storeSpec, TimeSpan olderThan, bool dryRun, string? keyEnv, TimeProvider time, Action<string> progress,
        CancellationToken cancellationToken)
    {
        var store = BackupCommandStore.Open(storeSpec);
        var catalog = await BackupCommandStore.LoadAsync(store, null, cancellationToken);
        var key = BackupCommandStore.SegmentKey(catalog, keyEnv, "--key-env");
        var cutoff = time.GetUtcNow().ToUnixTimeMilliseconds() - (long)olderThan.TotalMilliseconds;
        PrunePlan plan;
        try
        {
            plan = await PrunePlanner.PlanAsync(catalog.Topics, catalog.Orphans, cutoff,
                async (stream, entry, ct) => (await BackupCatalog.ReadSegmentAsync(store, stream, entry, key, ct)).Records, cancellationToken);
        }
        catch (SegmentCorruptException e)
        {
            throw new MeshCommandException($"Prune reads the keys of compacted topics' segments, and {e.Name ?? "a segment"} is corrupt: {e.Message}. Nothing was removed; run 'mesh backup verify'.", 5);
        }
        catch (BackupStoreException e)
        {
            throw new MeshCommandException($"Cannot read the backup: {e.Message}. Nothing was removed.", 3);
        }
        if (dryRun) return new PruneReport(store.Description, true, plan, 0, 0, 0);

        int entries = 0, segments = 0, orphans = 0;
        try
        {
            foreach (var segment in plan.Segments)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await store.DeleteAsync(BackupLayout.ManifestName(segment.Stream, segment.Entry.Sequence), cancellationToken);
                entries++;
                await store.DeleteAsync(BackupLayout.StreamFolder(segment.Stream) + segment.Entry.Segment, cancellationToken);
                segments++;
                if (segments % 100 == 0) progress($"removed {segments} of {plan.Segments.Count} segments");
            }
            foreach (var orphan in plan.Orphans)
            {
                await store.DeleteAsync(orphan.Name, cancellationToken);
                orphans++;
            }
        }
        catch (BackupStoreException e)
        {
            throw new MeshCommandException($"Prune failed partway ({segments} of {plan.Segments.Count} segments removed): {e.Message}. " +
                "What is left is consistent (entries go before their segments); run the same command again to finish.", 1);
        }
        return new PruneReport(store.Description, false, plan, entries, segments, orphans);
    }
}
