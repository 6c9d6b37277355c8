using Mesh.Client.Local;
using Mesh.Backup;
using Mesh.Core.Backup;

namespace Mesh.Client.Backup;

/// <summary>Opening a store and its catalog for the backup verbs, with the exit codes of docs/backup.md.</summary>
public static class BackupCommandStore
{
    /// <exception cref="MeshCommandException">2: the spec is not a store.</exception>
    public static IBackupStore Open(string spec)
    {
        try
        {
            return BackupStores.Open(spec, Environment.CurrentDirectory);
        }
        catch (ArgumentException e)
        {
            throw new MeshCommandException($"--store: {e.Message}", 2);
        }
        catch (BackupStoreException e)
        {
            throw new MeshCommandException($"--store: {e.Message}", 3);
        }
    }

    /// <exception cref="MeshCommandException">3: the store cannot be read; 2: it is not a backup.</exception>
    public static async Task<BackupCatalog> LoadAsync(IBackupStore store, string? topic, CancellationToken cancellationToken)
    {
        BackupCatalog catalog;
        try
        {
            catalog = await BackupCatalog.LoadAsync(store, topic, cancellationToken);
        }
        catch (BackupStoreException e)
        {
            throw new MeshCommandException($"Cannot read the backup: {e.Message}", 3);
        }
        catch (SegmentCorruptException e)
        {
            throw new MeshCommandException($"The backup's catalog is corrupt: {e.Message}{(e.Name is null ? "" : $" ({e.Name})")}", 5);
        }
        if (catalog.Descriptor is null && catalog.Topics.Count == 0)
            throw new MeshCommandException($"{store.Description} holds no backup (no {BackupLayout.DescriptorName}): check --store.", 2);
        return catalog;
    }

    /// <summary>The store's encryption key when its descriptor names one; null for a store in clear.</summary>
    /// <exception cref="MeshCommandException">2: the store is encrypted and no key, or another key, is given.</exception>
    public static SegmentKey? SegmentKey(BackupCatalog catalog, string? keyEnv, string option, bool required = true)
    {
        if (keyEnv is null)
        {
            if (catalog.Descriptor?.EncryptionKeyId is { } id && required)
                throw new MeshCommandException($"The backup is encrypted (key {id}): give the environment variable holding its key with {option} NAME.", 2);
            return null;
        }
        Mesh.Core.Backup.SegmentKey key;
        try
        {
            key = Mesh.Core.Backup.SegmentKey.FromEnvironment(keyEnv);
        }
        catch (ArgumentException e)
        {
            throw new MeshCommandException($"{option} {keyEnv}: {e.Message}", 2);
        }
        if (catalog.Descriptor?.EncryptionKeyId is { } expected && expected != key.Id)
            throw new MeshCommandException($"{option} {keyEnv} holds key {key.Id}, but the backup is encrypted with key {expected}: the wrong key.", 2);
        return key;
    }
}
