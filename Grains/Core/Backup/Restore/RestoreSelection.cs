using System.Globalization;

namespace Mesh.Core.Backup.Restore;

/// <summary>
/// Which records make up "the topic as it was at TIME": every record with a timestamp at or before TIME,
/// and, when the topic's configuration then deleted by age (cleanup.policy includes <c>delete</c> with a
/// finite <c>retention.ms</c>), only those younger than the retention at TIME, which is what the topic held.
/// </summary>
public static class RestoreSelection
{
    /// <summary>
    /// The configuration in force at <paramref name="atMs"/>: the latest snapshot taken at or before it, else
    /// the earliest (the backup began after TIME's configuration was last changed). Null when there is none.
    /// </summary>
    public static TopicConfigSnapshot? ConfigAt(IReadOnlyList<TopicConfigSnapshot> configs, long atMs)
    {
        TopicConfigSnapshot? latest = null;
        TopicConfigSnapshot? earliest = null;
        foreach (var config in configs)
        {
            if (earliest is null || config.TakenAtMs < earliest.TakenAtMs) earliest = config;
            if (config.TakenAtMs <= atMs && (latest is null || config.TakenAtMs >= latest.TakenAtMs)) latest = config;
        }
        return latest ?? earliest;
    }

    /// <summary>
    /// The retention that deletes by age under <paramref name="config"/>; null when nothing is deleted by age:
    /// no snapshot, a compact-only policy, or <c>retention.ms</c> absent (the broker's default is not known
    /// here, so nothing the backup holds is dropped on a guess), -1 or not a positive number.
    /// </summary>
    public static long? RetentionMs(TopicConfigSnapshot? config)
    {
        if (config is null) return null;
        var policy = config.Configs.TryGetValue("cleanup.policy", out var p) ? p : "delete";
        var deletes = policy.Split(',', StringSplitOptions.TrimEntries).Contains("delete", StringComparer.OrdinalIgnoreCase);
        if (!deletes) return null;
        if (!config.Configs.TryGetValue("retention.ms", out var text)) return null;
        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ms) && ms > 0 ? ms : null;
    }

    /// <summary>The window of timestamps a restore at <paramref name="atMs"/> takes.</summary>
    public static RestoreWindow WindowAt(IReadOnlyList<TopicConfigSnapshot> configs, long atMs)
    {
        var retention = RetentionMs(ConfigAt(configs, atMs));
        return new RestoreWindow(retention is { } r ? atMs - r : null, atMs);
    }
}

/// <summary>Timestamps in (<paramref name="AfterMs"/>, <paramref name="UntilMs"/>]; no lower bound when <paramref name="AfterMs"/> is null.</summary>
public readonly record struct RestoreWindow(long? AfterMs, long UntilMs)
{
    public bool Contains(long timestampMs) => timestampMs <= UntilMs && (AfterMs is not { } after || timestampMs > after);

    /// <summary>Whether a segment spanning these timestamps may hold a record in the window (so the restore reads it).</summary>
    public bool Overlaps(long minTimestampMs, long maxTimestampMs) => minTimestampMs <= UntilMs && (AfterMs is not { } after || maxTimestampMs > after);

    /// <summary>The records of one stream (origin order) in the window, in origin order.</summary>
    public IEnumerable<BackupRecord> Select(IEnumerable<BackupRecord> records)
    {
        foreach (var record in records)
            if (Contains(record.TimestampMs)) yield return record;
    }
}
