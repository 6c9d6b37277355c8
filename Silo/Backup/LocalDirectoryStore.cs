using System.Runtime.InteropServices;
using Mesh.Core.Backup;

namespace Mesh.Backup;

/// <summary>
/// A backup store in a local (or mounted) directory: one file per object, '/' in a name is a folder.
/// An object appears whole or not at all: it is written to a temporary file beside it, flushed to
/// disk, then given its name with link(2), which fails if the name exists, so of racing writers exactly
/// one wins and no reader ever sees half a file. (.NET's File.Move without overwrite looks for the name and
/// then renames, which replaces: two racing writers both won, once in a suite run.)
/// </summary>
public sealed class LocalDirectoryStore : IBackupStore
{
    // Temporary files start with this and end with TempSuffix; listings skip them.
    private const string TempPrefix = ".tmp-";
    private const int EEXIST = 17;

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(string existing, string name);

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open(string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int FSync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);

    // O_RDONLY opens a folder on Linux; O_DIRECTORY's value differs between architectures, and it is not needed here.
    private const int ORdOnly = 0;

    private const string TempSuffix = ".partial";

    public LocalDirectoryStore(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    public string Description => $"directory {Root}";

    public async Task<bool> TryCreateAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var path = PathOf(name);
        if (File.Exists(path)) return false;
        var folder = Path.GetDirectoryName(path)!;
        var temp = Path.Combine(folder, $"{TempPrefix}{Path.GetFileName(path)}.{Guid.NewGuid():N}{TempSuffix}");
        try
        {
            var created = NewFolders(folder);
            Directory.CreateDirectory(folder);
            await using (var file = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                Options = FileOptions.Asynchronous,
                PreallocationSize = content.Length,
            }))
            {
                await file.WriteAsync(content, cancellationToken);
                // On disk before it gets its name: after a power cut the name never points at a partial file.
                file.Flush(flushToDisk: true);
            }
            if (!OperatingSystem.IsWindows())
            {
                if (Link(temp, path) == 0)
                {
                    // The name is on disk too, and so are the folders just made: a manifest entry is a commit and must
                    // not vanish in a power cut after its writer went on. (The temporary name goes in the finally.)
                    SyncFolder(folder);
                    foreach (var made in created) SyncFolder(Path.GetDirectoryName(made)!);
                    return true;
                }
                if (Marshal.GetLastPInvokeError() == EEXIST) return false;
                // A file system without hard links: the move below, which cannot tell a racing writer apart.
            }
            try
            {
                // Windows: MoveFileEx without replace, which fails if the name exists.
                File.Move(temp, path, overwrite: false);
                return true;
            }
            catch (IOException) when (File.Exists(path))
            {
                return false;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure($"cannot write {name}", e);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    // The folders CreateDirectory is about to make, deepest first, up to the root.
    private List<string> NewFolders(string folder)
    {
        var made = new List<string>();
        for (var current = folder; current.Length > Root.Length && !Directory.Exists(current); current = Path.GetDirectoryName(current)!)
            made.Add(current);
        return made;
    }

    private void SyncFolder(string folder)
    {
        var fd = Open(folder, ORdOnly);
        if (fd < 0) throw new IOException($"cannot open folder {folder} to flush it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (FSync(fd) != 0) throw new IOException($"cannot flush folder {folder} to disk (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            Close(fd);
        }
    }

    public async Task<byte[]?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        var path = PathOf(name);
        try
        {
            return await File.ReadAllBytesAsync(path, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            EnsureRootExists();
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure($"cannot read {name}", e);
        }
    }

    public Task<IReadOnlyList<StoredObject>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        EnsureRootExists();
        // Walk only the deepest folder the prefix names in full, then filter by the rest of it.
        var slash = prefix.LastIndexOf('/');
        var folder = slash < 0 ? Root : PathOf(prefix[..slash], allowEmpty: true);
        var found = new List<StoredObject>();
        try
        {
            if (Directory.Exists(folder))
            {
                var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = 0 };
                foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*", options))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (file.Name.StartsWith(TempPrefix, StringComparison.Ordinal) && file.Name.EndsWith(TempSuffix, StringComparison.Ordinal)) continue;
                    var name = Path.GetRelativePath(Root, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
                    if (name.StartsWith(prefix, StringComparison.Ordinal)) found.Add(new StoredObject(name, file.Length));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure($"cannot list {prefix}", e);
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return Task.FromResult<IReadOnlyList<StoredObject>>(found);
    }

    public Task DeleteAsync(string name, CancellationToken cancellationToken)
    {
        var path = PathOf(name);
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure($"cannot delete {name}", e);
        }
        return Task.CompletedTask;
    }

    public override string ToString() => Description;

    private void EnsureRootExists()
    {
        if (Directory.Exists(Root)) return;
        var what = File.Exists(Root) ? "is a file, not a directory" : "does not exist";
        throw new BackupStoreException($"backup directory {Root} {what}: check the store path (nothing has been backed up there yet, or it is not mounted)");
    }

    private BackupStoreException Failure(string what, Exception e) =>
        new($"backup directory {Root}: {what}: {e.Message}", e);

    /// <summary>The file of an object; names are relative, '/' separated, with no empty, "." or ".." part (they could leave the root).</summary>
    private string PathOf(string name, bool allowEmpty = false)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 && allowEmpty) return Root;
        var parts = name.Split('/');
        if (name.Length == 0 || name.Contains('\\') || name.Contains('\0')
            || parts.Any(p => p.Length == 0 || p == "." || p == ".." || (p.StartsWith(TempPrefix, StringComparison.Ordinal) && p.EndsWith(TempSuffix, StringComparison.Ordinal))))
            throw new ArgumentException($"\"{name}\" is not an object name: use relative '/'-separated names without empty, \".\" or \"..\" parts", nameof(name));
        return Path.Combine([Root, .. parts]);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A temporary file left behind is skipped by listings; nothing depends on it.
        }
    }
}
