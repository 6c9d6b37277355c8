using System.Text;
using Mesh.Core.Replication;
using Mesh.Grains.Tests.InMemory;

namespace Mesh.Grains.Tests.Infrastructure;

/// <summary>
/// Records produced into the in-memory regions, as applications and the mesh itself would put them
/// there: a local record has no provenance header; a record the mesh replicated into a region carries
/// the provenance the replicator writes (origin, hops ending in that region) and the origin timestamp.
/// Remembers every local record with the incarnation of the region's Kafka it was produced in, so a
/// replica can be checked against what was produced, also after a region's Kafka was replaced.
/// </summary>
internal sealed class Traffic(InMemoryKafka kafka)
{
    private long _clock = 1_700_000_000_000;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Region, string Incarnation, string Topic, int Partition), List<SourceRecord>> _produced = [];
    private readonly Dictionary<string, List<string>> _incarnations = new(StringComparer.Ordinal);

    /// <summary>An application's record in <paramref name="region"/>; returns its offset.</summary>
    public long Produce(string region, string topic, int partition)
    {
        lock (_gate)
        {
            var log = kafka.Get(region, topic, partition);
            var key = Encoding.UTF8.GetBytes($"key-{log.End % 7}");
            var value = Encoding.UTF8.GetBytes($"{region}:{topic}/{partition}@{log.End}");
            RecordHeader[] headers = [new("app", Encoding.UTF8.GetBytes(region))];
            var offset = log.Append([(key, value, ++_clock, headers)]);
            var incarnation = kafka.Incarnation(region);
            if (!_incarnations.TryGetValue(region, out var incarnations)) _incarnations[region] = incarnations = [];
            if (!incarnations.Contains(incarnation)) incarnations.Add(incarnation);
            if (!_produced.TryGetValue((region, incarnation, topic, partition), out var list)) _produced[(region, incarnation, topic, partition)] = list = [];
            list.Add(log.At(offset)!);
            return offset;
        }
    }

    /// <summary>
    /// What link <paramref name="from"/> -> <paramref name="to"/> writes for <paramref name="from"/>'s
    /// own record at <paramref name="offset"/>: the record with provenance (from, hops [from, to]).
    /// </summary>
    public void Replicate(string from, string to, string topic, int partition, long offset)
    {
        var record = kafka.Get(from, topic, partition).At(offset) ?? throw new ArgumentOutOfRangeException(nameof(offset));
        var arrived = Provenance.Local(from, kafka.Incarnation(from), topic, partition, offset, record.TimestampMs).ArrivedAt(to);
        var outbound = OutboundRecord.From(record, arrived, untrusted: false, keepUntrusted: true, signer: null);
        kafka.Get(to, topic, partition).Append([(outbound.Key, outbound.Value, outbound.TimestampMs, outbound.Headers)]);
    }

    /// <summary>
    /// The records produced locally in <paramref name="region"/>, in offset order: in its Kafka of
    /// <paramref name="incarnation"/>, by default the one it has now.
    /// </summary>
    public IReadOnlyList<SourceRecord> ProducedIn(string region, string topic, int partition, string? incarnation = null)
    {
        incarnation ??= kafka.Incarnation(region);
        lock (_gate) return _produced.TryGetValue((region, incarnation, topic, partition), out var list) ? [.. list] : [];
    }

    /// <summary>The incarnations of <paramref name="region"/>'s Kafka that records were produced in, oldest first.</summary>
    public IReadOnlyList<string> IncarnationsOf(string region)
    {
        lock (_gate) return _incarnations.TryGetValue(region, out var list) ? [.. list] : [];
    }
}
