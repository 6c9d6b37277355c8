using System.Collections.Concurrent;
using Confluent.Kafka;
using Mesh.Core.Topology;
using Mesh.Grains.Backup;
using Mesh.Kafka.Clients;
using Mesh.Kafka.Offsets;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Backup;

/// <summary>
/// Named consumer groups' committed offsets in the region's own Kafka, for the backup's group snapshots.
/// A name that is an expression (not a plain group id) is matched against the groups the cluster lists,
/// where it can list them (the embedded mock cluster cannot: there only exact names count).
/// </summary>
public sealed class KafkaGroupPositions(IOptions<KafkaRegionsOptions> regions) : IGroupPositions, IDisposable
{
    private static readonly TimeSpan ListInterval = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, ConsumerGroupOffsets> _groups = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private (DateTime At, IReadOnlyList<string>? Groups) _listed = (DateTime.MinValue, null);

    public Task<IReadOnlyDictionary<string, long>> CommittedAsync(IReadOnlyList<string> groups, string topic, int partition, CancellationToken cancellationToken) =>
        Task.Run<IReadOnlyDictionary<string, long>>(() =>
        {
            var result = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var group in Resolve(groups))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var offsets = _groups.GetOrAdd(group, g => new ConsumerGroupOffsets(regions.Value.LocalRegion, g, Config()));
                if (offsets.Committed([new TopicPartition(topic, partition)]).Values.FirstOrDefault(-1) is var committed and >= 0)
                    result[group] = committed;
            }
            return result;
        }, cancellationToken);

    private IEnumerable<string> Resolve(IReadOnlyList<string> names)
    {
        var exact = names.Where(IsPlainName).ToList();
        if (exact.Count == names.Count) return exact;
        var listed = Listed();
        return listed is null ? exact : exact.Union(listed.Where(g => ExactlyOnceTopics.Matches(names, g)), StringComparer.Ordinal);
    }

    // A group id of the characters Kafka users write ids with is taken as a name, anything else as an expression.
    private static bool IsPlainName(string name) => name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private IReadOnlyList<string>? Listed()
    {
        lock (_gate)
        {
            // The embedded mock cluster implements no ListGroups (and its admin client aborts the process there).
            if (regions.Value.Local.EmbeddedControl is not null) return null;
            if (DateTime.UtcNow - _listed.At < ListInterval) return _listed.Groups;
            _listed = (DateTime.UtcNow, ConsumerGroupOffsets.ListGroups(Config()));
            return _listed.Groups;
        }
    }

    private Dictionary<string, string> Config() =>
        regions.Value.Local.BuildConfig(new Dictionary<string, string>(), new Dictionary<string, string>());

    public void Dispose()
    {
        foreach (var offsets in _groups.Values) offsets.Dispose();
    }
}
