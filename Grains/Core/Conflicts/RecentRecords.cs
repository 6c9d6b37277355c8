using Mesh.Core.Replication;

namespace Mesh.Core.Conflicts;

/// <summary>
/// The records last read from an lww partition, by offset, to copy a repair's winner from without
/// fetching it. A cache only: a winner no longer here is read from the log. Bounded by count and by
/// bytes, oldest out first, so large values cannot make it grow past <see cref="MaxBytes"/>.
/// </summary>
public sealed class RecentRecords(int maxRecords, long maxBytes)
{
    // Object, array and dictionary entry overheads, roughly: what a record costs beyond its bytes.
    private const int Overhead = 128;

    private readonly Dictionary<long, SourceRecord> _records = [];
    private readonly Queue<(long Offset, long Bytes)> _order = new();

    public int MaxRecords { get; } = maxRecords;

    public long MaxBytes { get; } = maxBytes;

    public int Count => _records.Count;

    /// <summary>Estimated heap bytes of the records kept.</summary>
    public long Bytes { get; private set; }

    public void Add(SourceRecord record)
    {
        var bytes = SizeOf(record);
        if (!_records.TryAdd(record.Offset, record)) return;
        _order.Enqueue((record.Offset, bytes));
        Bytes += bytes;
        while (_order.Count > MaxRecords || (Bytes > MaxBytes && _order.Count > 0))
        {
            var (offset, size) = _order.Dequeue();
            _records.Remove(offset);
            Bytes -= size;
        }
    }

    public SourceRecord? Get(long offset) => _records.GetValueOrDefault(offset);

    public void Clear()
    {
        _records.Clear();
        _order.Clear();
        Bytes = 0;
    }

    public static long SizeOf(SourceRecord record)
    {
        long bytes = Overhead + (record.Key?.Length ?? 0) + (record.Value?.Length ?? 0);
        foreach (var header in record.Headers) bytes += 2L * header.Name.Length + (header.Value?.Length ?? 0) + 48;
        return bytes;
    }
}
