using System.Globalization;
using Mesh.Client.Local;
using Mesh.Core.Topology;

namespace Mesh.Client.Audit;

/// <summary>The comparison of one subject (a topic, or under prefix naming a topic of one origin), partition by partition.</summary>
/// <param name="Values">Values at the offsets that the divergence examples name, per region (to show them).</param>
public sealed record TopicAudit(AuditSubject Subject, IReadOnlyList<PartitionAudit> Partitions,
    IReadOnlyDictionary<(string Region, int Partition, long Offset), byte[]?> Values)
{
    public bool Agree => Partitions.All(p => p.Agree);
}

/// <param name="Incarnations">Each audited region's current incarnation.</param>
public sealed record AuditReport(IReadOnlyDictionary<string, string> Incarnations, NamingPolicy Naming, IReadOnlyList<TopicAudit> Topics)
{
    public bool Agree => Topics.All(t => t.Agree);
}

/// <summary>
/// Runs an audit: reaches every region, decides what to compare, then per subject reads every
/// region's copy at once (one consumer per region, each on its own thread), compares partition by
/// partition and lets go of what was read before the next subject.
/// </summary>
public static class Auditor
{
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(1);

    /// <exception cref="MeshCommandException">A region cannot be reached (exit code 3); a named topic is unknown (2).</exception>
    public static async Task<AuditReport> RunAsync(IReadOnlyList<AuditRegion> regions, Topology? topology, IReadOnlyList<string> topics,
        Action<string> progress, CancellationToken cancellationToken)
    {
        var readers = await ConnectAsync(regions);
        try
        {
            var subjects = AuditPlan.Build(readers.ToDictionary(r => r.Key, r => r.Value.Topics, StringComparer.Ordinal), topology, topics);
            var naming = topology?.Naming ?? NamingPolicy.Identity;
            var audits = new List<TopicAudit>();
            foreach (var subject in subjects)
                audits.Add(await AuditAsync(subject, readers, naming, topology?.Separator ?? TopicNaming.DefaultSeparator, progress, cancellationToken));
            return new AuditReport(readers.ToDictionary(r => r.Key, r => r.Value.Incarnation, StringComparer.Ordinal), naming, audits);
        }
        finally
        {
            foreach (var reader in readers.Values) reader.Dispose();
        }
    }

    private static async Task<Dictionary<string, RegionReader>> ConnectAsync(IReadOnlyList<AuditRegion> regions)
    {
        var attempts = regions.Select(r => Task.Run(() => RegionReader.Connect(r))).ToList();
        try
        {
            await Task.WhenAll(attempts);
        }
        catch (RegionUnreachableException)
        {
            foreach (var connected in attempts.Where(a => a.IsCompletedSuccessfully)) connected.Result.Dispose();
            var failures = attempts.Where(a => a.IsFaulted).Select(a => a.Exception!.InnerException!.Message);
            throw new MeshCommandException($"Cannot audit: {string.Join("; ", failures)}.", 3);
        }
        return attempts.ToDictionary(a => a.Result.Region, a => a.Result, StringComparer.Ordinal);
    }

    private static async Task<TopicAudit> AuditAsync(AuditSubject subject, IReadOnlyDictionary<string, RegionReader> readers, NamingPolicy naming, string separator,
        Action<string> progress, CancellationToken cancellationToken)
    {
        var present = subject.Members.Where(m => m.Partitions > 0).ToList();
        // One region that cannot be read ends the others' reading too: the audit is over either way.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reads = present.ToDictionary(m => m.Region, m => Task.Factory.StartNew(() =>
        {
            try
            {
                return readers[m.Region].Read(m.Topic, subject.Policy, naming, reading.Token, separator);
            }
            catch (RegionUnreachableException)
            {
                reading.Cancel();
                throw;
            }
        }, reading.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        using (var ticker = new CancellationTokenSource())
        {
            var reporting = ReportProgressAsync(subject, present.Select(m => readers[m.Region]).ToList(), progress, ticker.Token);
            try
            {
                await Task.WhenAll(reads.Values);
            }
            catch (Exception) when (reads.Values.Select(r => r.Exception?.InnerException).OfType<RegionUnreachableException>().FirstOrDefault() is { } e)
            {
                throw new MeshCommandException($"Cannot audit {subject.Label}: {e.Message}.", 3);
            }
            finally
            {
                await ticker.CancelAsync();
                await reporting;
            }
        }
        var tallies = reads.ToDictionary(r => r.Key, r => r.Value.Result);

        var partitions = new List<PartitionAudit>();
        for (var p = 0; p < subject.Partitions; p++)
        {
            var copies = subject.Members
                .Select(m => new PartitionCopy(m.Region, m.Topic, p < m.Partitions ? tallies[m.Region][p] : null))
                .ToList();
            partitions.Add(AuditComparer.Compare(p, subject.Policy, copies, subject.Expects));
        }
        return new TopicAudit(subject, partitions, ReadExampleValues(subject, partitions, readers));
    }

    /// <summary>The values of the records that divergence examples name, read back at their offsets (a few per partition).</summary>
    private static Dictionary<(string, int, long), byte[]?> ReadExampleValues(AuditSubject subject, IReadOnlyList<PartitionAudit> partitions,
        IReadOnlyDictionary<string, RegionReader> readers)
    {
        var values = new Dictionary<(string, int, long), byte[]?>();
        var wanted = partitions
            .SelectMany(p => p.Problems.SelectMany(problem => problem.Keys).SelectMany(k => k.Finals)
                .Where(f => f.Value is { Tombstone: false })
                .Select(f => (Region: f.Key, Partition: p.Partition, f.Value!.Value.Offset)))
            .GroupBy(w => w.Region);
        foreach (var region in wanted)
        {
            var topic = subject.Members.Single(m => m.Region == region.Key).Topic;
            foreach (var ((partition, offset), value) in readers[region.Key].ReadValues(topic, region.Select(w => (w.Partition, w.Offset))))
                values[(region.Key, partition, offset)] = value;
        }
        return values;
    }

    private static async Task ReportProgressAsync(AuditSubject subject, IReadOnlyList<RegionReader> readers, Action<string> progress, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(ProgressEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
                progress($"auditing {subject.Label}: read " +
                         string.Join(", ", readers.Select(r => $"{r.Region} {r.RecordsRead.ToString("N0", CultureInfo.InvariantCulture)}")) + " records so far");
        }
        catch (OperationCanceledException)
        {
            // reading finished
        }
    }
}
