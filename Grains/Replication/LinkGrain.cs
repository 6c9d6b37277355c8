using Mesh.Core.Replication;
using Mesh.Grains.Options;
using Mesh.Grains.Ports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Grains.Replication;

/// <summary>
/// One inbound link S -> D. Periodically lists S's topics, selects them with the configured
/// filter, creates missing targets in D with S's partition count, refuses (with an error in the
/// status) a topic whose partition counts differ rather than mis-map partitions, and keeps one
/// replicator grain running per partition.
/// </summary>
public sealed partial class LinkGrain(
    ITopicCatalog catalog,
    IReplicationReadiness readiness,
    IOptions<ReplicationOptions> options,
    TimeProvider time,
    ILogger<LinkGrain> logger) : Grain, ILinkGrain
{
    private readonly ReplicationOptions _options = options.Value;
    private TopicFilter _filter = TopicFilter.All;
    private readonly SortedDictionary<string, TopicPlan> _topics = new(StringComparer.Ordinal);
    private string _source = "", _destination = "";
    private string? _error;
    private DateTimeOffset? _lastDiscoveryAt;

    private sealed record TopicPlan(int Partitions, string? Error);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_source, _destination) = GrainKeys.ParseLink(this.GetPrimaryKeyString());
        _filter = _options.TopicsFrom(_source);
        this.RegisterGrainTimer(DiscoverAsync, new GrainTimerCreationOptions
        {
            DueTime = TimeSpan.Zero,
            Period = _options.DiscoveryInterval,
            KeepAlive = true,
        });
        return Task.CompletedTask;
    }

    public Task EnsureRunningAsync() => Task.CompletedTask;

    public async Task<LinkStatus> GetStatusAsync()
    {
        var topics = new List<TopicLinkStatus>();
        foreach (var (topic, plan) in _topics.ToArray())
        {
            if (plan.Error is not null)
            {
                topics.Add(new TopicLinkStatus(topic, ReplicationState.Stopped, plan.Partitions, 0, null, null, plan.Error, []));
                continue;
            }
            var partitions = await Task.WhenAll(Enumerable.Range(0, plan.Partitions).Select(p => PartitionStatusAsync(topic, p)));
            topics.Add(Summarize(topic, partitions));
        }
        return new LinkStatus(_source, _destination, topics, _error, _lastDiscoveryAt);
    }

    // A replicator on a silo that just died answers nothing until Orleans declares the silo dead and
    // re-activates it elsewhere; say so for that partition instead of failing the whole status.
    private async Task<PartitionStatus> PartitionStatusAsync(string topic, int partition)
    {
        try
        {
            return await GrainFactory.GetGrain<IPartitionReplicatorGrain>(GrainKeys.Partition(_source, _destination, topic, partition))
                .GetStatusAsync().WaitAsync(StatusTimeout);
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            return new PartitionStatus(topic, partition, ReplicationState.Starting, 0, 0, null, null, null, -1,
                $"not answering (its silo may have just died; Orleans moves it once the silo is declared dead): {e.GetBaseException().Message}");
        }
    }

    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(5);

    private static TopicLinkStatus Summarize(string topic, PartitionStatus[] partitions)
    {
        var state = partitions.Any(p => p.State == ReplicationState.Stopped) ? ReplicationState.Stopped
            : partitions.All(p => p.State == ReplicationState.Replicating) ? ReplicationState.Replicating
            : ReplicationState.Starting;
        long? lag = partitions.All(p => p.LagRecords.HasValue) ? partitions.Sum(p => p.LagRecords!.Value) : null;
        var latest = partitions.Where(p => p.LatestReplicatedAt.HasValue).MaxBy(p => p.LatestReplicatedAt);
        var errors = partitions.Where(p => p.Error is not null).Select(p => $"partition {p.Partition}: {p.Error}").ToArray();
        return new TopicLinkStatus(topic, state, partitions.Length, partitions.Sum(p => p.RecordsReplicated), lag,
            latest?.LatestLatencyMs, errors.Length == 0 ? null : string.Join("; ", errors), partitions);
    }

    private async Task DiscoverAsync(CancellationToken cancellationToken)
    {
        if (!readiness.IsReady) return; // a status request may activate this link before the region's silos are all up
        try
        {
            var sourceTopics = await catalog.ListTopicsAsync(_source, cancellationToken);
            var localTopics = await catalog.ListTopicsAsync(_destination, cancellationToken);
            foreach (var (topic, partitions) in sourceTopics)
            {
                if (!_filter.Matches(topic)) continue;
                // One topic's trouble (its creation refused, say) must not keep the others from running.
                try
                {
                    await PlanTopicAsync(topic, partitions, localTopics, cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    var error = $"cannot prepare '{topic}' in {_destination}: {e.Message}";
                    if (_topics.GetValueOrDefault(topic)?.Error != error) LogTopicStopped(topic, error);
                    _topics[topic] = new TopicPlan(partitions, error);
                }
            }
            _error = null;
            _lastDiscoveryAt = time.GetUtcNow();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _error = $"cannot list or create topics: {e.Message}";
            LogDiscoveryFailed(e, _source, _destination);
        }
    }

    private async Task PlanTopicAsync(string topic, int partitions, IReadOnlyDictionary<string, int> localTopics, CancellationToken cancellationToken)
    {
        string? error = null;
        if (!localTopics.TryGetValue(topic, out var localPartitions))
        {
            await catalog.CreateTopicAsync(_destination, topic, partitions, null, cancellationToken);
            LogCreatedTopic(topic, partitions, _destination);
        }
        else if (localPartitions != partitions)
        {
            error = $"partition count mismatch: '{topic}' has {partitions} partitions in {_source} and {localPartitions} in {_destination}; " +
                    $"replication of this topic on {_source}->{_destination} is stopped so that no record lands in the wrong partition. " +
                    "Give both topics the same partition count.";
        }
        var plan = new TopicPlan(partitions, error);
        if (_topics.GetValueOrDefault(topic) != plan)
        {
            if (error is not null) LogTopicStopped(topic, error);
            _topics[topic] = plan;
        }
        if (error is not null) return;
        try
        {
            await Task.WhenAll(Enumerable.Range(0, partitions).Select(p =>
                GrainFactory.GetGrain<IPartitionReplicatorGrain>(GrainKeys.Partition(_source, _destination, topic, p)).EnsureRunningAsync()));
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            // A replicator busy recovering (or on a silo that just died) answers late; the next round pings it again.
            LogPingSlow(e, topic);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Some replicators of '{Topic}' did not answer in time; pinging them again next round")]
    private partial void LogPingSlow(Exception e, string topic);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created topic '{Topic}' with {Partitions} partitions in {Region}")]
    private partial void LogCreatedTopic(string topic, int partitions, string region);

    [LoggerMessage(Level = LogLevel.Error, Message = "Topic '{Topic}': {Error}")]
    private partial void LogTopicStopped(string topic, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Topic discovery on {Source}->{Destination} failed; retrying")]
    private partial void LogDiscoveryFailed(Exception e, string source, string destination);
}
