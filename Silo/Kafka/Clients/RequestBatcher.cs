namespace Mesh.Kafka.Clients;

/// <summary>One key's answer in a batched call: its value, or the error that is this key's own.</summary>
public readonly record struct BatchAnswer<TResult>(TResult? Value, Exception? Error)
{
    public static BatchAnswer<TResult> Of(TResult value) => new(value, null);
    public static BatchAnswer<TResult> Failed(Exception error) => new(default, error);
}

/// <summary>
/// Coalesces requests for many keys into few batched calls: thousands of partition replicators recovering at once
/// each ask one question of the same cluster (a partition's offsets), and are answered by a handful of requests
/// that each carry many partitions, instead of one broker round trip (and one blocked thread) each.
/// <para>
/// A request waits at most <c>gather</c> for company before the first call of a run goes out; requests that arrive
/// while a call is in flight go out together in the next call, as soon as that one returns, so one call is in flight
/// at a time and the batches grow with the load. An answer is always from a call that started after its request
/// arrived (never a stale one from a call already under way). Requests for the same key waiting for the same call
/// share it. Each caller gets its own key's answer; an error the call reports for one key fails only that key's
/// callers; a call that fails as a whole fails every request it carried. A caller's cancellation ends its own wait
/// only.
/// </para>
/// </summary>
public sealed class RequestBatcher<TKey, TResult> : IDisposable where TKey : notnull
{
    private readonly Func<IReadOnlyList<TKey>, CancellationToken, Task<IReadOnlyDictionary<TKey, BatchAnswer<TResult>>>> _call;
    private readonly TimeSpan _gather;
    private readonly int _maxBatch;
    private readonly object _gate = new();
    private readonly CancellationTokenSource _disposed = new();
    private Dictionary<TKey, TaskCompletionSource<TResult>> _waiting;
    private bool _running;

    /// <param name="call">The batched call: answers for (ideally) every key it was given. Keys it does not answer fail.</param>
    /// <param name="gather">How long a request that finds no call under way waits for others before the call goes out.</param>
    /// <param name="maxBatch">At most this many keys in one call; the rest go in the next.</param>
    /// <param name="comparer">How keys compare; the default comparer when null.</param>
    public RequestBatcher(Func<IReadOnlyList<TKey>, CancellationToken, Task<IReadOnlyDictionary<TKey, BatchAnswer<TResult>>>> call,
        TimeSpan gather, int maxBatch = 10_000, IEqualityComparer<TKey>? comparer = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(gather, TimeSpan.Zero);
        _call = call;
        _gather = gather;
        _maxBatch = maxBatch;
        _waiting = new Dictionary<TKey, TaskCompletionSource<TResult>>(comparer);
    }

    /// <summary>Calls made so far (for tests and diagnostics).</summary>
    public int Calls => Volatile.Read(ref _calls);
    private int _calls;

    /// <summary>The answer for <paramref name="key"/>, from a call that starts after this request.</summary>
    public Task<TResult> GetAsync(TKey key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        TaskCompletionSource<TResult>? answer;
        var start = false;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
            if (!_waiting.TryGetValue(key, out answer))
            {
                answer = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiting.Add(key, answer);
            }
            if (!_running) _running = start = true;
        }
        if (start) _ = Task.Run(RunAsync);
        return cancellationToken.CanBeCanceled ? answer.Task.WaitAsync(cancellationToken) : answer.Task;
    }

    private async Task RunAsync()
    {
        if (_gather > TimeSpan.Zero)
        {
            try { await Task.Delay(_gather, _disposed.Token); }
            catch (OperationCanceledException) { }
        }
        while (true)
        {
            Dictionary<TKey, TaskCompletionSource<TResult>> batch;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _running = false;
                    return;
                }
                if (_waiting.Count <= _maxBatch)
                {
                    batch = _waiting;
                    _waiting = new Dictionary<TKey, TaskCompletionSource<TResult>>(batch.Comparer);
                }
                else
                {
                    batch = new Dictionary<TKey, TaskCompletionSource<TResult>>(_maxBatch, _waiting.Comparer);
                    foreach (var (key, answer) in _waiting)
                    {
                        batch.Add(key, answer);
                        if (batch.Count == _maxBatch) break;
                    }
                    foreach (var key in batch.Keys) _waiting.Remove(key);
                }
            }
            if (_disposed.IsCancellationRequested)
            {
                Fail(batch, new ObjectDisposedException(nameof(RequestBatcher<TKey, TResult>)));
                continue;
            }
            Interlocked.Increment(ref _calls);
            IReadOnlyDictionary<TKey, BatchAnswer<TResult>> answers;
            try
            {
                answers = await _call([.. batch.Keys], _disposed.Token);
            }
            catch (Exception e)
            {
                Fail(batch, e);
                continue;
            }
            foreach (var (key, waiting) in batch)
            {
                if (!answers.TryGetValue(key, out var answer))
                    waiting.TrySetException(new InvalidOperationException($"the batched call of {batch.Count} keys gave no answer for {key}"));
                else if (answer.Error is { } error)
                    waiting.TrySetException(error);
                else
                    waiting.TrySetResult(answer.Value!);
            }
        }
    }

    private static void Fail(Dictionary<TKey, TaskCompletionSource<TResult>> batch, Exception error)
    {
        foreach (var waiting in batch.Values) waiting.TrySetException(error);
    }

    /// <summary>Fails what waits; a call under way is cancelled (its callers get its failure).</summary>
    public void Dispose()
    {
        Dictionary<TKey, TaskCompletionSource<TResult>> waiting;
        lock (_gate)
        {
            if (_disposed.IsCancellationRequested) return;
            _disposed.Cancel();
            waiting = _waiting;
            _waiting = new Dictionary<TKey, TaskCompletionSource<TResult>>(waiting.Comparer);
        }
        Fail(waiting, new ObjectDisposedException(nameof(RequestBatcher<TKey, TResult>)));
    }
}
