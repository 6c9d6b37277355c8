using Mesh.Core.Replication;

namespace Mesh.Grains.Tests.InMemory;

/// <summary>
/// Every region's Kafka as the grains' ports see it: per region, topics of partitions, each a list of
/// records whose offsets are their indexes. Nothing expires, so a source gap never happens here;
/// records are lost only when a test says so (<see cref="ReplaceCluster"/>, <see cref="LoseRecords"/>).
/// Thread-safe; readers wait on <see cref="PartitionLog.WaitBeyondAsync"/>.
/// </summary>
public sealed partial class InMemoryKafka
{
    private readonly Dictionary<string, Dictionary<string, PartitionLog[]>> _regions = new(StringComparer.Ordinal);
    // How many times each region's Kafka was replaced: its cluster id is "in-memory-{region}", then "in-memory-{region}#n".
    private readonly Dictionary<string, int> _replacements = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>A region's incarnation as its cluster id makes it: the same until its Kafka is replaced.</summary>
    public string Incarnation(string region)
    {
        lock (_gate) return Incarnations.FromClusterId(ClusterId(region));
    }

    /// <summary>
    /// The region's Kafka replaced by a new, empty cluster (its disks lost, say): a new cluster id, so a
    /// new incarnation, and every topic there again with its partition count (as the region's
    /// deployment creates them) but no records. Whoever reads or writes the region from now on sees
    /// only the new cluster. Returns the new incarnation.
    /// </summary>
    public string ReplaceCluster(string region)
    {
        List<PartitionLog> retired;
        string incarnation;
        lock (_gate)
        {
            _replacements[region] = _replacements.GetValueOrDefault(region) + 1;
            incarnation = Incarnations.FromClusterId(ClusterId(region));
            var topics = TopicsOf(region);
            retired = [.. topics.Values.SelectMany(p => p)];
            foreach (var (topic, partitions) in topics.ToList())
                topics[topic] = [.. Enumerable.Range(0, partitions.Length).Select(p => new PartitionLog(region, topic, p))];
        }
        foreach (var log in retired) log.Retire();
        return incarnation;
    }

    /// <summary>
    /// The partition keeps only its first <paramref name="keep"/> records, as after an unclean leader
    /// election: the same cluster (incarnation), a log that ends earlier than it did.
    /// </summary>
    public void LoseRecords(string region, string topic, int partition, long keep) => Get(region, topic, partition).TruncateTo(keep);

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

    private string ClusterId(string region) =>
        _replacements.TryGetValue(region, out var replaced) ? $"in-memory-{region}#{replaced}" : $"in-memory-{region}";

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

    /// <summary>False once its cluster was replaced: it takes no more records and wakes whoever waits on it.</summary>
    public bool Live
    {
        get { lock (_gate) return !_retired; }
    }

    private bool _retired;

    internal void Retire()
    {
        TaskCompletionSource appended;
        lock (_gate)
        {
            _retired = true;
            appended = _appended;
        }
        appended.TrySetResult();
    }

    internal void TruncateTo(long keep)
    {
        lock (_gate)
            if (keep < _records.Count) _records.RemoveRange((int)Math.Max(0, keep), _records.Count - (int)Math.Max(0, keep));
    }

    /// <summary>Appends in order; returns the offset of the first record appended.</summary>
    public long Append(IEnumerable<(byte[]? Key, byte[]? Value, long TimestampMs, IReadOnlyList<RecordHeader> Headers)> records)
    {
        TaskCompletionSource appended;
        long first;
        lock (_gate)
        {
            if (_retired) throw new InvalidOperationException($"{this}: the cluster holding it was replaced");
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
                if (_retired) return false;
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
