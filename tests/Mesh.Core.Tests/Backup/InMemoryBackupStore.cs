using System.Collections.Concurrent;
using Mesh.Core.Backup;

namespace Mesh.Core.Tests.Backup;

/// <summary>
/// A backup store in memory for tests: the same create-if-absent contract as the real stores, with a
/// hook that runs before every operation (to interleave writers, or to fail or "crash" one) and
/// helpers to damage objects.
/// </summary>
public sealed class InMemoryBackupStore : IBackupStore
{
    private readonly ConcurrentDictionary<string, byte[]> _objects = new(StringComparer.Ordinal);

    public InMemoryBackupStore(string description = "in-memory store") => Description = description;

    public string Description { get; }

    /// <summary>Runs before each operation with its kind ("create", "read", "list", "delete") and the name or prefix; may delay or throw.</summary>
    public Func<string, string, Task>? BeforeOperation { get; set; }

    /// <summary>The names of every object, in ordinal order.</summary>
    public IReadOnlyList<string> Names => [.. _objects.Keys.Order(StringComparer.Ordinal)];

    public int Count => _objects.Count;

    public async Task<bool> TryCreateAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        await Before("create", name, cancellationToken);
        return _objects.TryAdd(name, content.ToArray());
    }

    public async Task<byte[]?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        await Before("read", name, cancellationToken);
        return _objects.TryGetValue(name, out var bytes) ? (byte[])bytes.Clone() : null;
    }

    public async Task<IReadOnlyList<StoredObject>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        await Before("list", prefix, cancellationToken);
        return [.. _objects
            .Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .Select(kv => new StoredObject(kv.Key, kv.Value.Length))
            .OrderBy(o => o.Name, StringComparer.Ordinal)];
    }

    public async Task DeleteAsync(string name, CancellationToken cancellationToken)
    {
        await Before("delete", name, cancellationToken);
        _objects.TryRemove(name, out _);
    }

    /// <summary>The object's bytes as stored (no hook), or null.</summary>
    public byte[]? Peek(string name) => _objects.TryGetValue(name, out var bytes) ? bytes : null;

    /// <summary>Replaces an object's bytes behind the contract's back (to test damage detection).</summary>
    public void Overwrite(string name, byte[] bytes)
    {
        if (!_objects.ContainsKey(name)) throw new KeyNotFoundException($"{Description} has no object {name}");
        _objects[name] = bytes;
    }

    /// <summary>Flips the bits of one byte of an object.</summary>
    public void FlipByte(string name, int index)
    {
        var bytes = (byte[])(Peek(name) ?? throw new KeyNotFoundException($"{Description} has no object {name}")).Clone();
        bytes[index] ^= 0xff;
        _objects[name] = bytes;
    }

    /// <summary>Removes an object without the hook (to test a missing segment).</summary>
    public void Remove(string name) => _objects.TryRemove(name, out _);

    private Task Before(string operation, string name, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return BeforeOperation?.Invoke(operation, name) ?? Task.CompletedTask;
    }
}
