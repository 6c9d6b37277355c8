using Mesh.Core.Offsets;
using Mesh.Core.Replication;

namespace Mesh.Core.Backup.Archiving;

/// <summary>Records of one stream ready to go into its chain as one segment.</summary>
/// <param name="Gap">Origin offsets before the first record that the region no longer held when it read the partition.</param>
/// <param name="TakenOver">Another origin's stream, written because its own region's backup stopped covering it.</param>
public sealed record PendingSegment(BackupStream Stream, IReadOnlyList<BackupRecord> Records, BackupGap? Gap, bool TakenOver)
{
    public long FirstOffset => Records[0].OriginOffset;
    public long LastOffset => Records[^1].OriginOffset;
}

/// <summary>What a partition's archiver has done so far, for status.</summary>
public sealed record ArchiverProgress(
    long Position,
    long RecordsWritten,
    long BytesWritten,
    long SegmentsWritten,
    long RacesLost,
    long TakeOvers,
    long GapRecords,
    int Buffered,
    int Watched,
    int TakenOver);

/// <summary>
/// The backup of one partition of one region, as pure rules (the partition archiver grain feeds it
/// records and carries out what it decides). Records are read in log order and each is given to its
/// origin stream: the region's own current incarnation's records are buffered and written to its own
/// chain; every other origin's records are watched, and if that origin's chain has not covered them
/// for <see cref="ArchiverSettings.TakeOver"/>, the archiver rewinds to the first of them and writes the
/// stream itself until an append loses the race to another writer (the origin back at work). A record
/// goes into a stream only above what the stream already holds or has buffered, so re-reading after a
/// rewind or a restart adds nothing twice. One thread at a time.
/// </summary>
/// <remarks>
/// Gaps are filled from another region where one still holds the records: when retention removed own records
/// before they were backed up, the own stream writes nothing for <see cref="ArchiverSettings.FillWait"/>. Its chain
/// stalls, so a region that replicated those records takes the stream over and writes them; the own gap shrinks to
/// what that region did not hold either (the taken-over segment records that part as its gap), and the own stream
/// goes on after the other writer's tip.
/// </remarks>
public sealed class PartitionArchiver
{
    private readonly ArchiverSettings _settings;
    private readonly TimeProvider _time;
    private readonly OriginId _own;
    private readonly Dictionary<OriginId, StreamState> _streams = [];
    private long _recordsWritten, _bytesWritten, _segmentsWritten, _racesLost, _takeOvers, _gapRecords;
    private bool _started;
    private bool _catchingUp;
    // This run's reading skipped records retention had removed: a stream taken over may then miss some (see HoleFrom).
    private bool _lostRecords;

    /// <summary>
    /// A reader this far behind the log's end is catching up (a backlog, not live traffic): once it reaches the
    /// end, the open segments close without waiting for their age, since their records were due long ago.
    /// </summary>
    public const long CatchUpBacklog = 10_000;

    public PartitionArchiver(string region, string incarnation, string topic, int partition, ArchiverSettings settings, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(region);
        ArgumentException.ThrowIfNullOrEmpty(incarnation);
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        if (settings.SegmentBytes <= 0 || settings.SegmentAge <= TimeSpan.Zero || settings.TakeOver <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(settings), settings, "segment bytes, segment age and take-over time must be positive");
        Region = region;
        Incarnation = incarnation;
        Topic = topic;
        Partition = partition;
        _settings = settings;
        _time = time;
        _own = new OriginId(region, incarnation);
        Positions = new OriginPositions();
    }

    public string Region { get; }
    public string Incarnation { get; }
    public ArchiverSettings Settings => _settings;
    public string Topic { get; }
    public int Partition { get; }

    /// <summary>The next local offset to read.</summary>
    public long Position { get; private set; }

    /// <summary>What the partition holds from where reading began, as origin positions for group snapshots.</summary>
    public OriginPositions Positions { get; private set; }

    /// <summary>The other origins' streams seen in the partition: their chains' tips are refreshed from the store.</summary>
    /// <remarks>The own stream is among them while it waits for a fill (<see cref="WaitingForFill"/>): another writer may extend it.</remarks>
    public IReadOnlyList<BackupStream> Watched
    {
        get
        {
            var now = _time.GetTimestamp();
            return [.. _streams.Values.Where(s => !s.Own || IsHeld(s, now)).Select(s => Stream(s.Origin))];
        }
    }

    /// <summary>Streams seen whose chain tip was never read: refresh them before anything is taken over.</summary>
    public IReadOnlyList<BackupStream> Unrefreshed =>
        [.. _streams.Values.Where(s => !s.Own && !s.TipKnown).Select(s => Stream(s.Origin))];

    public BackupStream OwnStream => Stream(_own);

    private BackupStream Stream(OriginId origin) => new(Topic, Partition, origin.Region, origin.Incarnation);

    /// <summary>
    /// Begins (or begins again) with the own chain's next offset, the partition's log start, and the
    /// checkpoint the last run left (ignored when it belongs to another incarnation of the region's Kafka).
    /// Returns the local offset to read from. If retention removed records the own stream had not backed
    /// up, the next own segment records them as a gap.
    /// </summary>
    public long Start(long ownChainNext, long logStart, ArchiverCheckpoint? checkpoint)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ownChainNext);
        ArgumentOutOfRangeException.ThrowIfNegative(logStart);
        _streams.Clear();
        var own = new StreamState(_own, own: true) { Writing = true, TipKnown = true, ChainNext = ownChainNext, Next = ownChainNext };
        _streams[_own] = own;
        var resume = checkpoint is not null && checkpoint.Incarnation == Incarnation ? checkpoint.Resume : 0;
        var start = Math.Max(logStart, resume);
        // Below the resume point every own record is in the chain; what retention took above it and above the chain's end is lost.
        var lostFrom = Math.Max(ownChainNext, resume);
        if (logStart > lostFrom)
        {
            own.NextGap = new BackupGap(lostFrom, logStart - 1, GapReason(logStart - lostFrom));
            own.Next = logStart;
            HoldForFill(own, _time.GetTimestamp());
        }
        Position = start;
        Positions = new OriginPositions(start);
        _lostRecords = logStart > resume;
        _started = true;
        return start;
    }

    private string GapReason(long count) => $"deleted by retention in {Region} before it was backed up ({count} offsets)";

    private string HoleReason(OriginId origin, long count) =>
        $"not backed up by {origin.Region} and not held by {Region} when it took the stream over ({count} offsets: removed by retention, " +
        "or never replicated here; offsets that held no record, such as transaction markers, count too)";

    private string ReasonFor(StreamState state, long count) => state.Own ? GapReason(count) : HoleReason(state.Origin, count);

    // Gives other regions the fill wait to write the lost records; a gap found while already waiting waits no longer.
    private void HoldForFill(StreamState own, long now)
    {
        if (own.GapFoundAt is { } since && _time.GetElapsedTime(since, now) < _settings.FillWait) return;
        own.GapFoundAt = now;
    }

    /// <summary>
    /// The own stream holds back a gap (records retention removed before they were backed up) so that a region that
    /// still holds them can fill them in first (<see cref="ArchiverSettings.FillWait"/>). Meanwhile its chain's tip is
    /// refreshed with the watched streams', and the reader need not read on.
    /// </summary>
    public bool WaitingForFill => IsHeld(_streams.GetValueOrDefault(_own), _time.GetTimestamp());

    private bool IsHeld(StreamState? state, long now) =>
        state is { Own: true, GapFoundAt: { } since }
        && (state.NextGap is not null || state.Buffer.Count > 0 && state.Buffer[0].GapBefore is not null)
        && _time.GetElapsedTime(since, now) < _settings.FillWait;

    /// <summary>The next record of the partition in log order, with its identity (<see cref="RecordOrigin.Of"/>).</summary>
    public void Accept(SourceRecord record, RecordIdentity identity) => Accept(record, identity, _time.GetTimestamp());

    /// <summary>As <see cref="Accept(SourceRecord, RecordIdentity)"/>, read at <paramref name="now"/> (a timestamp of the
    /// archiver's time provider): a batch of records shares one reading of the clock instead of one per record.</summary>
    public void Accept(SourceRecord record, RecordIdentity identity, long now)
    {
        EnsureStarted();
        if (record.Offset < Position)
            throw new ArgumentOutOfRangeException(nameof(record), $"offset {record.Offset} of {Topic}/{Partition} is below the read position {Position}: records come in log order");
        Position = record.Offset + 1;
        Positions.Append(record.Offset, identity.Origin, identity.OriginOffset);

        var stream = StateOf(identity.Origin);
        if (identity.OriginOffset < stream.Next) return;
        if (stream.Writing)
        {
            // The first record of a taken-over stream above its chain's end: what lies between was not here to write.
            if (stream.HoleFrom is { } holeFrom && identity.OriginOffset > holeFrom)
                stream.NextGap = new BackupGap(holeFrom, identity.OriginOffset - 1, HoleReason(stream.Origin, identity.OriginOffset - holeFrom));
            stream.HoleFrom = null;
            stream.Next = identity.OriginOffset + 1;
            var kept = ArchiveRecords.From(record, identity);
            stream.Add(new Buffered(record.Offset, kept, ArchiveRecords.RawSize(kept), now, stream.NextGap));
            stream.NextGap = null;
            return;
        }
        stream.Next = identity.OriginOffset + 1;
        if (identity.OriginOffset < stream.ChainNext) return;
        if (stream.Runs.Count > 0 && _time.GetElapsedTime(stream.Runs[^1].ReadAt, now) < ArchiverSettings.RunSpan)
            stream.Runs[^1] = stream.Runs[^1] with { LastOrigin = identity.OriginOffset };
        else
            stream.Runs.Add(new Run(record.Offset, identity.OriginOffset, identity.OriginOffset, now));
    }

    /// <summary>
    /// Local offsets [<paramref name="from"/>, <paramref name="to"/>) were removed by retention before they
    /// were read. The own stream's records among them (own records' origin offset is their local offset)
    /// become a gap; other origins' records are found in their chains or another region's.
    /// </summary>
    public void AcceptGap(long from, long to)
    {
        EnsureStarted();
        if (to <= from) return;
        Position = Math.Max(Position, to);
        // Retention removes from the log's start: nothing below the gap's end is there any more.
        Positions.Removed(to);
        _lostRecords = true;
        foreach (var state in _streams.Values)
            if (!state.Own && state.Writing) state.HoleFrom ??= state.Next;
        var own = _streams[_own];
        var lostFrom = Math.Max(from, own.Next);
        if (to <= lostFrom) return;
        // Nothing own was read between an earlier gap and this one: they are one range.
        own.NextGap = own.NextGap is { } earlier
            ? new BackupGap(earlier.FromOffset, to - 1, GapReason(to - earlier.FromOffset))
            : new BackupGap(lostFrom, to - 1, GapReason(to - lostFrom));
        own.Next = to;
        HoldForFill(own, _time.GetTimestamp());
    }

    /// <summary>
    /// The Kafka reader says it is at <paramref name="position"/>: what lies below it and was never delivered is no
    /// record (transaction markers, aborted records). Only the group positions use it, a turn late (see
    /// <see cref="OriginPositions.Reach"/>): the read position itself moves with the records, since the reader's
    /// position runs ahead of what it has handed over.
    /// </summary>
    /// <returns>
    /// True when a catch-up has just ended: the reader was at least <see cref="CatchUpBacklog"/> records behind
    /// <paramref name="logEnd"/> (the log's end as the reader last heard) and has reached it now. The caller then
    /// closes the open segments (<see cref="Due"/> with flush): a backlog is in the store once it has been read,
    /// not a segment age later.
    /// </returns>
    public bool Reach(long position, long? logEnd = null)
    {
        EnsureStarted();
        Positions.Reach(position);
        if (logEnd is not { } end) return false;
        Behind(end);
        if (!_catchingUp || Math.Max(position, Position) < end) return false;
        _catchingUp = false;
        return true;
    }

    /// <summary>The log ends before <paramref name="logEnd"/>: a reader <see cref="CatchUpBacklog"/> or more behind it is catching up.</summary>
    public void Behind(long logEnd)
    {
        EnsureStarted();
        if (logEnd - Position >= CatchUpBacklog) _catchingUp = true;
    }

    /// <summary>The chain of <paramref name="stream"/> ends before <paramref name="chainNext"/> now (read from the store).</summary>
    public void TipRefreshed(BackupStream stream, long chainNext)
    {
        EnsureStarted();
        var state = StateOf(new OriginId(stream.OriginRegion, stream.OriginIncarnation));
        state.TipKnown = true;
        Covered(state, chainNext);
    }

    private void Covered(StreamState state, long chainNext)
    {
        if (chainNext <= state.ChainNext) return;
        state.ChainNext = chainNext;
        state.Next = Math.Max(state.Next, chainNext);
        state.RemoveBelow(chainNext);
        if (state.HoleFrom is { } holeFrom) state.HoleFrom = Math.Max(holeFrom, chainNext);
        if (state.NextGap is { } gap) state.NextGap = Clip(state, gap, chainNext);
        if (state.Buffer.Count > 0 && state.Buffer[0].GapBefore is { } first)
            state.Buffer[0] = state.Buffer[0] with { GapBefore = Clip(state, first, chainNext) };
        while (state.Runs.Count > 0 && state.Runs[0].LastOrigin < chainNext) state.Runs.RemoveAt(0);
    }

    // What another writer's tip covers of a gap is no gap any more: the part it wrote was filled, the part it skipped is its gap.
    private BackupGap? Clip(StreamState state, BackupGap gap, long chainNext)
    {
        if (gap.ToOffset < chainNext) return null;
        return gap.FromOffset >= chainNext ? gap : new BackupGap(chainNext, gap.ToOffset, ReasonFor(state, gap.ToOffset - chainNext + 1));
    }

    /// <summary>
    /// Takes over every watched stream whose first uncovered record was read at least
    /// <see cref="ArchiverSettings.TakeOver"/> ago while its chain's tip was known: returns the local offset to
    /// read again from (the reader must be moved there), or null when nothing is due.
    /// </summary>
    public long? TakeOver()
    {
        EnsureStarted();
        var now = _time.GetTimestamp();
        long? rewind = null;
        foreach (var state in _streams.Values)
        {
            if (state.Writing || !state.TipKnown || state.Runs.Count == 0) continue;
            if (_time.GetElapsedTime(state.Runs[0].ReadAt, now) < _settings.TakeOver) continue;
            var from = state.Runs[0].FirstLocal;
            rewind = rewind is { } r ? Math.Min(r, from) : from;
            state.Writing = true;
            state.Runs.Clear();
            // Everything of the stream above its chain's end is read again into the buffer.
            state.Next = state.ChainNext;
            // Another origin's offsets are sparse (its partition also holds what it replicated): a first record above the
            // chain's end is a hole only if this region's log lost records.
            state.HoleFrom = _lostRecords ? state.ChainNext : null;
            _takeOvers++;
        }
        if (rewind is { } to && to < Position)
        {
            Position = to;
        }
        return rewind;
    }

    /// <summary>
    /// Segments to append now: for each stream written here, its buffered records once they reach the
    /// segment size or age (every buffered record with <paramref name="flush"/>), at most one segment per
    /// stream per call. A segment never spans a gap: a gap opens a segment. The records stay buffered
    /// until <see cref="Appended"/> says what became of them. An own stream waiting for a fill
    /// (<see cref="WaitingForFill"/>) has nothing due, unless <paramref name="final"/> (the run ends: the
    /// old incarnation's records are written now or never).
    /// </summary>
    public IReadOnlyList<PendingSegment> Due(bool flush = false, bool final = false)
    {
        EnsureStarted();
        var now = _time.GetTimestamp();
        var due = new List<PendingSegment>();
        foreach (var state in _streams.Values)
        {
            if (!state.Writing || state.Buffer.Count == 0) continue;
            if (!final && IsHeld(state, now)) continue;
            if (!flush && state.BufferedBytes < _settings.SegmentBytes && _time.GetElapsedTime(state.Buffer[0].ReadAt, now) < _settings.SegmentAge) continue;
            var records = new List<BackupRecord>();
            long size = 0;
            foreach (var buffered in state.Buffer)
            {
                if (records.Count > 0 && (buffered.GapBefore is not null || size >= _settings.SegmentBytes)) break;
                records.Add(buffered.Record);
                size += buffered.Bytes;
            }
            due.Add(new PendingSegment(Stream(state.Origin), records, state.Buffer[0].GapBefore, !state.Own));
        }
        return due;
    }

    /// <summary>
    /// What became of a segment from <see cref="Due"/>: its records leave the buffer, and so does whatever
    /// another writer's tip covers. A taken-over stream whose append lost the race goes back to being
    /// watched: its origin (or another region) writes it again, and what is left is watched from now.
    /// </summary>
    public void Appended(PendingSegment segment, AppendResult result)
    {
        EnsureStarted();
        var state = StateOf(new OriginId(segment.Stream.OriginRegion, segment.Stream.OriginIncarnation));
        var tipNext = result.Tip is { } tip ? tip.LastOffset + 1 : 0;
        if (result.Entry is { } entry)
        {
            _segmentsWritten++;
            _recordsWritten += segment.Records.Count;
            _bytesWritten += entry.RawBytes;
            _gapRecords += segment.Gap?.Count ?? 0;
            Covered(state, Math.Max(tipNext, entry.LastOffset + 1));
            return;
        }
        _racesLost++;
        Covered(state, tipNext);
        if (state.Own || !state.Writing) return;
        state.Writing = false;
        state.HoleFrom = null;
        state.NextGap = null;
        var now = _time.GetTimestamp();
        foreach (var left in state.Buffer)
        {
            if (state.Runs.Count > 0 && left.Local >= state.Runs[^1].FirstLocal)
                state.Runs[^1] = state.Runs[^1] with { LastOrigin = left.Record.OriginOffset };
            else
                state.Runs.Add(new Run(left.Local, left.Record.OriginOffset, left.Record.OriginOffset, now));
        }
        state.ClearBuffer();
    }

    /// <summary>
    /// What to persist: reading again from <see cref="ArchiverCheckpoint.Resume"/> finds every record not yet in
    /// its chain (buffered, or watched and not covered yet); below it nothing is left to do.
    /// </summary>
    public ArchiverCheckpoint Checkpoint()
    {
        EnsureStarted();
        var resume = Position;
        var uncovered = new Dictionary<OriginId, long>();
        foreach (var state in _streams.Values)
        {
            // A gap not in the chain yet: a restart must find it again (own offsets are local offsets), so it may
            // still be filled, or recorded, rather than skipped as if the chain held it.
            // The buffer's first record comes before any later gap, so its gap is the earliest; with nothing buffered, the next.
            if (state.Own && (state.Buffer.Count > 0 ? state.Buffer[0].GapBefore : state.NextGap) is { } pending)
                resume = Math.Min(resume, pending.FromOffset);
            long? first = state.Buffer.Count > 0 ? state.Buffer[0].Local : state.Runs.Count > 0 ? state.Runs[0].FirstLocal : null;
            if (first is not { } local) continue;
            resume = Math.Min(resume, local);
            if (!state.Own) uncovered[state.Origin] = local;
        }
        return new ArchiverCheckpoint(Incarnation, resume, uncovered);
    }

    public ArchiverProgress Progress => new(Position, _recordsWritten, _bytesWritten, _segmentsWritten, _racesLost, _takeOvers, _gapRecords,
        _streams.Values.Sum(s => s.Buffer.Count), _streams.Values.Count(s => !s.Own && !s.Writing), _streams.Values.Count(s => !s.Own && s.Writing));

    private StreamState StateOf(OriginId origin)
    {
        if (!_streams.TryGetValue(origin, out var state))
        {
            state = new StreamState(origin, own: false);
            _streams[origin] = state;
        }
        return state;
    }

    private void EnsureStarted()
    {
        if (!_started) throw new InvalidOperationException($"the archiver of {Topic}/{Partition} has not started: call Start first");
    }

    private readonly record struct Buffered(long Local, BackupRecord Record, long Bytes, long ReadAt, BackupGap? GapBefore);

    // Records of a watched stream read close together: the first one's local offset, the origin range, when it was read.
    private readonly record struct Run(long FirstLocal, long FirstOrigin, long LastOrigin, long ReadAt);

    private sealed class StreamState(OriginId origin, bool own)
    {
        public OriginId Origin { get; } = origin;
        public bool Own { get; } = own;
        /// <summary>Written from here: the own stream always, another origin's once taken over.</summary>
        public bool Writing { get; set; }
        public bool TipKnown { get; set; }
        /// <summary>The chain's next offset as last known.</summary>
        public long ChainNext { get; set; }
        /// <summary>Origin offsets below this are done with here (in the chain, buffered, or watched).</summary>
        public long Next { get; set; }
        public BackupGap? NextGap { get; set; }
        /// <summary>When the own stream last found records lost to retention: it holds them back for a fill from then.</summary>
        public long? GapFoundAt { get; set; }
        /// <summary>A stream just taken over: its first record read above this offset means the offsets between were not here.</summary>
        public long? HoleFrom { get; set; }
        /// <summary>Records to write, in origin order; changed only through <see cref="Add"/>, <see cref="RemoveBelow"/> and <see cref="ClearBuffer"/>.</summary>
        public List<Buffered> Buffer { get; } = [];
        /// <summary>The raw bytes of <see cref="Buffer"/>, kept as it changes (summing it per look cost a pass per batch read).</summary>
        public long BufferedBytes { get; private set; }
        public List<Run> Runs { get; } = [];

        public void Add(Buffered buffered)
        {
            Buffer.Add(buffered);
            BufferedBytes += buffered.Bytes;
        }

        public void RemoveBelow(long originOffset)
        {
            var removed = 0;
            while (removed < Buffer.Count && Buffer[removed].Record.OriginOffset < originOffset) BufferedBytes -= Buffer[removed++].Bytes;
            Buffer.RemoveRange(0, removed);
        }

        public void ClearBuffer()
        {
            Buffer.Clear();
            BufferedBytes = 0;
        }
    }
}
