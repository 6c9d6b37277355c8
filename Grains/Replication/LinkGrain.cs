using Mesh.Core.Replication;
using Mesh.Core.Topology;
using Mesh.Grains.Options;
using Mesh.Grains.Ports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Grains.Replication;

/// <summary>
/// One inbound link S -> D, run on the assignment its region's topology grain gives it. Periodically
/// lists S's topics, selects them with the assignment's filter, creates missing targets in D with
/// S's partition count, refuses (with an error in the status) a topic whose partition counts differ
/// rather than mis-map partitions, and keeps one replicator grain running per partition on that
/// partition's assignment. A new assignment restarts only the partitions whose own assignment changed.
/// A target it creates takes the source topic's configs (<see cref="ReplicatedTopicConfigs"/>), and it
/// compares those configs between the two regions now and then, reporting any drift in its status.
/// </summary>
public sealed partial class LinkGrain(
    ITopicCatalog catalog,
    ITopicDescriptions descriptions,
    IReplicationReadiness readiness,
    IOptions<ReplicationOptions> options,
    TimeProvider time,
    ILogger<LinkGrain> logger) : Grain, ILinkGrain
{
    private readonly ReplicationOptions _options = options.Value;
    private LinkAssignment? _assignment;
    private TopicFilter _filter = TopicFilter.All;
    private readonly SortedDictionary<string, TopicPlan> _topics = new(StringComparer.Ordinal);
    private string _source = "", _destination = "";
    private string? _error;
    private DateTimeOffset? _lastDiscoveryAt;
    private IGrainTimer? _discovery;

    private sealed record TopicPlan(int Partitions, string? Error);

    // Pinging a topic's replicators (EnsureRunningAsync) is how one lost with its silo starts again elsewhere. Every round
    // (5 s) at 10,000 partitions that was 2,000 grain calls a second, most of an idle silo's managed CPU; so a timed round
    // pings a topic only when something may have stopped one of them: the region's silos changed, a replicator is fenced
    // or stepped aside, the spread grain moved some (both ask through PingAgainAsync), the last ping did not finish, or
    // PingEvery passed (in case anything else did).
    private static readonly TimeSpan PingEvery = TimeSpan.FromMinutes(2);
    private readonly Dictionary<string, (DateTimeOffset At, long Membership, int Partitions)> _pinged = new(StringComparer.Ordinal);

    // Per source topic: when its configs were last compared with its target's, and how they differed.
    private readonly Dictionary<string, (DateTimeOffset CheckedAt, IReadOnlyList<TopicConfigDrift> Drift)> _configChecks = new(StringComparer.Ordinal);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_source, _destination) = GrainKeys.ParseLink(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public async Task<int> ApplyAsync(LinkAssignment assignment)
    {
        if (_assignment is { } current && current.SameAs(assignment))
        {
            _assignment = assignment;
            return 0;
        }
        var previous = _assignment;
        _assignment = assignment;
        _filter = new TopicFilter(assignment.Include, assignment.Exclude);
        // Topics in parallel: each replicator may first finish a turn of up to half a second.
        var counts = await Task.WhenAll(_topics.Where(t => t.Value.Error is null).ToArray().Select(async entry =>
        {
            var (topic, plan) = (entry.Key, entry.Value);
            if (!Selects(topic))
            {
                _topics.Remove(topic);
                _configChecks.Remove(topic);
                return await StopTopicAsync(topic, plan.Partitions);
            }
            // Only partitions whose own assignment changes are restarted; the rest are not even called.
            if (previous is not null && AssignmentFor(topic, previous).SameAs(AssignmentFor(topic, assignment))) return 0;
            return await EnsureRunningAsync(topic, plan.Partitions, AssignmentFor(topic, assignment));
        }));
        var restarted = counts.Sum();
        // A fresh activation knows no topic yet, but replicators of an earlier one may still run on an
        // older assignment: they are brought onto this one before the call returns, so a link that loses
        // origins has stopped carrying them when its region's topology grain goes on.
        if (previous is null && readiness.IsReady) restarted += await DiscoverAsync(CancellationToken.None, strict: true);
        if (previous is null) LogAssigned(_source, _destination, assignment.TopologyVersion);
        else LogReassigned(_source, _destination, assignment.TopologyVersion, restarted);
        _discovery ??= this.RegisterGrainTimer(DiscoverAsync, new GrainTimerCreationOptions
        {
            DueTime = TimeSpan.Zero,
            Period = _options.DiscoveryInterval,
            KeepAlive = true,
        });
        return restarted;
    }

    public async Task<int> RebuildAsync(string? topic, string reason, bool force)
    {
        var started = await Task.WhenAll(_topics.Where(t => t.Value.Error is null && (topic is null || t.Key == topic)).ToArray()
            .SelectMany(t => Enumerable.Range(0, t.Value.Partitions).Select(p =>
                GrainFactory.GetGrain<IPartitionReplicatorGrain>(GrainKeys.Partition(_source, _destination, t.Key, p)).RebuildAsync(reason, force))));
        return started.Count(s => s);
    }

    public async Task<int> StopAsync()
    {
        _discovery?.Dispose();
        _discovery = null;
        // Errored topics too: their replicators may have run before the error (a partition count changed under them).
        var topics = _topics.Select(t => (t.Key, t.Value.Partitions)).ToList();
        if (_assignment is null && topics.Count == 0)
        {
            // A fresh activation does not know what an earlier one ran: stop whatever the source has.
            try
            {
                var source = await catalog.ListTopicsAsync(_source, CancellationToken.None);
                topics = [.. source.Where(t => !TopicFilter.IsInternal(t.Key)).Select(t => (t.Key, t.Value))];
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Not knowing what to stop is not stopped: the topology grain keeps trying, and holds back
                // whatever would take over this link's origins.
                LogStopListFailed(e, _source, _destination);
                throw;
            }
        }
        var stopped = (await Task.WhenAll(topics.Select(t => StopTopicAsync(t.Item1, t.Item2)))).Sum();
        _topics.Clear();
        _configChecks.Clear();
        _pinged.Clear();
        _assignment = null;
        DeactivateOnIdle();
        return stopped;
    }

    /// <summary>Runs every partition of a topic on an assignment; returns how many restarted because theirs changed.</summary>
    private async Task<int> EnsureRunningAsync(string topic, int partitions, PartitionAssignment assignment)
    {
        var restarted = await Task.WhenAll(Enumerable.Range(0, partitions).Select(p => Partition(topic, p).EnsureRunningAsync(assignment)));
        return restarted.Count(r => r);
    }

    public Task PingAgainAsync(string topic)
    {
        _pinged.Remove(topic);
        return Task.CompletedTask;
    }

    private async Task<int> StopTopicAsync(string topic, int partitions)
    {
        _pinged.Remove(topic);
        await Task.WhenAll(Enumerable.Range(0, partitions).Select(p => Partition(topic, p).StopAsync()));
        return partitions;
    }

    private IPartitionReplicatorGrain Partition(string topic, int partition) =>
        GrainFactory.GetGrain<IPartitionReplicatorGrain>(GrainKeys.Partition(_source, _destination, topic, partition));

    /// <summary>The link carries the topic: selected, not internal, and under prefix naming not one that came from the destination (MirrorMaker 2's cycle rule).</summary>
    private bool Selects(string topic) =>
        _filter.Matches(topic) && !(_assignment!.PrefixNaming && TopicNaming.IsCycle(topic, _destination, _assignment.Separator ?? TopicNaming.DefaultSeparator));

    private string DestinationTopic(string topic) => DestinationTopic(topic, _assignment!);

    private static string DestinationTopic(string topic, LinkAssignment link) =>
        link.PrefixNaming ? TopicNaming.RemoteTopicName(NamingPolicy.Prefix, link.Source, topic, link.Separator ?? TopicNaming.DefaultSeparator) : topic;

    private static PartitionAssignment AssignmentFor(string topic, LinkAssignment link)
    {
        var lww = LwwFor(topic, link.LwwTopics ?? []);
        return new(
            link.TopologyVersion,
            DestinationTopic(topic, link),
            link.AllOrigins,
            link.Origins,
            link.PrefixNaming,
            link.Paused.Contains("*") || link.Paused.Contains(topic),
            lww,
            link.OwnPastSources,
            // Never for a push link (records and checkpoints in two clusters) nor an lww topic (its repairs are written
            // apart from the batch); the validator refuses or warns about both where it can tell.
            !link.Push && lww is null && ExactlyOnceTopics.Matches(link.ExactlyOnceTopics ?? [], topic),
            link.Separator);
    }

    /// <summary>The topic's last-writer-wins settings: exact names first, then expressions in order; null: append.</summary>
    private static ConflictPolicySettings? LwwFor(string topic, IReadOnlyList<LwwTopic> rules)
    {
        var rule = rules.FirstOrDefault(r => r.Topic == topic)
            ?? rules.FirstOrDefault(r => TopicPattern.IsValid(r.Topic, out _) && TopicPattern.IsMatch(r.Topic, topic));
        return rule is null ? null : new ConflictPolicySettings(rule.VersionHeader);
    }

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
            topics.Add(Summarize(topic, partitions) with
            {
                Policy = _assignment is { } a && AssignmentFor(topic, a).Lww is not null ? "lww" : null,
                ConfigDrift = _configChecks.TryGetValue(topic, out var check) && check.Drift.Count > 0 ? check.Drift : null,
            });
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

    // How long a timed discovery round waits for a topic's replicators to answer before it lets the grain go.
    private static readonly TimeSpan PingWait = TimeSpan.FromSeconds(5);

    private static TopicLinkStatus Summarize(string topic, PartitionStatus[] partitions)
    {
        var state = partitions.Any(p => p.State == ReplicationState.Stopped) ? ReplicationState.Stopped
            : partitions.All(p => p.State == ReplicationState.Replicating) ? ReplicationState.Replicating
            : partitions.All(p => p.State is ReplicationState.Paused) ? ReplicationState.Paused
            : ReplicationState.Starting;
        long? lag = partitions.All(p => p.LagRecords.HasValue) ? partitions.Sum(p => p.LagRecords!.Value) : null;
        var latest = partitions.Where(p => p.LatestReplicatedAt.HasValue).MaxBy(p => p.LatestReplicatedAt);
        var errors = partitions.Where(p => p.Error is not null).Select(p => $"partition {p.Partition}: {p.Error}").ToArray();
        var percentiles = LatencyWindow.Percentiles(partitions.Select(p => p.RecentLatencies?.Select(b => new LatencyCount(b.Milliseconds, b.Count)).ToArray()));
        return new TopicLinkStatus(topic, state, partitions.Length, partitions.Sum(p => p.RecordsReplicated), lag,
            latest?.LatestLatencyMs, errors.Length == 0 ? null : string.Join("; ", errors), partitions,
            partitions.Sum(p => p.RecordsQuarantined), partitions.Sum(p => p.RecordsExpiredBeforeReplication),
            ConflictsDropped: partitions.Sum(p => p.ConflictsDropped), BadVersions: partitions.Sum(p => p.BadVersions),
            Rebuild: RebuildSummary.Of(partitions), LatencyP50Ms: percentiles?.P50Ms, LatencyP99Ms: percentiles?.P99Ms,
            VerifiedByKey: KeyCounts.Sum(partitions.Select(p => p.VerifiedByKey)));
    }

    private Task DiscoverAsync(CancellationToken cancellationToken) => DiscoverAsync(cancellationToken, strict: false);

    /// <summary>
    /// One discovery round; returns the partitions it restarted on a changed assignment. Strict: a
    /// failure to list or to reach a replicator is thrown, not retried next round.
    /// </summary>
    private async Task<int> DiscoverAsync(CancellationToken cancellationToken, bool strict)
    {
        if (!readiness.IsReady || _assignment is null) return 0; // a status request may activate this link before the region's silos are all up
        var restarted = 0;
        try
        {
            var sourceTopics = await catalog.ListTopicsAsync(_source, cancellationToken);
            var localTopics = await catalog.ListTopicsAsync(_destination, cancellationToken);
            foreach (var (topic, partitions) in sourceTopics)
            {
                if (!Selects(topic)) continue;
                // One topic's trouble (its creation refused, say) must not keep the others from running.
                try
                {
                    restarted += await PlanTopicAsync(topic, partitions, localTopics, cancellationToken, strict);
                }
                catch (Exception e) when (e is not OperationCanceledException && !strict)
                {
                    var error = $"cannot prepare '{topic}' in {_destination}: {e.Message}";
                    if (_topics.GetValueOrDefault(topic)?.Error != error) LogTopicStopped(topic, error);
                    _topics[topic] = new TopicPlan(partitions, error);
                }
            }
            _error = null;
            _lastDiscoveryAt = time.GetUtcNow();
        }
        catch (Exception e) when (e is not OperationCanceledException && !strict)
        {
            _error = $"cannot list or create topics: {e.Message}";
            LogDiscoveryFailed(e, _source, _destination);
        }
        return restarted;
    }

    private async Task<int> PlanTopicAsync(string topic, int partitions, IReadOnlyDictionary<string, int> localTopics, CancellationToken cancellationToken, bool strict)
    {
        string? error = null;
        var target = DestinationTopic(topic);
        if (!localTopics.TryGetValue(target, out var localPartitions))
        {
            var configs = await TargetConfigsAsync(topic, cancellationToken);
            await catalog.CreateTopicAsync(_destination, target, partitions, configs, cancellationToken);
            LogCreatedTopic(target, partitions, _destination,
                configs is null || configs.Count == 0 ? "no topic configs of its own" : string.Join(", ", configs.Select(c => $"{c.Key}={c.Value}")));
        }
        else if (localPartitions != partitions)
        {
            error = $"partition count mismatch: '{topic}' has {partitions} partitions in {_source} and " +
                    (target == topic ? "" : $"'{target}' has ") + $"{localPartitions} in {_destination}; " +
                    $"replication of this topic on {_source}->{_destination} is stopped so that no record lands in the wrong partition. " +
                    "Give both topics the same partition count.";
        }
        var plan = new TopicPlan(partitions, error);
        var before = _topics.GetValueOrDefault(topic);
        if (before != plan)
        {
            if (error is not null) LogTopicStopped(topic, error);
            _topics[topic] = plan;
            // Replicators that ran until now must not run on behind the error (nor escape a later change).
            if (error is not null && before is { Error: null }) await StopTopicAsync(topic, before.Partitions);
        }
        if (error is not null) return 0;
        // Not while an apply waits on this round: the next timed round compares them.
        if (!strict) await CheckConfigDriftAsync(topic, target, cancellationToken);
        try
        {
            var membership = readiness.MembershipVersion;
            if (!strict && _pinged.TryGetValue(topic, out var pinged) && pinged.Membership == membership && pinged.Partitions == partitions
                && time.GetUtcNow() - pinged.At < PingEvery)
                return 0;
            _pinged.Remove(topic); // until this ping has finished
            var pingedAt = time.GetUtcNow();
            var assignment = AssignmentFor(topic, _assignment!);
            // The destination's conflict resolution runs before anything is written into an lww topic.
            if (assignment.Lww is { } lww)
                await Task.WhenAll(Enumerable.Range(0, partitions).Select(p =>
                    GrainFactory.GetGrain<IConflictGrain>(GrainKeys.RegionPartition(_destination, target, p)).EnsureRunningAsync(lww)));
            var running = EnsureRunningAsync(topic, partitions, assignment);
            // A timed round does not hold this grain while thousands of replicators answer (each may be in the middle of
            // a recovery turn): an apply from the topology grain waiting behind it would time out, and the topology grain
            // would then pause and restart every partition of the link. The pings go on; whoever has not answered by
            // the wait's end is pinged again next round.
            var restarted = strict ? await running : await running.WaitAsync(PingWait, cancellationToken);
            _pinged[topic] = (pingedAt, membership, partitions);
            return restarted;
        }
        catch (Exception e) when (e is TimeoutException or OrleansException && !strict)
        {
            // A replicator busy recovering (or on a silo that just died) answers late; the next round pings it again.
            LogPingSlow(e, topic);
            return 0;
        }
    }

    /// <summary>
    /// The configs a new target takes from its source topic; null (the destination's defaults) when the
    /// source's cannot be read, which must not keep the topic from being replicated.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, string>?> TargetConfigsAsync(string topic, CancellationToken cancellationToken)
    {
        try
        {
            return await descriptions.DescribeConfigsAsync(_source, topic, cancellationToken) is { } source
                ? ReplicatedTopicConfigs.ForTarget(source.TopicLevel)
                : null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogSourceConfigsUnreadable(e, topic, _source);
            return null;
        }
    }

    /// <summary>
    /// Compares the copied configs of a topic and its target, at most once per
    /// <see cref="ReplicationOptions.TopicConfigCheckInterval"/>: describing configs is an admin request
    /// per topic and region, too many to make every discovery round.
    /// </summary>
    private async Task CheckConfigDriftAsync(string topic, string target, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_configChecks.TryGetValue(topic, out var last) && now - last.CheckedAt < _options.TopicConfigCheckInterval) return;
        IReadOnlyList<TopicConfigDrift> drift;
        try
        {
            var source = await descriptions.DescribeConfigsAsync(_source, topic, cancellationToken);
            var destination = await descriptions.DescribeConfigsAsync(_destination, target, cancellationToken);
            drift = source is null || destination is null ? []
                : [.. ReplicatedTopicConfigs.Drift(source, destination).Select(d => new TopicConfigDrift(d.Key, d.SourceValue, d.TargetValue))];
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Keep what was known; try again after the interval rather than every round.
            LogConfigsUnreadable(e, topic, _source, _destination);
            _configChecks[topic] = (now, last.Drift ?? []);
            return;
        }
        if (drift.Count > 0 && !drift.SequenceEqual(last.Drift ?? []))
            LogConfigDrift(topic, _source, _destination, string.Join(", ", drift.Select(d => $"{d.Key}: {d.SourceValue ?? "(not set)"} in {_source}, {d.DestinationValue ?? "(not set)"} in {_destination}")));
        _configChecks[topic] = (now, drift);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot read the configs of '{Topic}' in {Source}; creating its target with the destination's defaults")]
    private partial void LogSourceConfigsUnreadable(Exception e, string topic, string source);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cannot compare the configs of '{Topic}' between {Source} and {Destination}; trying again later")]
    private partial void LogConfigsUnreadable(Exception e, string topic, string source, string destination);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Topic '{Topic}' is configured differently in {Source} and {Destination}: {Drift}")]
    private partial void LogConfigDrift(string topic, string source, string destination, string drift);

    [LoggerMessage(Level = LogLevel.Information, Message = "Link {Source}->{Destination} runs topology version {Version}")]
    private partial void LogAssigned(string source, string destination, long version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Link {Source}->{Destination} moved to topology version {Version}; {Restarted} partitions restarted")]
    private partial void LogReassigned(string source, string destination, long version, int restarted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Link {Source}->{Destination}: cannot list the source's topics to stop them")]
    private partial void LogStopListFailed(Exception e, string source, string destination);

    [LoggerMessage(Level = LogLevel.Information, Message = "Some replicators of '{Topic}' did not answer in time; pinging them again next round")]
    private partial void LogPingSlow(Exception e, string topic);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created topic '{Topic}' with {Partitions} partitions in {Region} ({Configs})")]
    private partial void LogCreatedTopic(string topic, int partitions, string region, string configs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Topic '{Topic}': {Error}")]
    private partial void LogTopicStopped(string topic, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Topic discovery on {Source}->{Destination} failed; retrying")]
    private partial void LogDiscoveryFailed(Exception e, string source, string destination);
}
