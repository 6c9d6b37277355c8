using System.Globalization;
using System.Text;
using Mesh.Core.Replication;
using Mesh.Core.Topology;
using Mesh.Grains.Backup;
using Mesh.Grains.Options;
using Mesh.Grains.Ports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Grains.Control;

/// <summary>
/// A region's applied topology (key: region id). Loads the version persisted in the region's Kafka,
/// derives the links the region runs (<see cref="RegionPlan"/>) and keeps each link grain on its
/// assignment. A change first stops the links that go and shrinks those that lose origins, and only
/// then starts what gains: the old carrier of an origin has written its last record before the new
/// one reads the destination to learn where to go on from. A region that missed a version (it was
/// down) adopts it from a peer's persisted topology.
/// </summary>
public sealed partial class TopologyGrain(
    ITopologyStore store,
    IRegionConnections connections,
    IOptions<ReplicationOptions> options,
    IReplicationReadiness readiness,
    TimeProvider time,
    ILogger<TopologyGrain> logger) : Grain, ITopologyGrain, IAuditedVersion
{
    private static readonly TimeSpan ReconcileInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PeerCheckInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan LinkCallTimeout = TimeSpan.FromSeconds(60);

    private string _region = "";
    private StoredTopology? _stored;
    private Topology? _topology;
    // What each link grain was last given successfully; a link missing here is (re)applied next round.
    private readonly Dictionary<string, LinkAssignment> _running = new(StringComparer.Ordinal);
    // Links to stop that have not confirmed yet: retried every round, and before anything gains origins.
    private readonly HashSet<string> _toStop = new(StringComparer.Ordinal);
    private string? _lastReconcileError;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _region = this.GetPrimaryKeyString();
        _stored = await store.ReadAsync(_region, cancellationToken);
        if (_stored is not null)
        {
            var load = Topology.Load(_stored.Document, "persisted topology");
            if (load.Topology is { } topology)
            {
                _topology = topology;
                connections.Update(topology);
                // This activation does not know what an earlier one started: links from regions the
                // topology names that this version does not run are stopped, in case they still run.
                var sources = RegionPlan.For(topology, _region).Select(p => p.From).ToHashSet(StringComparer.Ordinal);
                foreach (var region in topology.Regions.Where(r => r.Id != _region && !sources.Contains(r.Id)))
                    _toStop.Add(GrainKeys.Link(region.Id, _region));
            }
            else LogPersistedInvalid(_region, _stored.Version, string.Join("; ", load.Errors.Select(e => e.Describe())));
        }
        this.RegisterGrainTimer(ReconcileTickAsync, new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = ReconcileInterval, KeepAlive = true });
        this.RegisterGrainTimer(CheckPeersAsync, new GrainTimerCreationOptions { DueTime = PeerCheckInterval, Period = PeerCheckInterval, KeepAlive = true });
    }

    private long Version => _stored?.Version ?? 0;

    long IAuditedVersion.AuditedVersion => Version;

    /// <summary>The audit log is kept where the silo runs mutual TLS (roles need certificates); elsewhere there is none to read.</summary>
    public async Task<IReadOnlyList<AuditEntry>> GetChangesAsync(int count)
    {
        if (count < 1 || ServiceProvider.GetService(typeof(IAuditLog)) is not IAuditLog audit) return [];
        using var deadline = new CancellationTokenSource(LinkCallTimeout);
        return await audit.ReadRecentAsync(Math.Min(count, 1000), deadline.Token);
    }

    private IReadOnlyList<string> Paused => _stored?.Paused ?? [];

    public Task<AppliedTopology> GetAsync()
    {
        var desired = Desired();
        return Task.FromResult(new AppliedTopology(_region, Version, _topology?.Name ?? "", _stored?.Document ?? "", _stored?.AppliedAt,
            _topology?.HasRegion(_region) ?? false,
            [.. _topology is null ? [] : RegionPlan.For(_topology, _region).Select(p => p.ToString())],
            Paused, _stored?.AdoptedFrom, [.. desired.Values]));
    }

    public async Task EnsureRunningAsync(string? startupDocument)
    {
        if (startupDocument is null) return;
        var load = Topology.Load(startupDocument, "Mesh:Topology:File");
        if (load.Topology is not { } topology)
        {
            LogStartupInvalid(_region, string.Join("; ", load.Errors.Select(e => e.Describe())));
            return;
        }
        if (topology.Version <= Version) return;
        if (Refusal(topology) is { } why)
        {
            LogStartupRefused(_region, topology.Version, why);
            return;
        }
        LogAdopted(_region, topology.Version, "its topology file", Version);
        await AdoptAsync(topology, startupDocument, adoptedFrom: null);
    }

    public async Task<ApplyResult> ApplyAsync(ApplyRequest request)
    {
        var before = Version;
        var load = Topology.Load(request.Document, "applied topology");
        if (load.Topology is not { } topology)
            return Refused(before, "the topology is invalid: " + string.Join("; ", load.Errors.Select(e => $"{e.Describe()} (fix: {e.Fix})")));
        // Already running exactly this (applied here, or taken from a peer in between): nothing to do.
        if (topology.Version == before && _topology is { } running && running.Document == topology.Document)
        {
            // Taken from a peer while the apply was on its way (the apply read the version before it):
            // the apply's answer is what that adoption changed here.
            if (_adoption is { } adopted && adopted.VersionAfter == before && request.ExpectedVersion == adopted.VersionBefore)
                return adopted;
            return new ApplyResult(_region, ApplyOutcome.Unchanged, before, before, [], [], [], 0, null);
        }
        if (request.ExpectedVersion is long expected && expected != before)
            return Refused(before, $"region {_region} holds topology version {before}, not {expected} as this apply expected: another apply changed it in between. " +
                                   "Run 'mesh topology get' to see what runs, and apply again with a higher version if it should still change");
        if (topology.Version <= before)
            return Refused(before, $"version must increase: region {_region} runs topology version {before} and the file has {topology.Version}. " +
                                   $"Set 'version: {before + 1}' or higher in the file");
        if (Refusal(topology) is { } why) return Refused(before, why);

        var (added, removed, changed) = LinkChanges(topology);
        if (request.DryRun)
            return new ApplyResult(_region, ApplyOutcome.WouldApply, before, before, added, removed, changed, 0, null);

        LogApplying(_region, topology.Version, before, added.Length, removed.Length, changed.Length);
        var restarted = await AdoptAsync(topology, request.Document, adoptedFrom: null);
        return new ApplyResult(_region, ApplyOutcome.Applied, before, Version, added, removed, changed, restarted,
            _lastReconcileError is null ? null : $"applied; some links are not reconciled yet and are retried every {ReconcileInterval.TotalSeconds:0} s: {_lastReconcileError}");
    }

    public Task<PauseResult> SetPausedAsync(string source, string? topic, bool paused)
    {
        var link = GrainKeys.Link(source, _region);
        if (_topology is null || RegionPlan.For(_topology, _region).All(p => p.From != source || p.To != _region || p.Mode == LinkMode.Push))
        {
            var into = _topology is null ? [] : RegionPlan.For(_topology, _region).Where(p => p.To == _region).Select(p => p.From).ToArray();
            return Task.FromResult(new PauseResult(_region, link, topic, paused, false,
                $"region {_region} runs no link from {source} (topology version {Version}); " +
                (into.Length == 0 ? "it runs no inbound link at all" : $"its inbound links come from {string.Join(", ", into)}")));
        }
        return SetPausedAsync(source, link, topic, paused);
    }

    public Task<PauseResult> SetPushPausedAsync(string destination, string? topic, bool paused)
    {
        var link = GrainKeys.Link(_region, destination);
        if (_topology is null || RegionPlan.For(_topology, _region).All(p => p.From != _region || p.To != destination || p.Mode != LinkMode.Push))
            return Task.FromResult(new PauseResult(_region, link, topic, paused, false,
                $"region {_region} runs no push link to {destination} (topology version {Version})"));
        return SetPausedAsync(PushEntry(destination), link, topic, paused);
    }

    public async Task<RebuildResult> RebuildAsync(string destination, string? topic, bool force)
    {
        var links = _running.Values.Where(a => a.Destination == destination).Select(a => GrainKeys.Link(a.Source, a.Destination)).Order(StringComparer.Ordinal).ToList();
        var reason = force ? "requested (mesh region rebuild --force)" : $"requested (mesh region rebuild): {destination} lost records";
        var started = await Task.WhenAll(links.Select(key => Link(key).RebuildAsync(topic, reason, force)));
        LogRebuild(_region, destination, topic ?? "*", started.Sum(), links.Count);
        return new RebuildResult(_region, links, started.Sum());
    }

    // A pull link is paused under its source's id, a push link this region runs under '->destination'.
    private static string PushEntry(string destination) => LinkPause.Entry(LinkMode.Push, "", destination);

    private async Task<PauseResult> SetPausedAsync(string entryOfLink, string link, string? topic, bool paused)
    {
        var entry = topic is null ? entryOfLink : $"{entryOfLink}/{topic}";
        var set = new SortedSet<string>(Paused, StringComparer.Ordinal);
        if (!paused && topic is not null && set.Contains(entryOfLink))
            return new PauseResult(_region, link, topic, paused, false,
                $"the whole link {link} is paused, so topic '{topic}' cannot be resumed alone; resume the link (without --topic), then pause the topics that should stay paused");
        // Resuming a whole link resumes its topics too; pausing a topic of a paused link changes nothing.
        var changed = paused
            ? !(topic is not null && set.Contains(entryOfLink)) && set.Add(entry)
            : topic is null ? set.RemoveWhere(p => p == entryOfLink || p.StartsWith(entryOfLink + "/", StringComparison.Ordinal)) > 0 : set.Remove(entry);
        if (!changed) return new PauseResult(_region, link, topic, paused, false, null);
        var stored = _stored! with { Paused = [.. set] };
        await store.WriteAsync(stored, CancellationToken.None);
        _stored = stored;
        LogPaused(link, topic ?? "*", paused);
        await ReconcileAsync(CancellationToken.None);
        return new PauseResult(_region, link, topic, paused, true, _lastReconcileError);
    }

    // Naming decides every replicated topic's name: changing it on a running mesh would start a second
    // copy of everything under new names, so it is refused rather than half done.
    private string? Refusal(Topology topology)
    {
        if (topology.Version < 1) return "the topology has no version (or version 0): add 'version: 1' or higher";
        if (topology.Naming == NamingPolicy.Prefix && topology.Topics.Conflict.Any(r => r.Policy == ConflictPolicy.Lww))
            return "last-writer-wins needs identity naming: under prefix naming every region's writes go to topics of their own (us-east.T, eu-west.T), " +
                   "so there is nothing to converge; drop the lww rules or use 'naming: identity'";
        // A region's conflict resolution runs in its own silos, started by the links it pulls.
        if (topology.Topics.Conflict.Any(r => r.Policy == ConflictPolicy.Lww) && topology.Links.FirstOrDefault(l => l.Mode == LinkMode.Push) is { } push)
            return $"link {push} is in push mode, and last-writer-wins topics need every link into a region to be pulled by that region " +
                   "(its silos resolve the conflicts); make the link pull, or drop the lww rules";
        if (_topology is { } current && current.Naming != topology.Naming)
            return $"naming cannot change on a running mesh (it runs '{TopologyKeywords.Word(current.Naming)}', the file says '{TopologyKeywords.Word(topology.Naming)}'): " +
                   "every replicated topic would get a new name. Keep the naming, or build a new mesh with the other one";
        return null;
    }

    // The last version taken from a peer and what it changed, for an apply of the same version that arrives after it.
    private ApplyResult? _adoption;

    /// <summary>The link grains that <paramref name="topology"/> starts, stops and changes here, against what runs.</summary>
    private (string[] Added, string[] Removed, string[] Changed) LinkChanges(Topology topology)
    {
        var desired = Desired(topology, Paused);
        var current = Desired();
        return (desired.Keys.Except(current.Keys).Order(StringComparer.Ordinal).ToArray(),
            current.Keys.Except(desired.Keys).Order(StringComparer.Ordinal).ToArray(),
            desired.Keys.Intersect(current.Keys).Where(k => !desired[k].SameAs(current[k])).Order(StringComparer.Ordinal).ToArray());
    }

    private ApplyResult Refused(long version, string error) => new(_region, ApplyOutcome.Refused, version, version, [], [], [], 0, error);

    /// <summary>Persists and runs a new version; returns the partitions restarted.</summary>
    private async Task<int> AdoptAsync(Topology topology, string document, string? adoptedFrom)
    {
        var previous = Desired();
        // A pause belongs to a link: one this version no longer runs here goes with it (mesh topology apply asks
        // for the old carrier of a moved route to be paused, and the version may drop that link).
        var paused = LinkPause.Kept(Paused, topology, _region);
        // Stored first: a write that fails leaves the grain on the old version, whole, and the next offer retries.
        var stored = new StoredTopology(topology.Version, document, time.GetUtcNow(), paused, adoptedFrom, Sign(topology.Version, document));
        await store.WriteAsync(stored, CancellationToken.None);
        _stored = stored;
        _topology = topology;
        connections.Update(topology);
        if (topology.Topics.ExactlyOnce.Count > 0 && RegionPlan.For(topology, _region).FirstOrDefault(p => p.Mode == LinkMode.Push) is { } push)
            LogPushWithoutTransactions(_region, push.Key);
        var desired = Desired();
        foreach (var key in previous.Keys.Where(k => !desired.ContainsKey(k))) _toStop.Add(key);
        return await ReconcileAsync(CancellationToken.None);
    }

    private Dictionary<string, LinkAssignment> Desired() => _topology is null ? new(StringComparer.Ordinal) : Desired(_topology, Paused);

    private Dictionary<string, LinkAssignment> Desired(Topology topology, IReadOnlyList<string> paused) =>
        RegionPlan.For(topology, _region).ToDictionary(p => GrainKeys.Link(p.From, p.To), p => new LinkAssignment(
            p.From, p.To, topology.Version, [.. p.Topics.Include], [.. p.Topics.Exclude], p.AllOrigins, [.. p.Origins],
            p.Naming == NamingPolicy.Prefix, PausedTopics(p.Mode == LinkMode.Push ? PushEntry(p.To) : p.From, paused), p.Mode == LinkMode.Push,
            LwwTopics(topology), p.OwnPast ? RegionPlan.OwnPastSources(topology, p.To) : null,
            topology.Topics.ExactlyOnce.Count > 0 ? [.. topology.Topics.ExactlyOnce] : null,
            p.Naming == NamingPolicy.Prefix ? topology.Document.Separator : null), StringComparer.Ordinal);

    private static IReadOnlyList<LwwTopic> LwwTopics(Topology topology) =>
        [.. topology.Topics.Conflict.Where(r => r.Policy == ConflictPolicy.Lww).Select(r => new LwwTopic(r.Topic, r.VersionHeader))];

    private static IReadOnlyList<string> PausedTopics(string entryOfLink, IReadOnlyList<string> paused) =>
        paused.Contains(entryOfLink) ? ["*"]
            : [.. paused.Where(p => p.StartsWith(entryOfLink + "/", StringComparison.Ordinal)).Select(p => p[(entryOfLink.Length + 1)..]).Order(StringComparer.Ordinal)];

    private async Task ReconcileTickAsync(CancellationToken cancellationToken)
    {
        if (!readiness.IsReady) return;
        await ReconcileAsync(cancellationToken);
    }

    /// <summary>
    /// Brings every link grain to its assignment, in two phases: stop and shrink, then start and grow.
    /// Nothing gains an origin while a link that loses it has not confirmed. Returns partitions restarted.
    /// </summary>
    private async Task<int> ReconcileAsync(CancellationToken cancellationToken)
    {
        var desired = Desired();
        foreach (var key in _running.Keys.Where(k => !desired.ContainsKey(k))) _toStop.Add(key);
        var restarted = 0;
        var errors = new List<string>();
        // Origins a link may still be carrying because stopping or narrowing it failed: no other link
        // starts carrying them this round.
        var doubtful = new HashSet<string>(StringComparer.Ordinal);
        var doubtAll = false;
        // Unknown links paused this round: their restarts were counted when they paused.
        var pausedFirst = new HashSet<string>(StringComparer.Ordinal);

        foreach (var key in _toStop.ToArray())
        {
            try
            {
                restarted += await Link(key).StopAsync().WaitAsync(LinkCallTimeout, cancellationToken);
                _toStop.Remove(key);
                _running.Remove(key);
                LogLinkStopped(key);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                if (_running.TryGetValue(key, out var was)) { if (was.AllOrigins) doubtAll = true; else doubtful.UnionWith(was.Origins); }
                // Stopped by an earlier activation, or never run: most likely nothing, at most its own source's records.
                else doubtful.Add(GrainKeys.ParseLink(key).Source);
                errors.Add($"stopping {key}: {e.GetBaseException().Message}");
            }
        }
        foreach (var (key, want) in desired)
        {
            LinkAssignment shrunk;
            if (!_running.TryGetValue(key, out var had))
            {
                // What this link runs is unknown (a new activation of this grain, or a failed call): it
                // may carry origins another link is about to take over, so it is paused (checkpointed,
                // writing nothing) before anything starts. A link never run before pauses at no cost.
                shrunk = want with { Paused = ["*"] };
                had = want;
                pausedFirst.Add(key);
            }
            else
            {
                if (had.SameAs(want) || want.AllOrigins) continue;
                var kept = had.Origins.Where(want.Origins.Contains).ToArray();
                if (kept.Length == had.Origins.Count) continue;
                shrunk = had with { Origins = kept, TopologyVersion = want.TopologyVersion };
            }
            try
            {
                restarted += await Link(key).ApplyAsync(shrunk).WaitAsync(LinkCallTimeout, cancellationToken);
                _running[key] = shrunk;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                doubtAll |= !_running.ContainsKey(key);
                doubtful.UnionWith(had.Origins.Except(want.Origins));
                _running.Remove(key); // unknown now: paused first next round
                errors.Add($"narrowing {key}: {e.GetBaseException().Message}");
            }
        }

        var startable = desired.Where(entry =>
        {
            var gains = _running.TryGetValue(entry.Key, out var had) ? entry.Value.Origins.Except(had.Origins) : entry.Value.Origins;
            if (!(doubtAll ? gains.Any() : gains.Any(doubtful.Contains))) return true;
            errors.Add($"{entry.Key} waits to carry {string.Join(", ", gains)} until the link that carried them has stopped");
            return false;
        }).ToArray();
        var results = await Task.WhenAll(startable.Select(async entry =>
        {
            try
            {
                var count = await Link(entry.Key).ApplyAsync(entry.Value).WaitAsync(LinkCallTimeout, cancellationToken);
                return (entry.Key, Count: count, Error: (string?)null);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return (entry.Key, Count: 0, Error: $"starting {entry.Key}: {e.GetBaseException().Message}");
            }
        }));
        foreach (var (key, count, error) in results)
        {
            if (error is null)
            {
                if (!pausedFirst.Contains(key)) restarted += count;
                _running[key] = desired[key];
            }
            else
            {
                _running.Remove(key);
                errors.Add(error);
            }
        }

        // The backup follows the topology as the links do; a backup that cannot be reached never holds them up.
        try
        {
            var backup = _topology is { } applied && applied.HasRegion(_region) ? BackupAssignments.From(applied) : null;
            await GrainFactory.GetGrain<IBackupGrain>(_region).ApplyAsync(backup).WaitAsync(LinkCallTimeout, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            errors.Add($"backup: {e.GetBaseException().Message}");
        }

        var summary = errors.Count == 0 ? null : string.Join("; ", errors);
        if (summary is not null && summary != _lastReconcileError) LogReconcileFailed(_region, summary);
        _lastReconcileError = summary;
        return restarted;
    }

    private ILinkGrain Link(string key) => GrainFactory.GetGrain<ILinkGrain>(key);

    /// <summary>A region that was down when a version was applied takes it from a peer that has it.</summary>
    private async Task CheckPeersAsync(CancellationToken cancellationToken)
    {
        if (_topology is null) return;
        foreach (var peer in _topology.Regions.Select(r => r.Id).Where(id => id != _region))
        {
            StoredTopology? theirs;
            try
            {
                theirs = await store.ReadAsync(peer, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogPeerUnreadable(peer, e.Message);
                continue;
            }
            if (theirs is null || theirs.Version <= Version) continue;
            if (!Verifies(theirs, out var unverified))
            {
                if (_unverifiedPeers.Add($"{peer}@{theirs.Version}")) LogPeerUnverified(peer, theirs.Version, unverified);
                continue;
            }
            var load = Topology.Load(theirs.Document, $"{peer}'s topology");
            if (load.Topology is not { } topology || Refusal(topology) is not null) continue;
            LogAdopted(_region, topology.Version, $"peer {peer}", Version);
            var before = Version;
            var (added, removed, changed) = LinkChanges(topology);
            var restarted = await AdoptAsync(topology, theirs.Document, adoptedFrom: peer);
            _adoption = new ApplyResult(_region, ApplyOutcome.Applied, before, Version, added, removed, changed, restarted, null);
            return;
        }
    }

    private static ReadOnlySpan<byte> SignatureDomain => "mesh.topology.1"u8;

    // One key per mesh signs what every region stores, so a version found in a peer's Kafka is taken
    // only when a region of this mesh wrote it.
    private string? Sign(long version, string document)
    {
        using var signer = options.Value.Keys?.CreateSigner();
        if (signer is null) return null;
        var signed = Encoding.UTF8.GetString(signer.Sign(SignatureDomain, Encoding.UTF8.GetBytes(version.ToString(CultureInfo.InvariantCulture)), null, Encoding.UTF8.GetBytes(document)));
        return signed[(signed.LastIndexOf('|') + 1)..];
    }

    private bool Verifies(StoredTopology stored, out string reason)
    {
        using var signer = options.Value.Keys?.CreateSigner();
        reason = "";
        if (signer is null) return true;
        string? keyId = null;
        byte[]? mac = null;
        if (stored.Signature is { } signature && !ProvenanceCodec.TryDecodeSignature(signature, out keyId, out mac, out reason)) return false;
        return signer.Verify(SignatureDomain, "topology", Encoding.UTF8.GetBytes(stored.Version.ToString(CultureInfo.InvariantCulture)), keyId, mac,
            null, Encoding.UTF8.GetBytes(stored.Document), out reason, out _);
    }

    private readonly HashSet<string> _unverifiedPeers = new(StringComparer.Ordinal);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Region}: rebuild of {Destination} topic {Topic} asked for: {Partitions} partitions of {Links} links began")]
    private partial void LogRebuild(string region, string destination, string topic, int partitions, int links);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Region {Region}: push link {Link} replicates the topology's exactly-once topics without transactions: " +
        "it writes into another region's Kafka than the one holding its checkpoints, and a Kafka transaction spans one cluster")]
    private partial void LogPushWithoutTransactions(string region, string link);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not adopting topology version {Version} from {Peer}: {Reason}")]
    private partial void LogPeerUnverified(string peer, long version, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Region {Region}: applying topology version {Version} over {Before}: {Added} links added, {Removed} removed, {Changed} changed")]
    private partial void LogApplying(string region, long version, long before, int added, int removed, int changed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Region {Region}: adopting topology version {Version} from {From} (it ran {Before})")]
    private partial void LogAdopted(string region, long version, string from, long before);

    [LoggerMessage(Level = LogLevel.Error, Message = "Region {Region}: the topology file's version {Version} is not run: {Reason}")]
    private partial void LogStartupRefused(string region, long version, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Region {Region}: the topology file is invalid and is not run: {Errors}")]
    private partial void LogStartupInvalid(string region, string errors);

    [LoggerMessage(Level = LogLevel.Error, Message = "Region {Region}: the persisted topology version {Version} is invalid and is not run: {Errors}")]
    private partial void LogPersistedInvalid(string region, long version, string errors);

    [LoggerMessage(Level = LogLevel.Information, Message = "Link {Link} stopped (not in the topology any more)")]
    private partial void LogLinkStopped(string link);

    [LoggerMessage(Level = LogLevel.Information, Message = "Link {Link} topic {Topic}: paused={Paused}")]
    private partial void LogPaused(string link, string topic, bool paused);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Region {Region}: links not reconciled yet, retrying: {Errors}")]
    private partial void LogReconcileFailed(string region, string errors);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Cannot read {Peer}'s persisted topology: {Reason}")]
    private partial void LogPeerUnreadable(string peer, string reason);
}
