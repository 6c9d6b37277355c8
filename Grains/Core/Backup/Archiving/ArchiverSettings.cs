namespace Mesh.Core.Backup.Archiving;

/// <summary>How one partition's archiver closes segments and when it takes another origin's stream over.</summary>
/// <param name="SegmentBytes">A segment closes once its records hold this many raw bytes.</param>
/// <param name="SegmentAge">A segment closes at this age (since its first record was read) even if small.</param>
/// <param name="TakeOver">How long another origin's records may stay uncovered by its chain before this region backs them up.</param>
public sealed record ArchiverSettings(long SegmentBytes, TimeSpan SegmentAge, TimeSpan TakeOver)
{
    public static ArchiverSettings Default { get; } = new(4 * 1024 * 1024, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));

    /// <summary>
    /// How long the own stream waits, once it finds records retention removed before they were backed up, for another
    /// region that still holds them to fill them in (by taking the stream over) before it records them as a gap:
    /// long enough for a peer to notice the stalled chain (<see cref="TakeOver"/>), read the records again and close
    /// a segment of them (<see cref="SegmentAge"/>), with a take-over's time again to spare.
    /// </summary>
    public TimeSpan FillWait => TakeOver * 2 + SegmentAge;

    /// <summary>Records read close together in time share one watch entry; the take-over clock is this coarse.</summary>
    internal static readonly TimeSpan RunSpan = TimeSpan.FromSeconds(1);
}
