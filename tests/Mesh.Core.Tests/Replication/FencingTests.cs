using Mesh.Core.Replication;

namespace Mesh.Core.Tests.Replication;

/// <summary>
/// The rules that keep two activations of one partition replicator from both writing: the claim book folded
/// from the checkpoint topic, the check before a write, the wait before a take-over reads the destination
/// back; and a simulation of activations racing under the time bounds, read back the way recovery reads.
/// </summary>
public sealed class FencingTests
{
    private const string Key = "us-east->eu-west|orders|3";
    private static readonly FencingWindows Windows = FencingWindows.For(TimeSpan.FromSeconds(15));

    [Fact]
    public void Claim_and_release_keys_never_look_like_a_replicator_key()
    {
        Assert.Equal("claim|" + Key, Fencing.ClaimKey(Key));
        Assert.Equal("release|" + Key, Fencing.ReleaseKey(Key));
        Assert.True(Fencing.IsFencingKey(Fencing.ClaimKey(Key)));
        Assert.True(Fencing.IsFencingKey(Fencing.ReleaseKey(Key)));
        Assert.False(Fencing.IsFencingKey(Key));
    }

    [Fact]
    public void The_grace_is_freshness_plus_write_timeout_plus_margin()
    {
        Assert.Equal(TimeSpan.FromSeconds(2), Windows.Freshness);
        Assert.Equal(TimeSpan.FromSeconds(19), Windows.Grace);
        Assert.True(FencingWindows.EnqueueLimit < FencingWindows.DefaultMargin);
    }

    public static TheoryData<string, long, long?, double, WriteVerdict> Checks => new()
    {
        { "own claim, fresh tail", 7, 7, 0.3, WriteVerdict.Allowed },
        { "own claim, tail exactly F old", 7, 7, 2.0, WriteVerdict.Allowed },
        { "own claim, tail older than F", 7, 7, 2.1, WriteVerdict.Stale },
        { "own claim not read yet", 7, null, 0.1, WriteVerdict.Stale },
        { "a newer claim", 7, 9, 0.1, WriteVerdict.Fenced },
        { "a newer claim, stale tail: fenced all the same", 7, 9, 60, WriteVerdict.Fenced },
        { "a lower claim read last (a replaced log numbers from 0 again)", 7, 2, 0.1, WriteVerdict.Fenced },
    };

    [Theory]
    [MemberData(nameof(Checks))]
    public void A_write_is_allowed_only_for_the_latest_claim_seen_by_a_fresh_tail(string why, long epoch, long? latest, double tailAgeSeconds, WriteVerdict expected)
    {
        var claim = latest is { } e ? new Claim(e, "silo", null, true, false) : null;
        Assert.True(expected == Fencing.MayWrite(epoch, claim, TimeSpan.FromSeconds(tailAgeSeconds), Windows), why);
    }

    [Fact]
    public void The_claim_book_remembers_what_each_claim_took_over_from()
    {
        var book = new ClaimBook();
        Assert.Null(book.Latest(Key));
        Assert.False(book.Apply(Key, 0, "3;next=0")); // a checkpoint: not the book's

        Assert.True(book.Apply(Fencing.ClaimKey(Key), 1, Fencing.EncodeClaim("silo-a 1", 1000)));
        Assert.Equal(new Claim(1, "silo-a 1", null, true, false), book.Latest(Key));

        Assert.True(book.Apply(Fencing.ReleaseKey(Key), 2, Fencing.EncodeRelease(1, "silo-a 1")));
        Assert.Equal(new Claim(1, "silo-a 1", null, true, true), book.Latest(Key));

        book.Apply(Fencing.ClaimKey(Key), 5, Fencing.EncodeClaim("silo-b 2", 2000));
        Assert.Equal(new Claim(5, "silo-b 2", 1, true, false), book.Latest(Key));

        // Silo b dies; c claims: b's claim was never released.
        book.Apply(Fencing.ClaimKey(Key), 8, Fencing.EncodeClaim("silo-c 3", 3000));
        Assert.Equal(new Claim(8, "silo-c 3", 5, false, false), book.Latest(Key));

        // A late release of b's claim frees nothing: c's is the latest.
        book.Apply(Fencing.ReleaseKey(Key), 9, Fencing.EncodeRelease(5, "silo-b 2"));
        Assert.False(book.Latest(Key)!.Released);

        // A tombstone forgets the key; another key is untouched.
        book.Apply(Fencing.ClaimKey("other"), 10, Fencing.EncodeClaim("x", 0));
        book.Apply(Fencing.ClaimKey(Key), 11, null);
        Assert.Null(book.Latest(Key));
        Assert.NotNull(book.Latest("other"));
    }

    public static TheoryData<string, Claim, double> Waits => new()
    {
        { "first claim ever", new Claim(1, "a", null, true, false), 0 },
        { "predecessor released", new Claim(5, "b", 1, true, false), 0 },
        { "predecessor did not release (its silo died)", new Claim(8, "c", 5, false, false), 19 },
    };

    [Theory]
    [MemberData(nameof(Waits))]
    public void A_take_over_waits_the_grace_only_after_a_claim_that_was_not_released(string why, Claim own, double seconds) =>
        Assert.True(TimeSpan.FromSeconds(seconds) == Fencing.WaitBeforeRestore(own, Windows), why);

    [Fact]
    public void Racing_activations_never_write_a_record_twice()
    {
        var totals = new RaceCounts();
        for (var seed = 0; seed < 400; seed++)
        {
            var race = new Race(seed, Bounds, honourGrace: true);
            race.Run();
            Assert.True(race.Duplicates.Count == 0, $"seed {seed}: origin offsets written twice: [{string.Join(",", race.Duplicates)}]\n{race.Trace}");
            Assert.True(race.InOriginOrder, $"seed {seed}: the destination is not in origin order\n{race.Trace}");
            Assert.True(race.Complete, $"seed {seed}: the destination ends with {race.Destination.Count} records, not all {Race.Records}\n{race.Trace}");
            totals.Add(race.Counts);
        }
        // The interesting paths ran: fencing, a grace after an unreleased claim, releases, stale tails, and
        // writes of a fenced owner that landed after the newer claim (the ones the grace is for).
        var counts = $"fenced {totals.Fenced}, graces {totals.Graces}, releases {totals.Releases}, stale checks {totals.StaleChecks}, " +
                     $"landed after a newer claim {totals.LandedAfterNewerClaim}";
        Assert.True(totals is { Fenced: > 50, Graces: > 50, Releases: > 20, StaleChecks: > 50, LandedAfterNewerClaim: > 50 }, counts);
    }

    [Fact]
    public void Without_the_grace_the_same_races_do_write_twice()
    {
        // The simulation can see a double write: drop the wait, keep every check, and some seeds write twice.
        var doubled = Enumerable.Range(0, 400).Count(seed =>
        {
            var race = new Race(seed, Bounds, honourGrace: false);
            race.Run();
            return race.Duplicates.Count > 0;
        });
        Assert.True(doubled > 0, "no seed wrote a record twice without the grace: the simulation cannot tell");
    }

    // Short bounds, so a race of a few seconds has every kind of overlap.
    private static readonly FencingWindows Bounds = new(TimeSpan.FromMilliseconds(2000), TimeSpan.FromMilliseconds(3000), FencingWindows.DefaultMargin);

    private sealed class RaceCounts
    {
        public int Fenced, Graces, Releases, StaleChecks, LandedAfterNewerClaim;

        public void Add(RaceCounts other)
        {
            Fenced += other.Fenced;
            Graces += other.Graces;
            Releases += other.Releases;
            StaleChecks += other.StaleChecks;
            LandedAfterNewerClaim += other.LandedAfterNewerClaim;
        }
    }

    /// <summary>
    /// Activations of one replicator over one source of <see cref="Records"/> records, in milliseconds. The
    /// checkpoint topic is a log of claims and releases; each check reads it through a tail that is up to date
    /// as of a random moment in the past (so sometimes stale); a write hands its records to the producer within
    /// the enqueue limit and each lands (in order) or fails (with every record after it) within W; a failed
    /// write is recovered by reading the destination back, and so is a take-over (after its wait). Activations
    /// start at random, some crash (their writes in flight still land), some stop cleanly and release.
    /// </summary>
    private sealed class Race(int seed, FencingWindows windows, bool honourGrace)
    {
        public const int Records = 60;
        private readonly Random _random = new(seed);
        private readonly List<(long At, string Key, string? Value)> _claims = [];
        private readonly List<(long At, long OriginOffset, int Writer)> _inFlight = [];
        private readonly List<Activation> _activations = [];
        private readonly System.Text.StringBuilder _trace = new();

        public List<(long At, long OriginOffset, int Writer)> Destination { get; } = [];

        public RaceCounts Counts { get; } = new();

        public string Trace => _trace.ToString();

        public List<long> Duplicates => [.. Destination.GroupBy(d => d.OriginOffset).Where(g => g.Count() > 1).Select(g => g.Key)];

        public bool InOriginOrder => Destination.Zip(Destination.Skip(1)).All(p => p.First.OriginOffset < p.Second.OriginOffset);

        public bool Complete => Destination.Select(d => d.OriginOffset).Distinct().Count() == Records;

        private sealed class Activation(int id, long startAt)
        {
            public int Id { get; } = id;
            public long NextAt { get; set; } = startAt;
            public string Phase { get; set; } = "claim";
            public long Epoch { get; set; } = -1;
            public long Next { get; set; }
            public long CrashAt { get; set; } = long.MaxValue;
            public bool ReleaseWhenDone { get; set; }
        }

        public void Run()
        {
            var count = _random.Next(2, 4);
            // The last to start finishes the work (unless a later one, made when another stopped cleanly, does).
            var starts = Enumerable.Range(0, count).Select(_ => (long)_random.Next(0, 8000)).Order().ToList();
            for (var i = 0; i < count; i++)
            {
                var activation = new Activation(i, starts[i]);
                if (i < count - 1)
                {
                    // Every activation but the last may crash or stop cleanly part-way; the last one finishes the work.
                    if (_random.Next(3) == 0) activation.CrashAt = activation.NextAt + _random.Next(500, 8000);
                    else activation.ReleaseWhenDone = _random.Next(2) == 0;
                }
                _activations.Add(activation);
            }
            for (var steps = 0; steps < 20_000; steps++)
            {
                var live = _activations.Where(a => a.Phase is not ("done" or "fenced" or "crashed")).ToList();
                var nextLanding = _inFlight.Count > 0 ? _inFlight.Min(f => f.At) : long.MaxValue;
                if (live.Count == 0)
                {
                    Land(long.MaxValue);
                    return;
                }
                var actor = live.MinBy(a => a.NextAt)!;
                if (nextLanding <= actor.NextAt)
                {
                    Land(nextLanding);
                    continue;
                }
                Step(actor);
            }
            throw new InvalidOperationException($"seed {seed}: the race did not end\n{Trace}");
        }

        private void Land(long upTo)
        {
            foreach (var landing in _inFlight.Where(f => f.At <= upTo).OrderBy(f => f.At).ThenBy(f => f.OriginOffset).ToList())
            {
                _inFlight.Remove(landing);
                Destination.Add(landing);
                var epoch = _activations[landing.Writer].Epoch;
                if (_claims.Where((c, offset) => offset > epoch && c.At < landing.At).Any(c => c.Key.StartsWith("claim|", StringComparison.Ordinal)))
                    Counts.LandedAfterNewerClaim++;
            }
        }

        private void Step(Activation a)
        {
            var now = a.NextAt;
            if (now >= a.CrashAt)
            {
                a.Phase = "crashed";
                _trace.AppendLine($"{now}: #{a.Id} crashes");
                return;
            }
            switch (a.Phase)
            {
                case "claim":
                {
                    a.Epoch = _claims.Count;
                    _claims.Add((now, Fencing.ClaimKey(Key), Fencing.EncodeClaim($"#{a.Id}", now)));
                    // The claim as the claimant's tail reads it: the log up to and including it.
                    var own = Book(_claims.Count).Latest(Key)!;
                    var ackedAt = now + _random.Next(0, 200);
                    var wait = Fencing.WaitBeforeRestore(own, windows);
                    if (wait > TimeSpan.Zero) Counts.Graces++;
                    a.NextAt = ackedAt + (honourGrace ? (long)wait.TotalMilliseconds : 0);
                    a.Phase = "restore";
                    _trace.AppendLine($"{now}: #{a.Id} claims epoch {a.Epoch} (previous {own.Previous}, released {own.PreviousReleased}); restores at {a.NextAt}");
                    break;
                }
                case "restore":
                    if (!Check(a, now)) return;
                    a.Next = ReadBack(now);
                    a.Phase = "write";
                    _trace.AppendLine($"{now}: #{a.Id} reads the destination back: next {a.Next}");
                    a.NextAt = now + _random.Next(0, 300);
                    break;
                case "write":
                {
                    if (a.Next >= Records)
                    {
                        if (a.ReleaseWhenDone && Check(a, now))
                        {
                            _claims.Add((now, Fencing.ReleaseKey(Key), Fencing.EncodeRelease(a.Epoch, $"#{a.Id}")));
                            Counts.Releases++;
                            _trace.AppendLine($"{now}: #{a.Id} releases epoch {a.Epoch}");
                        }
                        if (a.Phase == "write") a.Phase = "done";
                        return;
                    }
                    if (a.ReleaseWhenDone && _random.Next(6) == 0)
                    {
                        // Stops cleanly part-way (moved elsewhere): its writes have settled, so it releases.
                        if (Check(a, now))
                        {
                            _claims.Add((now, Fencing.ReleaseKey(Key), Fencing.EncodeRelease(a.Epoch, $"#{a.Id}")));
                            Counts.Releases++;
                            a.Phase = "done";
                            _trace.AppendLine($"{now}: #{a.Id} stops and releases epoch {a.Epoch}");
                            Activate(now);
                        }
                        return;
                    }
                    if (!Check(a, now)) return;
                    var enqueuedAt = now + _random.Next(0, (int)FencingWindows.EnqueueLimit.TotalMilliseconds);
                    var batch = (int)Math.Min(_random.Next(1, 6), Records - a.Next);
                    var failFrom = _random.Next(5) == 0 ? _random.Next(batch) : batch;
                    var landAt = enqueuedAt;
                    for (var i = 0; i < failFrom; i++)
                    {
                        landAt = Math.Min(enqueuedAt + (long)windows.WriteTimeout.TotalMilliseconds, landAt + _random.Next(0, 1500));
                        _inFlight.Add((landAt, a.Next + i, a.Id));
                    }
                    var settledAt = failFrom < batch ? enqueuedAt + (long)windows.WriteTimeout.TotalMilliseconds : landAt;
                    _trace.AppendLine($"{now}: #{a.Id} writes {a.Next}..{a.Next + batch - 1} (enqueued {enqueuedAt}, {failFrom} land by {landAt}, settled {settledAt})");
                    a.NextAt = settledAt;
                    a.Phase = failFrom < batch ? "recover" : "write";
                    a.Next += failFrom < batch ? 0 : batch;
                    break;
                }
                case "recover":
                    // A failed write: the turn ends and recovery reads the destination back.
                    Land(now);
                    a.Phase = "restore";
                    a.NextAt = now + 1;
                    break;
            }
        }

        // A clean stop leaves the partition to a new activation, as Orleans would place it elsewhere.
        private void Activate(long now)
        {
            if (_activations.Count >= 5) return;
            _activations.Add(new Activation(_activations.Count, now + _random.Next(0, 500)));
        }

        private bool Check(Activation a, long now)
        {
            // The tail last caught up with the topic's end at a moment up to 3 s ago: it has read everything
            // appended before that moment, and the activation's own claim (the claim waited for its tail to read it).
            var freshAsOf = now - _random.Next(0, 3000);
            var seen = Math.Max(_claims.Count(c => c.At < freshAsOf), (int)a.Epoch + 1);
            switch (Fencing.MayWrite(a.Epoch, Book(seen).Latest(Key), TimeSpan.FromMilliseconds(now - freshAsOf), windows))
            {
                case WriteVerdict.Allowed:
                    return true;
                case WriteVerdict.Stale:
                    Counts.StaleChecks++;
                    a.NextAt = now + _random.Next(50, 400);
                    return false;
                default:
                    Counts.Fenced++;
                    a.Phase = "fenced";
                    _trace.AppendLine($"{now}: #{a.Id} (epoch {a.Epoch}) fenced");
                    return false;
            }
        }

        private ClaimBook Book(int records)
        {
            var book = new ClaimBook();
            for (var i = 0; i < records; i++) book.Apply(_claims[i].Key, i, _claims[i].Value);
            return book;
        }

        // What recovery concludes from the destination: the highest origin offset there, plus one.
        private long ReadBack(long now)
        {
            Land(now);
            return Destination.Count == 0 ? 0 : Destination.Max(d => d.OriginOffset) + 1;
        }
    }
}
