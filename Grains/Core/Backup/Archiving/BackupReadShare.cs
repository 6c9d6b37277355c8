namespace Mesh.Core.Backup.Archiving;

/// <summary>
/// Replication first, per silo. While the silo's replicators have a backlog (one of them found itself more than a
/// batch behind its source within <see cref="BacklogWindow"/>), the silo's archivers together read at most <see cref="FloorPerSecond"/>
/// records a second; otherwise as many as they want, and the backup's Kafka reader fetches only in
/// <see cref="ReaderWindow"/> of each second (<see cref="HoldReader"/>). A backup's reading is deferred, never dropped:
/// the records wait in Kafka and the archivers catch up once replication has.
/// The floor keeps a backup moving when replication stays saturated; its lag then shows in
/// <c>mesh backup status</c>. Why: a standby archiver reads, decodes and verifies every record the silo has just
/// replicated, about a third of what replicating it cost, and while both run on the same cores that work came
/// straight out of replication's throughput.
/// Thread-safe: a silo's replicators and archivers call it from their own activations.
/// </summary>
public sealed class BackupReadShare
{
    public const int DefaultFloorPerSecond = 5_000;

    /// <summary>A replicator found behind this recently means replication is catching up.</summary>
    public static readonly TimeSpan BacklogWindow = TimeSpan.FromSeconds(1);

    /// <summary>How long the backup's reader fetches in each second while the archivers yield: enough to keep the floor fed.</summary>
    public static readonly TimeSpan ReaderWindow = TimeSpan.FromMilliseconds(100);

    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly double _burst;
    private bool _backlogSeen;
    private long _backlogSeenAt;
    private double _tokens;
    private long _refilledAt;
    private long _deferred;

    /// <summary>
    /// How long a silo's archivers yield after it starts, before any replicator could say whether it is behind: a
    /// replicator claims, recovers and fetches first (a second or three), and archivers setting up and reading at the
    /// same moment delayed a restarted region's first replicated record by 3-4 s.
    /// </summary>
    public static readonly TimeSpan SiloStartGrace = TimeSpan.FromSeconds(5);

    /// <param name="startGrace">Yield from the start for this long, as if replication had a backlog (<see cref="SiloStartGrace"/> in a silo).</param>
    public BackupReadShare(TimeProvider time, int floorPerSecond = DefaultFloorPerSecond, TimeSpan startGrace = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(floorPerSecond);
        ArgumentOutOfRangeException.ThrowIfLessThan(startGrace, TimeSpan.Zero);
        _time = time;
        FloorPerSecond = floorPerSecond;
        // A quarter of a second's worth at most: what was not used while replication was idle is not saved up.
        _burst = Math.Max(1, floorPerSecond / 4.0);
        _refilledAt = time.GetTimestamp();
        if (startGrace > TimeSpan.Zero)
        {
            // As if a replicator said it was behind at the end of the grace, less the window that statement lasts.
            _backlogSeen = true;
            _backlogSeenAt = _refilledAt + (long)((startGrace - BacklogWindow).TotalSeconds * time.TimestampFrequency);
        }
    }

    /// <summary>What the silo's archivers may read together each second while replication has a backlog.</summary>
    public int FloorPerSecond { get; }

    /// <summary>Turns in which an archiver read less than it asked for, since the silo started (for status and logs).</summary>
    public long Deferred
    {
        get
        {
            lock (_gate) return _deferred;
        }
    }

    /// <summary>A replicator is more than a batch behind its source's end.</summary>
    public void ReplicationBehind()
    {
        lock (_gate)
        {
            _backlogSeen = true;
            _backlogSeenAt = _time.GetTimestamp();
        }
    }

    /// <summary>Whether the archivers yield now.</summary>
    public bool Yielding
    {
        get
        {
            lock (_gate) return YieldingAt(_time.GetTimestamp());
        }
    }

    /// <summary>
    /// Whether the backup's Kafka reader should hold off fetching now: while the archivers yield, except for
    /// <see cref="ReaderWindow"/> in each second, so that what the floor lets them read is there and the rest
    /// waits in Kafka rather than in the silo's memory.
    /// </summary>
    public bool HoldReader
    {
        get
        {
            var now = _time.GetTimestamp();
            lock (_gate)
                if (!YieldingAt(now)) return false;
            var frequency = _time.TimestampFrequency;
            return now % frequency >= (long)(ReaderWindow.TotalSeconds * frequency);
        }
    }

    /// <summary>How many of <paramref name="wanted"/> records an archiver may read now (0: none this turn).</summary>
    public int Take(int wanted)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(wanted);
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            Refill(now);
            if (!YieldingAt(now)) return wanted;
            var granted = (int)Math.Min(wanted, Math.Floor(_tokens));
            _tokens -= granted;
            if (granted < wanted) _deferred++;
            return granted;
        }
    }

    /// <summary>Records granted by <see cref="Take"/> and not read (the reader had fewer): others may have them.</summary>
    public void Return(int unused)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(unused);
        lock (_gate) _tokens = Math.Min(_burst, _tokens + unused);
    }

    private bool YieldingAt(long now) => _backlogSeen && _time.GetElapsedTime(_backlogSeenAt, now) < BacklogWindow;

    private void Refill(long now)
    {
        var seconds = _time.GetElapsedTime(_refilledAt, now).TotalSeconds;
        _refilledAt = now;
        _tokens = Math.Min(_burst, _tokens + seconds * FloorPerSecond);
    }
}
