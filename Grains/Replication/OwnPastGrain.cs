using Mesh.Core.Replication;
using Mesh.Grains.Options;
using Mesh.Grains.Ports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Grains.Replication;

/// <summary>
/// Decides, for one partition of a region that came back without its data, which inbound link writes
/// back the region's own earlier records (see <see cref="OwnPast"/>): it reads each candidate source's
/// partition backwards to the latest such record. Asked only when a replicator starts afresh (first
/// start or rebuild), so a running mesh never pays for the scan.
/// </summary>
public sealed partial class OwnPastGrain(
    IDestinationLogs logs,
    ITopicCatalog catalog,
    IRegionIdentity identity,
    IOptions<ReplicationOptions> options,
    ILogger<OwnPastGrain> logger) : Grain, IOwnPastGrain
{
    private string? _carrier;
    private string? _decidedFor;

    public async Task<string?> CarrierAsync(IReadOnlyList<string> candidates, string destinationIncarnation)
    {
        var key = $"{destinationIncarnation}|{string.Join(",", candidates.Order(StringComparer.Ordinal))}";
        if (_decidedFor == key) return _carrier;
        var (destination, topic, partition) = GrainKeys.ParseRegionPartition(this.GetPrimaryKeyString());
        var highest = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var source in candidates)
            highest[source] = await HighestHeldAsync(source, destination, destinationIncarnation, topic, partition);
        _carrier = OwnPast.Carrier(highest);
        _decidedFor = key;
        LogDecided(this.GetPrimaryKeyString(), _carrier ?? "(none)", string.Join(", ", highest.Select(h => $"{h.Key}={h.Value}")));
        return _carrier;
    }

    /// <summary>The highest origin offset of the destination's earlier records that <paramref name="source"/> holds; -1 for none.</summary>
    private async Task<long> HighestHeldAsync(string source, string destination, string destinationIncarnation, string topic, int partition)
    {
        // A source without the topic holds none of it; a source that cannot be read fails the call, and the
        // replicator asks again when it retries (a guess could pick a source holding less).
        var topics = await catalog.ListTopicsAsync(source, CancellationToken.None);
        if (!topics.TryGetValue(topic, out var partitions) || partitions <= partition) return -1;
        using var signer = options.Value.PolicyFor(topic).Keys?.CreateSigner();
        var sourceIncarnation = await identity.IncarnationAsync(source, CancellationToken.None);
        // Read from the end: the first chunk holding one gives the latest, which is the highest.
        long? latest = null;
        await logs.For(source).ScanBackwardsAsync(topic, partition, below: null, record =>
        {
            if (OwnPast.OffsetOf(record, source, sourceIncarnation, topic, partition, signer, destination, destinationIncarnation) is { } offset)
                latest = offset; // the last one in a chunk is the latest of it
        }, () => latest is not null, CancellationToken.None);
        return latest ?? -1;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: {Carrier} writes back the region's earlier records (highest origin offset held per source: {Held})")]
    private partial void LogDecided(string key, string carrier, string held);
}
