namespace Mesh.Kafka.Clients;

/// <summary>
/// Waiting on Kafka calls that block a thread (librdkafka's metadata, watermark and cluster-id calls wait out their
/// whole timeout when a cluster is down) without holding up the silo's stop: the caller is let go when its own token
/// fires or the silo starts stopping, and the blocked thread ends on its own. A grain turn waiting on such a call
/// would otherwise hold up its deactivation, the silo would miss its stop grace, and its claims would outlive it.
/// </summary>
internal static class SiloStopping
{
    /// <summary>Fires on either token.</summary>
    public static CancellationTokenSource Either(CancellationToken cancellationToken, CancellationToken stopping) =>
        CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping);

    /// <summary>Waits for <paramref name="task"/> until either token fires.</summary>
    public static async Task<T> WaitAsync<T>(Task<T> task, CancellationToken cancellationToken, CancellationToken stopping)
    {
        using var either = Either(cancellationToken, stopping);
        return await task.WaitAsync(either.Token);
    }

    /// <summary>Runs a blocking <paramref name="call"/> on the thread pool and waits for it until either token fires.</summary>
    public static async Task<T> RunAsync<T>(Func<T> call, CancellationToken cancellationToken, CancellationToken stopping)
    {
        using var either = Either(cancellationToken, stopping);
        return await Task.Run(call, either.Token).WaitAsync(either.Token);
    }
}
