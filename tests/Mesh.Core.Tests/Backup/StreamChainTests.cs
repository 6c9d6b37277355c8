using System.Text;
using Mesh.Core.Backup;

namespace Mesh.Core.Tests.Backup;

public class StreamChainTests
{
    private static readonly BackupStream Stream = new("payments", 0, "us-east", "00c0ffee");
    private static readonly CancellationToken None = CancellationToken.None;

    internal static BackupRecord Numbered(long offset) =>
        new(offset, 1_700_000_000_000 + offset, false, Encoding.UTF8.GetBytes($"k{offset}"), Encoding.UTF8.GetBytes($"value of {offset}"), []);

    internal static List<BackupRecord> Range(long from, long to) => [.. Enumerable.Range(0, (int)(to - from + 1)).Select(i => Numbered(from + i))];

    [Fact]
    public async Task Sequential_appends_form_one_chain_that_a_new_reader_sees()
    {
        var store = new InMemoryBackupStore();
        var chain = await StreamChain.LoadAsync(store, Stream, None);
        Assert.Null(chain.Tip);
        Assert.Equal(0, chain.NextOffset);

        var first = await chain.AppendAsync(Range(0, 9), null, "us-east", null, TimeProvider.System, None);
        var second = await chain.AppendAsync(Range(10, 14), null, "us-east", null, TimeProvider.System, None);

        Assert.True(first.Appended);
        Assert.True(second.Appended);
        Assert.Equal(1, chain.Tip!.Sequence);
        Assert.Equal(15, chain.NextOffset);
        var entry = second.Entry!;
        Assert.Equal((10L, 14L, 5), (entry.FirstOffset, entry.LastOffset, entry.Records));
        Assert.Equal((1_700_000_000_010L, 1_700_000_000_014L), (entry.MinTimestampMs, entry.MaxTimestampMs));
        Assert.Equal("us-east", entry.Writer);
        Assert.StartsWith("segments/0000000001-0000000000000000010-0000000000000000014-", entry.Segment);
        var segment = store.Peek(BackupLayout.StreamFolder(Stream) + entry.Segment)!;
        Assert.Equal(SegmentCodec.Sha256Hex(segment), entry.Sha256);
        Assert.Equal(segment.Length, entry.StoredBytes);

        var reader = await StreamChain.LoadAsync(store, Stream, None);
        Assert.Equal(entry, reader.Tip);
        Assert.Equal(15, reader.NextOffset);
    }

    [Fact]
    public async Task Manifest_entries_are_camel_case_json()
    {
        var store = new InMemoryBackupStore();
        var chain = await StreamChain.LoadAsync(store, Stream, None);
        await chain.AppendAsync(Range(3, 4), new BackupGap(0, 2, "deleted by retention before it was read"), "us-west", null, TimeProvider.System, None);

        var json = Encoding.UTF8.GetString(store.Peek(BackupLayout.ManifestName(Stream, 0))!);

        Assert.StartsWith("{\"sequence\":0,\"segment\":\"segments/0000000000-", json);
        Assert.Contains("\"gapBefore\":{\"fromOffset\":0,\"toOffset\":2,\"reason\":\"deleted by retention before it was read\"}", json);
        Assert.Contains("\"writer\":\"us-west\"", json);
        Assert.Equal(3, chain.Tip!.GapBefore!.Count);
    }

    [Fact]
    public async Task Sparse_offsets_need_no_gap_and_a_gap_must_fit()
    {
        var store = new InMemoryBackupStore();
        var chain = await StreamChain.LoadAsync(store, Stream, None);
        await chain.AppendAsync([Numbered(0), Numbered(2), Numbered(7)], null, "us-east", null, TimeProvider.System, None);
        Assert.Equal(8, chain.NextOffset);

        var before = await Assert.ThrowsAsync<ArgumentException>(() => chain.AppendAsync(Range(7, 9), null, "us-east", null, TimeProvider.System, None));
        Assert.Contains("already holds origin offsets up to 7", before.Message);
        var badGap = await Assert.ThrowsAsync<ArgumentException>(() =>
            chain.AppendAsync(Range(20, 21), new BackupGap(5, 19, "gone"), "us-east", null, TimeProvider.System, None));
        Assert.Contains("the gap 5..19", badGap.Message);
        var overlapping = await Assert.ThrowsAsync<ArgumentException>(() =>
            chain.AppendAsync(Range(20, 21), new BackupGap(8, 20, "gone"), "us-east", null, TimeProvider.System, None));
        Assert.Contains("the gap 8..20", overlapping.Message);
        var unordered = await Assert.ThrowsAsync<ArgumentException>(() =>
            chain.AppendAsync([Numbered(9), Numbered(8)], null, "us-east", null, TimeProvider.System, None));
        Assert.Contains("strictly increasing", unordered.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => chain.AppendAsync([], null, "us-east", null, TimeProvider.System, None));

        var withGap = await chain.AppendAsync(Range(20, 21), new BackupGap(8, 19, "deleted by retention"), "us-east", null, TimeProvider.System, None);
        Assert.True(withGap.Appended);
        Assert.Equal(2, store.Names.Count(n => n.Contains("/manifest/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_writer_that_loses_the_race_deletes_its_segment_and_learns_the_new_tip()
    {
        var store = new InMemoryBackupStore();
        var a = await StreamChain.LoadAsync(store, Stream, None);
        var b = await StreamChain.LoadAsync(store, Stream, None);

        var won = await a.AppendAsync(Range(0, 9), null, "us-east", null, TimeProvider.System, None);
        var lost = await b.AppendAsync(Range(0, 4), null, "us-west", null, TimeProvider.System, None);

        Assert.True(won.Appended);
        Assert.False(lost.Appended);
        Assert.Equal(won.Entry, lost.Tip);
        Assert.Equal(10, b.NextOffset);
        Assert.Single(store.Names, n => n.EndsWith(".seg", StringComparison.Ordinal));
        var next = await b.AppendAsync(Range(10, 12), null, "us-west", null, TimeProvider.System, None);
        Assert.Equal(1, next.Entry!.Sequence);
    }

    [Fact]
    public async Task Refresh_catches_up_by_probing_and_by_listing()
    {
        var store = new InMemoryBackupStore();
        var writer = await StreamChain.LoadAsync(store, Stream, None);
        var reader = await StreamChain.LoadAsync(store, Stream, None);
        for (var i = 0; i < 3; i++) await writer.AppendAsync(Range(i * 2, i * 2 + 1), null, "us-east", null, TimeProvider.System, None);
        await reader.RefreshAsync(None);
        Assert.Equal(writer.Tip, reader.Tip);

        for (var i = 3; i < 20; i++) await writer.AppendAsync(Range(i * 2, i * 2 + 1), null, "us-east", null, TimeProvider.System, None);
        var lists = 0;
        store.BeforeOperation = (op, _) =>
        {
            if (op == "list") lists++;
            return Task.CompletedTask;
        };
        await reader.RefreshAsync(None);
        Assert.Equal(writer.Tip, reader.Tip);
        Assert.Equal(1, lists);
    }

    [Fact]
    public async Task A_create_reported_as_existing_after_a_lost_response_is_recognised_as_its_own()
    {
        var inner = new InMemoryBackupStore();
        var store = new DuplicatingStore(inner);
        var chain = await StreamChain.LoadAsync(store, Stream, None);

        var result = await chain.AppendAsync(Range(0, 4), null, "us-east", null, TimeProvider.System, None);

        Assert.True(result.Appended);
        var catalog = await BackupCatalog.LoadAsync(inner, null, None);
        Assert.Empty(catalog.Orphans);
        Assert.Empty(catalog.MissingSegments);
        Assert.Single(catalog.Topics.Single().Streams.Single().Entries);
    }

    /// <summary>
    /// Any number of writers, each holding an overlapping range of one stream, append in batches of
    /// random size under a seeded random interleaving of their store operations; some "crash" between
    /// writing a segment and its manifest entry. Afterwards the chain holds every offset exactly once,
    /// in order, and the only orphans are the crashed writers' segments.
    /// </summary>
    [Fact]
    public async Task Racing_writers_leave_every_offset_exactly_once()
    {
        var losses = 0;
        var crashes = 0;
        for (var seed = 0; seed < 150; seed++)
        {
            var (lost, crashed) = await RaceAsync(seed);
            losses += lost;
            crashes += crashed;
        }
        // The interesting paths ran: writers lost races, and some died between their two writes.
        Assert.True(losses > 100, $"only {losses} lost races over all seeds");
        Assert.True(crashes > 20, $"only {crashes} crashes over all seeds");
    }

    private static async Task<(int Lost, int Crashed)> RaceAsync(int seed)
    {
        var rng = new Random(seed);
        const long last = 59;
        var shared = new InMemoryBackupStore();
        var writers = rng.Next(2, 5);
        var scheduler = new Lockstep(seed, writers);
        var views = new List<WriterView>();
        for (var w = 0; w < writers; w++)
        {
            var from = w == 0 ? 0 : rng.Next(0, 40);
            var to = w == 0 ? last : rng.Next((int)from, (int)last + 1);
            // Writer 0 never crashes and holds everything, so the stream always ends complete.
            int? crashAt = w > 0 && rng.Next(3) == 0 ? rng.Next(1, 4) : null;
            views.Add(new WriterView(shared, scheduler, $"w{w}", from, to, crashAt, seed * 31 + w));
        }

        var driver = scheduler.Start();
        var results = await Task.WhenAll(views.Select(v => Task.Run(() => v.RunAsync())));
        await driver;

        var catalog = await BackupCatalog.LoadAsync(shared, null, None);
        var entries = catalog.Topics.Single().Streams.Single().Entries;
        var offsets = new List<long>();
        for (var i = 0; i < entries.Count; i++)
        {
            Assert.Equal(i, entries[i].Sequence);
            var decoded = await BackupCatalog.ReadSegmentAsync(shared, Stream, entries[i], null, None);
            foreach (var record in decoded.Records)
            {
                offsets.Add(record.OriginOffset);
                Assert.Equal($"value of {record.OriginOffset}", Encoding.UTF8.GetString(record.Value!));
            }
        }
        Assert.True(offsets.SequenceEqual(Enumerable.Range(0, (int)last + 1).Select(i => (long)i)),
            $"seed {seed}: the chain holds [{string.Join(",", offsets)}]");
        var expectedOrphans = views.Where(v => v.CrashedSegment is not null).Select(v => v.CrashedSegment!).Order(StringComparer.Ordinal);
        Assert.Equal(expectedOrphans, catalog.Orphans.Select(o => o.Name));
        Assert.Empty(catalog.MissingSegments);
        return (results.Sum(), views.Count(v => v.CrashedSegment is not null));
    }

    private sealed class CrashException() : Exception("simulated crash between the segment and its manifest entry");

    /// <summary>One writer's view of the shared store: every operation waits for the scheduler's turn; it may die before a manifest write.</summary>
    private sealed class WriterView(InMemoryBackupStore shared, Lockstep scheduler, string name, long from, long to, int? crashAtAppend, int seed) : IBackupStore
    {
        private readonly Random _rng = new(seed);
        private int _manifestWrites;
        private string? _lastSegment;

        public string? CrashedSegment { get; private set; }

        public string Description => shared.Description;

        /// <summary>Appends the writer's range in random batches; returns how many races it lost.</summary>
        public async Task<int> RunAsync()
        {
            var lost = 0;
            try
            {
                var chain = await StreamChain.LoadAsync(this, Stream, None);
                var idle = 0;
                while (chain.NextOffset <= to)
                {
                    if (chain.NextOffset < from)
                    {
                        if (++idle > 40) break;
                        await chain.RefreshAsync(None);
                        continue;
                    }
                    var batchEnd = Math.Min(to, chain.NextOffset + _rng.Next(0, 8));
                    var result = await chain.AppendAsync(Range(chain.NextOffset, batchEnd), null, name, null, TimeProvider.System, None);
                    if (!result.Appended) lost++;
                }
            }
            catch (CrashException)
            {
                CrashedSegment = _lastSegment;
            }
            finally
            {
                scheduler.Done();
            }
            return lost;
        }

        public async Task<bool> TryCreateAsync(string objectName, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
        {
            await scheduler.TurnAsync();
            if (objectName.Contains("/manifest/", StringComparison.Ordinal) && ++_manifestWrites == crashAtAppend) throw new CrashException();
            if (objectName.EndsWith(".seg", StringComparison.Ordinal)) _lastSegment = objectName;
            return await shared.TryCreateAsync(objectName, content, cancellationToken);
        }

        public async Task<byte[]?> ReadAsync(string objectName, CancellationToken cancellationToken)
        {
            await scheduler.TurnAsync();
            return await shared.ReadAsync(objectName, cancellationToken);
        }

        public async Task<IReadOnlyList<StoredObject>> ListAsync(string prefix, CancellationToken cancellationToken)
        {
            await scheduler.TurnAsync();
            return await shared.ListAsync(prefix, cancellationToken);
        }

        public async Task DeleteAsync(string objectName, CancellationToken cancellationToken)
        {
            await scheduler.TurnAsync();
            await shared.DeleteAsync(objectName, cancellationToken);
        }
    }

    /// <summary>
    /// Runs one writer at a time: each store operation waits until every live writer is waiting, then
    /// a seeded random choice says whose operation goes next. So a seed replays one interleaving.
    /// </summary>
    private sealed class Lockstep(int seed, int writers)
    {
        private readonly object _gate = new();
        private readonly List<TaskCompletionSource> _waiting = [];
        private readonly Random _rng = new(seed);
        private int _live = writers;

        public Task TurnAsync()
        {
            var turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _waiting.Add(turn);
                Monitor.PulseAll(_gate);
            }
            return turn.Task;
        }

        public void Done()
        {
            lock (_gate)
            {
                _live--;
                Monitor.PulseAll(_gate);
            }
        }

        public Task Start() => Task.Factory.StartNew(() =>
        {
            while (true)
            {
                TaskCompletionSource next;
                lock (_gate)
                {
                    while (_live > 0 && _waiting.Count < _live)
                        if (!Monitor.Wait(_gate, TimeSpan.FromSeconds(20)))
                            throw new TimeoutException($"seed {seed}: {_live} writers live, {_waiting.Count} waiting for a turn");
                    if (_live == 0) return;
                    var i = _rng.Next(_waiting.Count);
                    next = _waiting[i];
                    _waiting.RemoveAt(i);
                }
                next.SetResult();
            }
        }, TaskCreationOptions.LongRunning);
    }

    /// <summary>A store whose creates succeed and then report "already exists", as when a response is lost and the retry conflicts with the first attempt.</summary>
    private sealed class DuplicatingStore(InMemoryBackupStore inner) : IBackupStore
    {
        public string Description => inner.Description;

        public async Task<bool> TryCreateAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
        {
            await inner.TryCreateAsync(name, content, cancellationToken);
            return false;
        }

        public Task<byte[]?> ReadAsync(string name, CancellationToken cancellationToken) => inner.ReadAsync(name, cancellationToken);

        public Task<IReadOnlyList<StoredObject>> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);

        public Task DeleteAsync(string name, CancellationToken cancellationToken) => inner.DeleteAsync(name, cancellationToken);
    }
}
