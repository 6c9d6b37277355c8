using Confluent.Kafka;
using Mesh.Core.Offsets;
using Mesh.Core.Replication;
using Mesh.Core.Topology;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Offsets;

/// <summary>
/// Continuous offset sync for this silo's region: for each consumer group the topology covers, finds
/// the one region where the group is active and, when that is another region, commits here the
/// group's offsets translated from there (<see cref="OffsetTranslator"/>), so that the group can
/// resume here without loss if that region is lost. Partitions are indexed incrementally: each round
/// reads only what was appended since the last. One round at a time.
/// </summary>
public sealed partial class OffsetSync(
    IOptions<KafkaRegionsOptions> clusters,
    IRegionIdentity identity,
    MeshKeys? keys,
    ILogger<OffsetSync> logger) : IDisposable
{
    private readonly Dictionary<string, PartitionLogReader> _readers = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Region, string Topic, int Partition), PartitionIndex> _indexes = [];
    private readonly Dictionary<(string Region, string Group), ConsumerGroupOffsets> _groups = [];
    private readonly ProvenanceSigner? _signer = keys?.CreateSigner();

    private string Local => clusters.Value.LocalRegion;

    /// <summary>One pass over the covered groups.</summary>
    public async Task RunOnceAsync(Topology topology, OffsetSyncSettings settings, CancellationToken cancellationToken)
    {
        if (!settings.Enabled) return;
        var regions = topology.Regions.Select(r => r.Id).Where(r => clusters.Value.Clusters.ContainsKey(r)).ToList();
        if (!regions.Contains(Local)) return;

        var topics = new Dictionary<string, Dictionary<string, int>?>(StringComparer.Ordinal);
        foreach (var region in regions) topics[region] = await TopicsAsync(region, topology.Naming, cancellationToken);

        var groups = settings.NamedGroups().ToHashSet(StringComparer.Ordinal);
        // Patterns need the groups listed. The embedded mock cluster implements no ListGroups, and
        // librdkafka's admin client crashes the process when asked to list there: never ask it.
        if (settings.HasPatterns)
            foreach (var region in regions.Where(r => topics[r] is not null && string.IsNullOrEmpty(clusters.Value.Cluster(r).EmbeddedControl)))
                foreach (var listed in ConsumerGroupOffsets.ListGroups(Config(region)) ?? [])
                    if (settings.Covers(listed)) groups.Add(listed);

        foreach (var group in groups.Order(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var active = regions.ToDictionary(r => r, r => Activity(r, group, topics[r]), StringComparer.Ordinal);
            var decision = SyncSource.Decide(Local, active);
            if (decision.Source is not { } source)
            {
                LogLeftAlone(group, Local, decision.Reason);
                continue;
            }
            try
            {
                Sync(group, source, topics[source]!, topics[Local]!, cancellationToken);
            }
            catch (OffsetRegionUnreachableException e)
            {
                LogSyncFailed(group, source, Local, e.Message);
                Forget(e.Region);
            }
            catch (GroupActiveException e)
            {
                LogLeftAlone(group, Local, e.Message);
            }
        }
    }

    private void Sync(string group, string source, Dictionary<string, int> sourceTopics, Dictionary<string, int> localTopics, CancellationToken cancellationToken)
    {
        var shared = sourceTopics.Where(t => localTopics.GetValueOrDefault(t.Key) == t.Value).ToList();
        var from = Group(source, group);
        var committed = from.Committed(shared.SelectMany(t => Enumerable.Range(0, t.Value).Select(p => new TopicPartition(t.Key, p))));
        if (committed.Count == 0) return;

        var translated = new Dictionary<TopicPartition, (long From, OffsetTranslation To)>();
        foreach (var (tp, offset) in committed)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sourceIndex = Index(source, tp, cancellationToken);
            var localIndex = Index(Local, tp, cancellationToken);
            translated[tp] = (offset, OffsetTranslator.Translate(sourceIndex, Math.Min(offset, sourceIndex.End), localIndex));
        }
        var here = Group(Local, group);
        var current = here.Committed(translated.Keys);
        var changed = translated.Where(t => current.GetValueOrDefault(t.Key, -1) != t.Value.To.Offset).ToList();
        if (changed.Count == 0) return;
        here.Commit(changed.ToDictionary(c => c.Key, c => c.Value.To.Offset));
        LogSynced(group, source, Local, string.Join(", ", changed.OrderBy(c => c.Key.Topic, StringComparer.Ordinal).ThenBy(c => c.Key.Partition.Value)
            .Select(c => $"{c.Key.Topic}/{c.Key.Partition.Value}: {c.Value.From} -> {c.Value.To.Offset} (re-delivers at most {c.Value.To.Redelivered})")));
    }

    private PartitionIndex Index(string region, TopicPartition tp, CancellationToken cancellationToken)
    {
        var key = (region, tp.Topic, tp.Partition.Value);
        var index = _readers[region].Update(_indexes.GetValueOrDefault(key), tp.Topic, tp.Partition.Value, cancellationToken);
        _indexes[key] = index;
        return index;
    }

    private bool? Activity(string region, string group, Dictionary<string, int>? topics)
    {
        if (topics is null) return null;
        // A cluster without topics to read has no consumers of the mesh's topics.
        if (topics.Count == 0) return false;
        try
        {
            var probe = topics.OrderBy(t => t.Key, StringComparer.Ordinal).First();
            return Group(region, group).Activity((probe.Key, probe.Value)).Active;
        }
        catch (OffsetRegionUnreachableException)
        {
            return null;
        }
    }

    /// <summary>The region's topics other than internal ones; null when it cannot be reached. Reconnects when its incarnation changed.</summary>
    private async Task<Dictionary<string, int>?> TopicsAsync(string region, NamingPolicy naming, CancellationToken cancellationToken)
    {
        try
        {
            var incarnation = await identity.IncarnationAsync(region, cancellationToken);
            if (_readers.TryGetValue(region, out var known) && known.Incarnation != incarnation) Forget(region);
            if (!_readers.TryGetValue(region, out var reader))
                _readers[region] = reader = await Task.Run(() => PartitionLogReader.Connect(region, Config(region), _signer, naming, TimeSpan.FromSeconds(30)), cancellationToken);
            return reader.Topics().Where(t => !t.Key.StartsWith("__", StringComparison.Ordinal)).ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is OffsetRegionUnreachableException or TimeoutException or KafkaException or InvalidOperationException)
        {
            LogRegionUnreachable(region, e.Message);
            Forget(region);
            return null;
        }
    }

    private ConsumerGroupOffsets Group(string region, string group)
    {
        if (!_groups.TryGetValue((region, group), out var offsets)) _groups[(region, group)] = offsets = new ConsumerGroupOffsets(region, group, Config(region));
        return offsets;
    }

    private IReadOnlyDictionary<string, string> Config(string region) =>
        clusters.Value.Cluster(region).BuildConfig(
            defaults: new Dictionary<string, string> { ["client.id"] = $"mesh-{Local}-offsets-{region}", ["log_level"] = "0" },
            required: new Dictionary<string, string>());

    /// <summary>Drops a region's clients and indexes: the next round starts it afresh.</summary>
    private void Forget(string region)
    {
        if (_readers.Remove(region, out var reader)) Dispose(reader);
        foreach (var key in _indexes.Keys.Where(k => k.Region == region).ToList()) _indexes.Remove(key);
        foreach (var key in _groups.Keys.Where(k => k.Region == region).ToList())
        {
            Dispose(_groups[key]);
            _groups.Remove(key);
        }
    }

    private static void Dispose(IDisposable disposable)
    {
        try { disposable.Dispose(); }
        catch (KafkaException) { /* A client of a dead cluster may fail to close; it is gone either way. */ }
    }

    public void Dispose()
    {
        foreach (var region in _readers.Keys.Concat(_groups.Keys.Select(k => k.Region)).Distinct().ToList()) Forget(region);
        _signer?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Group {Group}: offsets translated from {From} and committed in {To}: {Partitions}")]
    private partial void LogSynced(string group, string from, string to, string partitions);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Group {Group}: offsets not synced into {Region}: {Reason}")]
    private partial void LogLeftAlone(string group, string region, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group {Group}: syncing offsets from {From} into {To} failed: {Reason}; trying again next round")]
    private partial void LogSyncFailed(string group, string from, string to, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Offset sync: region {Region} cannot be reached: {Reason}")]
    private partial void LogRegionUnreachable(string region, string reason);
}
