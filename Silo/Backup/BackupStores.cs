using System.Text.RegularExpressions;
using Mesh.Core.Backup;

namespace Mesh.Backup;

/// <summary>Opens the store a topology or a command line names.</summary>
public static partial class BackupStores
{
    /// <summary>The environment variable that holds the Azure Storage connection string unless the spec names another.</summary>
    public const string DefaultAzureConnectionVariable = "MESH_BACKUP_AZURE_CONNECTION";

    private const string Forms =
        "a directory path (\"/var/backups/mesh\" or \"backups/mesh\"), \"file:///var/backups/mesh\", or \"azure://CONTAINER\" " +
        $"(connection string in {DefaultAzureConnectionVariable}, or \"azure://CONTAINER?connection-env=NAME\" to read it from NAME)";

    /// <summary>
    /// <paramref name="spec"/> is a directory path (absolute, or relative to <paramref name="baseDirectory"/>),
    /// <c>file:///path</c>, or <c>azure://{container}</c> with the connection string in the environment variable
    /// <c>MESH_BACKUP_AZURE_CONNECTION</c> (or <c>azure://{container}?connection-env=NAME</c>).
    /// Bad specs throw <see cref="ArgumentException"/> saying what is wrong and how to write it.
    /// </summary>
    public static IBackupStore Open(string spec, string? baseDirectory = null) => Open(spec, baseDirectory, null);

    /// <summary>As <see cref="Open(string, string?)"/>, with the Azure store's retry and timeout options.</summary>
    public static IBackupStore Open(string spec, string? baseDirectory, AzureBlobStoreOptions? azureOptions)
    {
        if (string.IsNullOrWhiteSpace(spec))
            throw new ArgumentException($"no backup store given: write {Forms}", nameof(spec));
        spec = spec.Trim();
        var scheme = Scheme().Match(spec);
        if (!scheme.Success) return new LocalDirectoryStore(Path.GetFullPath(spec, baseDirectory ?? Environment.CurrentDirectory));

        switch (scheme.Groups[1].Value.ToLowerInvariant())
        {
            case "file":
                if (!Uri.TryCreate(spec, UriKind.Absolute, out var uri) || !uri.IsFile || !string.IsNullOrEmpty(uri.Host) || uri.Query.Length > 0)
                    throw new ArgumentException($"backup store \"{spec}\" is not a local file URI: write \"file:///absolute/path\" (three slashes) or just the path", nameof(spec));
                return new LocalDirectoryStore(uri.LocalPath);
            case "azure":
                return OpenAzure(spec, azureOptions);
            default:
                throw new ArgumentException($"backup store \"{spec}\": unknown scheme \"{scheme.Groups[1].Value}://\"; write {Forms}", nameof(spec));
        }
    }

    private static AzureBlobStore OpenAzure(string spec, AzureBlobStoreOptions? options)
    {
        var rest = spec["azure://".Length..];
        var question = rest.IndexOf('?');
        var container = question < 0 ? rest : rest[..question];
        var query = question < 0 ? "" : rest[(question + 1)..];
        container = container.TrimEnd('/');
        if (container.Length == 0 || container.Contains('/'))
            throw new ArgumentException($"backup store \"{spec}\" names no container: write \"azure://CONTAINER\" (one container name, no path)", nameof(spec));

        var variable = DefaultAzureConnectionVariable;
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var (key, value) = eq < 0 ? (pair, "") : (pair[..eq], Uri.UnescapeDataString(pair[(eq + 1)..]));
            if (key != "connection-env")
                throw new ArgumentException($"backup store \"{spec}\": unknown option \"{key}\"; the only option is ?connection-env=NAME (the environment variable with the connection string)", nameof(spec));
            if (!EnvironmentName().IsMatch(value))
                throw new ArgumentException($"backup store \"{spec}\": connection-env needs an environment variable name (letters, digits, '_'), got \"{value}\"", nameof(spec));
            variable = value;
        }

        var connection = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(connection))
            throw new ArgumentException(
                $"backup store \"{spec}\": the environment variable {variable} holds no Azure Storage connection string: set it (or name another variable with ?connection-env=NAME)",
                nameof(spec));
        try
        {
            return new AzureBlobStore(connection, container, options);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"backup store \"{spec}\" (connection string from {variable}): {e.Message}", nameof(spec));
        }
    }

    [GeneratedRegex("^([A-Za-z][A-Za-z0-9+.-]+)://")]
    private static partial Regex Scheme();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvironmentName();
}
