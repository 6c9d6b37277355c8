using System.Collections.Concurrent;
using Mesh.Kafka.Clients;

namespace Mesh.Core.Tests.Kafka;

/// <summary>
/// The batcher behind the replicators' offset requests: many callers at once make few calls, each caller gets its own
/// key's answer or error, and no answer comes from a call that started before the request.
/// </summary>
public sealed class RequestBatcherTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>A call that records what it was asked and answers each key with its square, held until released.</summary>
    private sealed class Backend
    {
        public readonly ConcurrentQueue<IReadOnlyList<int>> Calls = new();
        public volatile TaskCompletionSource Gate = Open();
        public Func<int, BatchAnswer<int>> Answer = k => BatchAnswer<int>.Of(k * k);
        public int Called;

        public static TaskCompletionSource Open()
        {
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            open.SetResult();
            return open;
        }

        public async Task<IReadOnlyDictionary<int, BatchAnswer<int>>> CallAsync(IReadOnlyList<int> keys, CancellationToken _)
        {
            Calls.Enqueue(keys);
            Interlocked.Increment(ref Called);
            await Gate.Task;
            return keys.ToDictionary(k => k, k => Answer(k));
        }
    }

    [Fact]
    public async Task A_thousand_concurrent_requests_take_a_handful_of_calls_and_each_gets_its_own_answer()
    {
        var backend = new Backend();
        using var batcher = new RequestBatcher<int, int>(backend.CallAsync, TimeSpan.FromMilliseconds(5));

        var answers = await Task.WhenAll(Enumerable.Range(0, 1000).Select(k => batcher.GetAsync(k, CancellationToken.None))).WaitAsync(Wait);

        Assert.Equal(Enumerable.Range(0, 1000).Select(k => k * k), answers);
        Assert.InRange(batcher.Calls, 1, 3);
        Assert.Equal(1000, backend.Calls.Sum(c => c.Count));
    }

    [Fact]
    public async Task Requests_for_one_key_waiting_together_share_one_slot_in_the_call()
    {
        var backend = new Backend();
        using var batcher = new RequestBatcher<int, int>(backend.CallAsync, TimeSpan.FromMilliseconds(20));

        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => batcher.GetAsync(7, CancellationToken.None))).WaitAsync(Wait);

        Assert.All(answers, a => Assert.Equal(49, a));
        Assert.Equal(new[] { 7 }, backend.Calls.Single());
    }

    [Fact]
    public async Task A_request_made_while_a_call_is_under_way_is_answered_by_the_next_call_not_that_one()
    {
        var backend = new Backend { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        using var batcher = new RequestBatcher<int, int>(backend.CallAsync, TimeSpan.Zero);

        var first = batcher.GetAsync(1, CancellationToken.None);
        await WaitUntil(() => backend.Called == 1);
        // Asked while the first call is in flight, for the same key and for others: its answer may be newer than that call's.
        backend.Answer = k => BatchAnswer<int>.Of(-k);
        var again = batcher.GetAsync(1, CancellationToken.None);
        var others = Enumerable.Range(2, 10).Select(k => batcher.GetAsync(k, CancellationToken.None)).ToArray();
        Assert.Equal(1, backend.Called); // one call in flight at a time
        backend.Gate.SetResult();

        Assert.Equal(-1, await first.WaitAsync(Wait)); // answered when the call returned, with what it returns then
        Assert.Equal(-1, await again.WaitAsync(Wait));
        Assert.Equal(Enumerable.Range(2, 10).Select(k => -k), await Task.WhenAll(others).WaitAsync(Wait));
        var calls = backend.Calls.ToArray();
        Assert.Equal(2, calls.Length);
        Assert.Equal(new[] { 1 }, calls[0]);
        Assert.Equal(Enumerable.Range(1, 11), calls[1].Order());
    }

    [Fact]
    public async Task An_error_for_one_key_fails_only_that_keys_callers()
    {
        var backend = new Backend
        {
            Answer = k => k == 3 ? BatchAnswer<int>.Failed(new InvalidOperationException("partition 3: not the leader")) : BatchAnswer<int>.Of(k),
        };
        using var batcher = new RequestBatcher<int, int>(backend.CallAsync, TimeSpan.FromMilliseconds(5));

        var requests = Enumerable.Range(0, 6).Select(k => batcher.GetAsync(k, CancellationToken.None)).ToArray();
        await Task.WhenAll(requests).WaitAsync(Wait).ContinueWith(_ => { });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => requests[3]);
        Assert.Equal("partition 3: not the leader", error.Message);
        foreach (var k in new[] { 0, 1, 2, 4, 5 }) Assert.Equal(k, await requests[k]);
    }

    [Fact]
    public async Task A_call_that_fails_as_a_whole_fails_its_batch_and_the_next_request_makes_a_new_call()
    {
        var failing = true;
        var calls = 0;
        using var batcher = new RequestBatcher<int, int>((keys, _) =>
        {
            Interlocked.Increment(ref calls);
            return failing
                ? Task.FromException<IReadOnlyDictionary<int, BatchAnswer<int>>>(new TimeoutException("the cluster did not answer"))
                : Task.FromResult<IReadOnlyDictionary<int, BatchAnswer<int>>>(keys.ToDictionary(k => k, k => BatchAnswer<int>.Of(k + 1)));
        }, TimeSpan.FromMilliseconds(5));

        var batch = Enumerable.Range(0, 5).Select(k => batcher.GetAsync(k, CancellationToken.None)).ToArray();
        foreach (var request in batch)
            Assert.Equal("the cluster did not answer", (await Assert.ThrowsAsync<TimeoutException>(() => request.WaitAsync(Wait))).Message);

        failing = false;
        Assert.Equal(4, await batcher.GetAsync(3, CancellationToken.None).WaitAsync(Wait));
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task A_key_the_call_does_not_answer_fails_rather_than_waiting_forever()
    {
        using var batcher = new RequestBatcher<int, int>((keys, _) =>
            Task.FromResult<IReadOnlyDictionary<int, BatchAnswer<int>>>(keys.Where(k => k != 2).ToDictionary(k => k, k => BatchAnswer<int>.Of(k))),
            TimeSpan.FromMilliseconds(5));

        var requests = Enumerable.Range(0, 4).Select(k => batcher.GetAsync(k, CancellationToken.None)).ToArray();

        await Assert.ThrowsAsync<InvalidOperationException>(() => requests[2].WaitAsync(Wait));
        Assert.Equal(3, await requests[3].WaitAsync(Wait));
    }

    [Fact]
    public async Task More_keys_than_a_call_may_carry_go_out_in_several_calls()
    {
        var backend = new Backend();
        using var batcher = new RequestBatcher<int, int>(backend.CallAsync, TimeSpan.FromMilliseconds(20), maxBatch: 100);

        var answers = await Task.WhenAll(Enumerable.Range(0, 250).Select(k => batcher.GetAsync(k, CancellationToken.None))).WaitAsync(Wait);

        Assert.Equal(Enumerable.Range(0, 250).Select(k => k * k), answers);
        Assert.All(backend.Calls, c => Assert.InRange(c.Count, 1, 100));
        Assert.Equal(250, backend.Calls.Sum(c => c.Count));
        Assert.InRange(backend.Calls.Count, 3, 5);
    }

    [Fact]
    public async Task A_cancelled_caller_stops_waiting_and_the_others_still_get_their_answers()
    {
        var backend = new Backend { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        using var batcher = new RequestBatcher<int, int>(backend.CallAsync, TimeSpan.Zero);
        using var cancel = new CancellationTokenSource();

        var cancelled = batcher.GetAsync(1, cancel.Token);
        var kept = batcher.GetAsync(2, CancellationToken.None);
        await WaitUntil(() => backend.Called == 1);
        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Wait));
        backend.Gate.SetResult();
        Assert.Equal(4, await kept.WaitAsync(Wait));
    }

    [Fact]
    public async Task Disposing_fails_what_waits_and_refuses_new_requests()
    {
        var backend = new Backend { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var batcher = new RequestBatcher<int, int>(backend.CallAsync, TimeSpan.Zero);
        var inFlight = batcher.GetAsync(1, CancellationToken.None);
        await WaitUntil(() => backend.Called == 1);
        var waiting = batcher.GetAsync(2, CancellationToken.None);

        batcher.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting.WaitAsync(Wait));
        Assert.Throws<ObjectDisposedException>(() => { _ = batcher.GetAsync(3, CancellationToken.None); });
        backend.Gate.SetResult();
        Assert.Equal(1, await inFlight.WaitAsync(Wait)); // a call under way still answers its callers
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met");
            await Task.Delay(5);
        }
    }
}
