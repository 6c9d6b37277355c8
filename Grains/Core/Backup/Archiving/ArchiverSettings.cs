namespace Mesh.Core.Backup.Archiving;

/// <summary>How one partition's archiver closes segments and when it takes another origin's stream over.</summary>
/// <param name="SegmentBytes">A segment closes once its records hold this many raw bytes.</param>
/// <param name="SegmentAge">A segment closes at this age (since its first record was read) even if small.</param>
/// <param name="TakeOver">How long another origin's records may stay uncovered by its chain before this region backs them up.</param>
public sealed record ArchiverSettings(long SegmentBytes, TimeSpan SegmentAge, TimeSpan TakeOver)
{
    public static ArchiverSettings Default { get; } = new(4 * 1024 * 1024, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));

    /// <summary>Records read close together in time share one watch entry; the take-over clock is this coarse.</summary>
    internal static readonly TimeSpan RunSpan = TimeSpan.FromSeconds(1);
}
