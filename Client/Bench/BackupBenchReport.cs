namespace Mesh.Client.Bench;

/// <summary>The bench's parameters as run.</summary>
public sealed record BenchParameters(int Records, int Partitions, int RecordBytes, IReadOnlyList<string> Regions, bool Restore, int SegmentSeconds, int Pairs);

/// <summary>
/// Replication of <see cref="Records"/> records that waited in the source region while the destination's silos were down:
/// <see cref="Seconds"/> from starting those silos until the destination held them all (silo start included).
/// <see cref="FirstRecordSeconds"/> is when the first arrived (after the silos' start and the replicators' fencing wait:
/// killed silos did not release their partitions); <see cref="StreamingRecordsPerSecond"/> the rate from the last look that found
/// none (looks are 250 ms apart) to the last.
/// </summary>
public sealed record ReplicationFigures(
    long Records,
    double Seconds,
    double RecordsPerSecond,
    double SiloStartSeconds,
    double FirstRecordSeconds,
    double StreamingRecordsPerSecond,
    double ProduceSeconds);

/// <summary>A plain consumer reading the source topic from the beginning to the end.</summary>
public sealed record BareReadFigures(long Records, long Bytes, double Seconds, double RecordsPerSecond, double MegabytesPerSecond);

/// <summary>
/// The backup of a topic that already held <see cref="Records"/> records: <see cref="Seconds"/> from the topology with the
/// backup section being applied everywhere until the store's catalog held them all. <see cref="BytesRecords"/> are the records' own
/// bytes (as the bare read counts them, the base of MB/s); <see cref="BytesRaw"/> and <see cref="BytesStored"/> the segments' sizes
/// before and after compression (the records with the segment's framing: offsets, timestamps, lengths).
/// </summary>
public sealed record BackupFigures(
    long Records,
    int Segments,
    long BytesRecords,
    long BytesRaw,
    long BytesStored,
    double ApplySeconds,
    double Seconds,
    double RecordsPerSecond,
    double MegabytesPerSecond,
    double CompressionRatio,
    double RatioToBareRead);

/// <summary>
/// Replication measured without a backup and then, on another topic, while the backup runs. The backup's lag is from the
/// last record acknowledged to the catalog holding it; <see cref="StandbyCaughtUpSeconds"/> from the destination holding
/// every record until its standby archivers had read them all (their reading gives way to replication while it catches
/// up, so their work comes after it; null if they had not within the bench's deadline).
/// </summary>
public sealed record ReplicationPair(
    ReplicationFigures Without,
    ReplicationFigures With,
    double Slowdown,
    double StreamingSlowdown,
    long BackedUp,
    double? BackupLagSeconds,
    double? StandbyCaughtUpSeconds);

/// <summary>
/// Replication while the backup runs: pair 1's figures (measure 1 against the first run with the backup), and the
/// slowdowns as the median over every pair (with <c>--pairs</c> above 1 the backup is switched off and on between them).
/// <see cref="Slowdown"/> compares <see cref="ReplicationFigures.RecordsPerSecond"/> (the target's figure), <see cref="StreamingSlowdown"/> the streaming rates.
/// </summary>
public sealed record LiveFigures(ReplicationFigures Replication, double Slowdown, double StreamingSlowdown, long BackedUp, double? BackupLagSeconds,
    double? StandbyCaughtUpSeconds, IReadOnlyList<ReplicationPair> Pairs)
{
    public static LiveFigures Of(IReadOnlyList<ReplicationPair> pairs)
    {
        var first = pairs[0];
        return new LiveFigures(first.With, Median(pairs.Select(p => p.Slowdown)), Median(pairs.Select(p => p.StreamingSlowdown)), first.BackedUp,
            first.BackupLagSeconds, first.StandbyCaughtUpSeconds, pairs);
    }

    /// <summary>The middle value; of an even count, the mean of the two middle ones.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) throw new ArgumentException("no values", nameof(values));
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : Math.Round((sorted[middle - 1] + sorted[middle]) / 2, 4);
    }
}

/// <summary><c>mesh restore</c> of the backed-up topic into one region under a new name.</summary>
public sealed record RestoreFigures(string Region, string Target, long Records, int Segments, double Seconds, double RecordsPerSecond);

/// <summary>A goal of issue 13 and whether this run met it.</summary>
public sealed record BenchTarget(string Name, string Figure, string Comparison, double Threshold, double Value, bool Met);

public sealed record BackupBenchReport(
    BenchParameters Parameters,
    ReplicationFigures Replication,
    BareReadFigures BareRead,
    BackupFigures Backup,
    LiveFigures ReplicationWithBackup,
    RestoreFigures? Restore,
    IReadOnlyList<BenchTarget> Targets,
    double DurationSeconds)
{
    public const double MinBackupToBareRead = 0.8;
    public const double MaxReplicationSlowdown = 0.10;

    public static IReadOnlyList<BenchTarget> TargetsOf(BackupFigures backup, LiveFigures live) =>
    [
        new("backup at 0.8x the bare read or faster", "backup.ratioToBareRead", ">=", MinBackupToBareRead, backup.RatioToBareRead,
            backup.RatioToBareRead >= MinBackupToBareRead),
        new("replication slowed by 10% or less while the backup runs (median of the pairs)", "replicationWithBackup.slowdown", "<=", MaxReplicationSlowdown, live.Slowdown,
            live.Slowdown <= MaxReplicationSlowdown),
    ];
}
