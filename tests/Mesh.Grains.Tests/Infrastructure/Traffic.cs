using System.Text;
using Mesh.Core.Replication;
using Mesh.Grains.Tests.InMemory;

namespace Mesh.Grains.Tests.Infrastructure;

/// <summary>
/// Records produced into the in-memory regions, as applications and the mesh itself would put them
/// there: a local record has no provenance header; a record the mesh replicated into a region carries
/// the provenance the replicator writes (origin, hops ending in that region) and the origin timestamp.
/// Remembers every local record, so a replica can be checked against what was produced.
/// </summary>
internal sealed class Traffic(InMemoryKafka kafka)
{
    private long _clock = 1_700_000_000_000;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Region, string Topic, int Partition), List<SourceRecord>> _produced = [];

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
            if (!_produced.TryGetValue((region, topic, partition), out var list)) _produced[(region, topic, partition)] = list = [];
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
        var arrived = Provenance.Local(from, InMemoryKafka.IncarnationOf(from), topic, partition, offset, record.TimestampMs).ArrivedAt(to);
        var outbound = OutboundRecord.From(record, arrived, untrusted: false, keepUntrusted: true, signer: null);
        kafka.Get(to, topic, partition).Append([(outbound.Key, outbound.Value, outbound.TimestampMs, outbound.Headers)]);
    }

    /// <summary>The records produced locally in <paramref name="region"/>, in offset order.</summary>
    public IReadOnlyList<SourceRecord> ProducedIn(string region, string topic, int partition)
    {
        lock (_gate) return _produced.TryGetValue((region, topic, partition), out var list) ? [.. list] : [];
    }
}
