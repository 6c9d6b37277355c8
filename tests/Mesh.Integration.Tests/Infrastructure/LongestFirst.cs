using Xunit.Abstractions;

namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>
/// Starts the longest test classes first, so that two at a time the run does not end on one long test
/// alone (longest-processing-time-first). Durations are rough seconds on two busy cores; a class not
/// listed counts as a short one. Only the order changes: every test still runs.
/// </summary>
public sealed class LongestFirst : ITestCollectionOrderer
{
    private const string ClassPrefix = "Test collection for ";
    private const double Unlisted = 10;

    private static readonly Dictionary<string, double> Seconds = new(StringComparer.Ordinal)
    {
        [nameof(OffsetTranslationTests)] = 120,
        [nameof(RouteChangeTests)] = 80,
        [nameof(TopologyApplyTests)] = 75,
        [nameof(RegionLossTests)] = 55,
        [nameof(DrillTests)] = 55,
        [nameof(LwwConvergenceTests)] = 50,
        [nameof(AuditTests)] = 30,
        [nameof(GapTests)] = 30,
        [nameof(TopicConfigTests)] = 30,
        [nameof(KafkaCrashTests)] = 25,
        [nameof(QuarantineTests)] = 20,
        [nameof(TopologyPatternTests)] = 20,
        [nameof(TopicRulesTests)] = 18,
    };

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderByDescending(Expected).ThenBy(c => c.DisplayName, StringComparer.Ordinal);

    private static double Expected(ITestCollection collection)
    {
        var name = collection.DisplayName.StartsWith(ClassPrefix, StringComparison.Ordinal) ? collection.DisplayName[ClassPrefix.Length..] : collection.DisplayName;
        return Seconds.GetValueOrDefault(name[(name.LastIndexOf('.') + 1)..], Unlisted);
    }
}
