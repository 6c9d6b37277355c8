using Mesh.Core.Replication;

namespace Mesh.Grains.Tests.InMemory;

/// <summary>
/// Every region's Kafka as the grains' ports see it: per region, topics of partitions, each a list of
/// records whose offsets are their indexes. Nothing expires and nothing is lost, so a source gap or a
/// lost log never happens here. Thread-safe; readers wait on <see cref="PartitionLog.WaitBeyondAsync"/>.
/// </summary>
public sealed class InMemoryKafka
{
    private readonly Dictionary<string, Dictionary<string, PartitionLog[]>> _regions = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>A region's incarnation: stable per region, as a cluster id would make it.</summary>
    public static string IncarnationOf(string region) => Incarnations.FromClusterId("in-memory-" + region);

    /// <summary>Creates <paramref name="topic"/>; an existing one must have the same partition count.</summary>
    public void CreateTopic(string region, string topic, int partitions)
    {
        lock (_gate)
        {
            var topics = TopicsOf(region);
            if (topics.TryGetValue(topic, out var existing))
            {
                if (existing.Length != partitions)
                    throw new InvalidOperationException($"topic '{topic}' exists in {region} with {existing.Length} partitions, not {partitions}");
                return;
            }
            topics[topic] = [.. Enumerable.Range(0, partitions).Select(p => new PartitionLog(region, topic, p))];
        }
    }

    public IReadOnlyDictionary<string, int> Topics(string region)
    {
        lock (_gate)
            return _regions.TryGetValue(region, out var topics)
                ? topics.ToDictionary(t => t.Key, t => t.Value.Length, StringComparer.Ordinal)
                : new Dictionary<string, int>(StringComparer.Ordinal);
    }

    /// <summary>The partition, or null when the region has no such topic or partition.</summary>
    public PartitionLog? Find(string region, string topic, int partition)
    {
        lock (_gate)
            return _regions.TryGetValue(region, out var topics) && topics.TryGetValue(topic, out var partitions) && partition < partitions.Length
                ? partitions[partition]
                : null;
    }

    /// <summary>The partition; throws as a broker would when it does not exist.</summary>
    public PartitionLog Get(string region, string topic, int partition) =>
        Find(region, topic, partition) ?? throw new InvalidOperationException($"{region}: unknown topic or partition {topic}/{partition}");

    private Dictionary<string, PartitionLog[]> TopicsOf(string region)
    {
        if (!_regions.TryGetValue(region, out var topics)) _regions[region] = topics = new(StringComparer.Ordinal);
        return topics;
    }
}

/// <summary>One partition of one region's topic.</summary>
public sealed class PartitionLog(string region, string topic, int partition)
{
    private readonly List<SourceRecord> _records = [];
    private readonly Lock _gate = new();
    // Completed (and replaced) on every append: whoever waits for records past an offset awaits it.
    private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Region { get; } = region;
    public string Topic { get; } = topic;
    public int Partition { get; } = partition;

    public long End
    {
        get { lock (_gate) return _records.Count; }
    }

    /// <summary>Appends in order; returns the offset of the first record appended.</summary>
    public long Append(IEnumerable<(byte[]? Key, byte[]? Value, long TimestampMs, IReadOnlyList<RecordHeader> Headers)> records)
    {
        TaskCompletionSource appended;
        long first;
        lock (_gate)
        {
            first = _records.Count;
            foreach (var (key, value, timestamp, headers) in records)
                _records.Add(new SourceRecord(_records.Count, key, value, timestamp, headers));
            appended = _appended;
            _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        appended.TrySetResult();
        return first;
    }

    public SourceRecord? At(long offset)
    {
        lock (_gate) return offset >= 0 && offset < _records.Count ? _records[(int)offset] : null;
    }

    /// <summary>Records [from, to), clamped to what the partition holds.</summary>
    public List<SourceRecord> Read(long from, long to)
    {
        lock (_gate)
        {
            var start = (int)Math.Clamp(from, 0, _records.Count);
            var end = (int)Math.Clamp(to, start, _records.Count);
            return _records.GetRange(start, end - start);
        }
    }

    public List<SourceRecord> All()
    {
        lock (_gate) return [.. _records];
    }

    /// <summary>True once the partition holds a record at <paramref name="offset"/>; false when <paramref name="maxWait"/> passed first.</summary>
    public async ValueTask<bool> WaitBeyondAsync(long offset, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + maxWait;
        while (true)
        {
            Task appended;
            lock (_gate)
            {
                if (_records.Count > offset) return true;
                appended = _appended.Task;
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) return false;
            await Task.WhenAny(appended, Task.Delay(left, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    public override string ToString() => $"{Region} {Topic}/{Partition}";
}
