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

    // Seconds per class in a serial run on two busy cores (2026-12-03), rounded.
    private static readonly Dictionary<string, double> Seconds = new(StringComparer.Ordinal)
    {
        [nameof(OffsetTranslationTests)] = 125,
        [nameof(BenchCommandTests)] = 60,
        [nameof(ReplicationBenchCommandTests)] = 60,
        [nameof(RestoreCommandTests)] = 25,
        [nameof(RestoreIntoMeshTests)] = 15,
        [nameof(BackupRestoreTests)] = 55,
        [nameof(BackupArchiveTests)] = 50,
        [nameof(TopologyApplyTests)] = 120,
        [nameof(RouteChangeTests)] = 100,
        [nameof(DrillTests)] = 90,
        [nameof(LwwConvergenceTests)] = 75,
        [nameof(RegionLossTests)] = 65,
        [nameof(AuditTests)] = 50,
        [nameof(UiBrowserTests)] = 50,
        [nameof(GapTests)] = 45,
        [nameof(TopicConfigTests)] = 45,
        [nameof(TopologyPatternTests)] = 35,
        [nameof(KafkaCrashTests)] = 30,
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
