using Mesh.Core.Backup;

namespace Mesh.Backup;

/// <summary>Opens the store a topology or a command line names.</summary>
public static class BackupStores
{
    /// <summary>
    /// <paramref name="spec"/> is a directory path (absolute, or relative to <paramref name="baseDirectory"/>),
    /// <c>file:///path</c>, or <c>azure://{container}</c> with the connection string in the environment variable
    /// <c>MESH_BACKUP_AZURE_CONNECTION</c> (or <c>azure://{container}?connection-env=NAME</c>).
    /// Bad specs throw <see cref="ArgumentException"/> saying what is wrong and how to write it.
    /// </summary>
    public static IBackupStore Open(string spec, string? baseDirectory = null) => throw new NotImplementedException();
}
