using Xunit.Abstractions;

namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>
/// Starts the longest test classes first, so that two at a time the run does not end on one long test
/// alone (longest-processing-time-first). A class not listed counts as a short one. Only the order
/// changes: every test still runs.
/// </summary>
public sealed class LongestFirst : ITestCollectionOrderer
{
    private const string ClassPrefix = "Test collection for ";
    private const double Unlisted = 10;

    // Seconds per class on two cores (2026-12-04, from runs two and three classes at a time), rounded.
    private static readonly Dictionary<string, double> Seconds = new(StringComparer.Ordinal)
    {
        // SiloCrash, PostgresClustering, MultiSilo, Fencing and ExactlyOnce, one after another.
        [Alone.Name] = 190,
        [nameof(OffsetTranslationTests)] = 95,
        [nameof(BenchCommandTests)] = 31,
        [nameof(ReplicationBenchCommandTests)] = 60,
        [nameof(IdlePartitionsTests)] = 30,
        [nameof(MetricsTests)] = 20,
        [nameof(RestoreCommandTests)] = 25,
        [nameof(RestoreIntoMeshTests)] = 32,
        [nameof(BackupRestoreTests)] = 26,
        [nameof(BackupArchiveTests)] = 45,
        [nameof(TopologyApplyTests)] = 143,
        [nameof(RouteChangeTests)] = 115,
        [nameof(DrillTests)] = 90,
        [nameof(LwwConvergenceTests)] = 63,
        [nameof(RegionLossTests)] = 63,
        [nameof(AuditTests)] = 37,
        [nameof(UiBrowserTests)] = 29,
        [nameof(GapTests)] = 42,
        [nameof(TopicConfigTests)] = 40,
        [nameof(TopologyPatternTests)] = 28,
        [nameof(KafkaCrashTests)] = 26,
        [nameof(QuarantineTests)] = 30,
        [nameof(PushLinkTests)] = 25,
        [nameof(UiTokenTests)] = 20,
        [nameof(StatusTruthTests)] = 30,
        [nameof(DeployedMeshAdminTests)] = 35,
        [nameof(ProvenanceTrustTests)] = 25,
        [nameof(TopicRulesTests)] = 20,
        [nameof(PrefixNamingTests)] = 20,
        [nameof(InternalTopicsAndCompressionTests)] = 15,
        [nameof(ThreeRegionFullMeshTests)] = 15,
        [nameof(AzureBlobStoreTests)] = 15,
    };

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderByDescending(Expected).ThenBy(c => c.DisplayName, StringComparer.Ordinal);

    private static double Expected(ITestCollection collection)
    {
        var name = collection.DisplayName.StartsWith(ClassPrefix, StringComparison.Ordinal) ? collection.DisplayName[ClassPrefix.Length..] : collection.DisplayName;
        return Seconds.GetValueOrDefault(name[(name.LastIndexOf('.') + 1)..], Unlisted);
    }
}
