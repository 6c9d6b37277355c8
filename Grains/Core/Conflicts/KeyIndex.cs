using System.Runtime.CompilerServices;

namespace Mesh.Core.Conflicts;

/// <summary>
/// The winning version of every key of one partition, and the offset of the record that holds it, kept lean
/// because a repairer holds one entry per key the partition ever saw. Keys are copied into byte chunks (a
/// length prefix, then the bytes); each key has a 40-byte entry (where its bytes are, its hash, the winner's
/// value, origin region as a small index, origin offset, and the winner's offset) in pages of entries; an
/// open-addressing table of entry numbers, linear probing, at most three quarters full, finds them. A lookup
/// compares the whole key, never just its hash. Nothing is ever removed: a key's winner, tombstone or not,
/// decides every later write to it. Not thread-safe.
/// </summary>
public sealed class KeyIndex
{
    private const int PageBits = 12;
    private const int PageSize = 1 << PageBits;
    private const int PageMask = PageSize - 1;
    private const int FirstPageSize = 16;
    private const int ChunkSize = 1 << 20;
    private const int FirstChunkSize = 256;
    private const int FirstSlotCount = 16;
    private const int ArrayOverhead = 24;

    private struct Entry
    {
        public long KeyAt; // chunk number << 32 | position of the key's length prefix in that chunk
        public long Value;
        public long OriginOffset;
        public long WinnerOffset;
        public int Hash;
        public ushort Region;
    }

    // Only the first page grows (doubling to PageSize); later pages are allocated full, so a small partition
    // costs little and a large one never copies its entries.
    private readonly List<Entry[]> _pages = [new Entry[FirstPageSize]];
    private readonly List<byte[]> _chunks = [new byte[FirstChunkSize]];
    private int _chunkUsed;
    // Entry number + 1; 0 marks an empty slot.
    private int[] _slots = new int[FirstSlotCount];
    private readonly List<string> _regions = [];
    private readonly Dictionary<string, ushort> _regionIndexes = new(StringComparer.Ordinal);
    private readonly int _hashMask;

    public KeyIndex() : this(-1)
    {
    }

    /// <summary>For tests: a mask over the hash, so that few distinct hashes make many keys collide.</summary>
    internal KeyIndex(int hashMask) => _hashMask = hashMask;

    public int Count { get; private set; }

    /// <summary>What the index holds on the heap, in bytes: entries, key bytes, the table, region names.</summary>
    public long EstimatedBytes
    {
        get
        {
            long bytes = 64 + ArrayOverhead + (long)_slots.Length * sizeof(int);
            foreach (var page in _pages) bytes += ArrayOverhead + (long)page.Length * Unsafe.SizeOf<Entry>();
            foreach (var chunk in _chunks) bytes += ArrayOverhead + chunk.Length;
            foreach (var region in _regions) bytes += 54 + 2L * region.Length; // the name, its table entry and list slot
            return bytes;
        }
    }

    public bool TryGet(ReadOnlySpan<byte> key, out RecordVersion winner, out long winnerOffset)
    {
        var found = Find(key, Hash(key), out _);
        if (found < 0)
        {
            winner = default;
            winnerOffset = -1;
            return false;
        }
        ref var entry = ref EntryAt(found);
        winner = new RecordVersion(entry.Value, _regions[entry.Region], entry.OriginOffset);
        winnerOffset = entry.WinnerOffset;
        return true;
    }

    /// <summary>Sets the key's winner, whatever it was (the caller decides what wins).</summary>
    public void Set(ReadOnlySpan<byte> key, RecordVersion winner, long winnerOffset)
    {
        ArgumentNullException.ThrowIfNull(winner.OriginRegion, nameof(winner));
        var region = RegionIndex(winner.OriginRegion);
        var hash = Hash(key);
        var found = Find(key, hash, out var slot);
        if (found < 0)
        {
            if ((Count + 1L) * 4 > _slots.Length * 3L)
            {
                Grow();
                Find(key, hash, out slot);
            }
            found = Count;
            ref var added = ref NewEntry();
            added.KeyAt = Store(key);
            added.Hash = hash;
            _slots[slot] = found + 1;
        }
        ref var entry = ref EntryAt(found);
        entry.Value = winner.Value;
        entry.Region = region;
        entry.OriginOffset = winner.OriginOffset;
        entry.WinnerOffset = winnerOffset;
    }

    private int Hash(ReadOnlySpan<byte> key)
    {
        // Seeded per process: keys are the applications' (anyone's) data, and must not be able to aim at one slot.
        var hash = new HashCode();
        hash.AddBytes(key);
        return hash.ToHashCode() & _hashMask;
    }

    /// <summary>The entry number of <paramref name="key"/>, or -1 with <paramref name="slot"/> the empty slot where it would go.</summary>
    private int Find(ReadOnlySpan<byte> key, int hash, out int slot)
    {
        var mask = _slots.Length - 1;
        for (slot = hash & mask; ; slot = (slot + 1) & mask)
        {
            var number = _slots[slot] - 1;
            if (number < 0) return -1;
            ref var entry = ref EntryAt(number);
            if (entry.Hash == hash && KeyOf(entry.KeyAt).SequenceEqual(key)) return number;
        }
    }

    private void Grow()
    {
        var slots = new int[_slots.Length * 2];
        var mask = slots.Length - 1;
        for (var number = 0; number < Count; number++)
        {
            var slot = EntryAt(number).Hash & mask;
            while (slots[slot] != 0) slot = (slot + 1) & mask;
            slots[slot] = number + 1;
        }
        _slots = slots;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Entry EntryAt(int number) => ref _pages[number >> PageBits][number & PageMask];

    private ref Entry NewEntry()
    {
        var number = Count;
        var page = number >> PageBits;
        if (page == _pages.Count) _pages.Add(new Entry[PageSize]);
        else if (page == 0 && number == _pages[0].Length)
        {
            var first = _pages[0];
            Array.Resize(ref first, first.Length * 2);
            _pages[0] = first;
        }
        Count++;
        return ref EntryAt(number);
    }

    private ReadOnlySpan<byte> KeyOf(long keyAt)
    {
        var chunk = _chunks[(int)(keyAt >> 32)];
        var at = (int)keyAt;
        var length = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = chunk[at++];
            length |= (b & 0x7f) << shift;
            if (b < 0x80) break;
        }
        return chunk.AsSpan(at, length);
    }

    /// <summary>Copies a key (length prefix, then its bytes) into the chunks; returns where it is.</summary>
    private long Store(ReadOnlySpan<byte> key)
    {
        var prefix = 1;
        for (var rest = (uint)key.Length >> 7; rest != 0; rest >>= 7) prefix++;
        var needed = prefix + key.Length;
        var current = _chunks[^1];
        if (_chunkUsed + needed > current.Length)
        {
            if (_chunks.Count == 1 && _chunkUsed + needed <= ChunkSize)
            {
                var size = current.Length;
                while (size < _chunkUsed + needed) size *= 2;
                Array.Resize(ref current, Math.Min(size, ChunkSize));
                _chunks[0] = current;
            }
            else
            {
                current = new byte[Math.Max(ChunkSize, needed)];
                _chunks.Add(current);
                _chunkUsed = 0;
            }
        }
        var at = _chunkUsed;
        for (var length = (uint)key.Length; ; length >>= 7)
        {
            if (length < 0x80)
            {
                current[at++] = (byte)length;
                break;
            }
            current[at++] = (byte)(length | 0x80);
        }
        key.CopyTo(current.AsSpan(at));
        var keyAt = ((long)(_chunks.Count - 1) << 32) | (uint)_chunkUsed;
        _chunkUsed = at + key.Length;
        return keyAt;
    }

    private ushort RegionIndex(string region)
    {
        // A mesh has a handful of regions, and callers pass the same few strings: try those first.
        for (var i = 0; i < _regions.Count && i < 8; i++)
        {
            if (ReferenceEquals(_regions[i], region)) return (ushort)i;
        }
        if (_regionIndexes.TryGetValue(region, out var index)) return index;
        if (_regions.Count > ushort.MaxValue) throw new InvalidOperationException($"a key index holds at most {ushort.MaxValue + 1} origin regions");
        index = (ushort)_regions.Count;
        _regions.Add(region);
        _regionIndexes.Add(region, index);
        return index;
    }
}
