using System.Collections.Concurrent;
using Mesh.Backup;
using Mesh.Core.Backup;
using Mesh.Grains.Backup;

namespace Mesh.Silo.Hosting;

/// <summary>The silo's backup stores, one per spec (a relative directory is taken from the silo's working directory).</summary>
internal sealed class BackupStoreCache : IBackupStores
{
    private readonly ConcurrentDictionary<string, IBackupStore> _stores = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SegmentKey> _keys = new(StringComparer.Ordinal);

    public IBackupStore Open(string spec) => _stores.GetOrAdd(spec, s => BackupStores.Open(s, Environment.CurrentDirectory));

    // Read once: a key that changes under a running backup would make its segments unreadable with either key.
    public SegmentKey? Key(string? variable) => variable is null ? null : _keys.GetOrAdd(variable, SegmentKey.FromEnvironment);
}
