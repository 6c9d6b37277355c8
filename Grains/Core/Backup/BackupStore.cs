namespace Mesh.Core.Backup;

/// <summary>An object in a backup store: its name (a path under the store's root, '/' separated) and size.</summary>
public readonly record struct StoredObject(string Name, long Size);

/// <summary>
/// Where a backup lives: a local directory or an object store. Objects are written once and never
/// changed: <see cref="TryCreateAsync"/> either creates a complete object or changes nothing, and
/// tells a writer that lost a race (the object exists) from a store that failed (an exception).
/// </summary>
public interface IBackupStore
{
    /// <summary>What and where the store is, for messages ("directory /var/backup", "Azure container mesh at http://...").</summary>
    string Description { get; }

    /// <summary>Creates <paramref name="name"/> with <paramref name="content"/>; false when it already exists (nothing written).</summary>
    Task<bool> TryCreateAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>The object's bytes; null when it does not exist.</summary>
    Task<byte[]?> ReadAsync(string name, CancellationToken cancellationToken);

    /// <summary>Every object whose name starts with <paramref name="prefix"/>, ordered by name (ordinal).</summary>
    Task<IReadOnlyList<StoredObject>> ListAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Removes the object; nothing when it does not exist.</summary>
    Task DeleteAsync(string name, CancellationToken cancellationToken);
}

/// <summary>A store that cannot be reached, read or written: the message names the store and what failed.</summary>
public sealed class BackupStoreException(string message, Exception? inner = null) : Exception(message, inner);
