using System.Text.RegularExpressions;
using Azure;
using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Mesh.Core.Backup;

namespace Mesh.Backup;

/// <summary>How hard an Azure store tries before it reports a failure (a backup retries whole segments itself).</summary>
/// <param name="MaxRetries">Retries of one request after the first attempt.</param>
/// <param name="RetryDelay">The first retry's delay; later ones grow exponentially up to four times it.</param>
/// <param name="NetworkTimeout">How long one request may go without progress.</param>
public sealed record AzureBlobStoreOptions(int MaxRetries, TimeSpan RetryDelay, TimeSpan NetworkTimeout)
{
    /// <summary>Short on purpose: an unreachable endpoint fails within seconds rather than the SDK's minutes.</summary>
    public static AzureBlobStoreOptions Default { get; } = new(2, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(20));
}

/// <summary>
/// A backup store in one Azure Blob Storage container (or Azurite). Write-once is the service's own
/// conditional create (If-None-Match: *), so of racing writers exactly one wins. Messages name the
/// endpoint and container, never the connection string or its key.
/// </summary>
public sealed partial class AzureBlobStore : IBackupStore
{
    private readonly BlobContainerClient _container;
    private readonly object _gate = new();
    private Task? _creation;

    public AzureBlobStore(string connectionString, string container, AzureBlobStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        CheckContainerName(container);
        options ??= AzureBlobStoreOptions.Default;
        var clientOptions = new BlobClientOptions();
        clientOptions.Retry.MaxRetries = options.MaxRetries;
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.Delay = options.RetryDelay;
        clientOptions.Retry.MaxDelay = options.RetryDelay * 4;
        clientOptions.Retry.NetworkTimeout = options.NetworkTimeout;
        try
        {
            _container = new BlobContainerClient(connectionString, container, clientOptions);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            // The SDK's own message may quote the string; ours does not.
            throw new ArgumentException(
                "the Azure Storage connection string is not valid (expected e.g. \"DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;EndpointSuffix=core.windows.net\" or \"UseDevelopmentStorage=true\")");
        }
        Container = container;
        Endpoint = _container.Uri.GetLeftPart(UriPartial.Path);
    }

    public string Container { get; }

    /// <summary>The container's URL without any query (a SAS token never shows).</summary>
    public string Endpoint { get; }

    public string Description => $"Azure container {Container} at {Endpoint}";

    public async Task<bool> TryCreateAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        CheckName(name);
        await EnsureContainerAsync(cancellationToken);
        try
        {
            await _container.GetBlobClient(name).UploadAsync(
                BinaryData.FromBytes(content),
                new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } },
                cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 412 || (e.Status == 409 && e.ErrorCode == BlobErrorCode.BlobAlreadyExists))
        {
            return false;
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            throw Failure($"cannot write {name}", e);
        }
    }

    public async Task<byte[]?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        CheckName(name);
        try
        {
            var result = await _container.GetBlobClient(name).DownloadContentAsync(cancellationToken);
            return result.Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return null;
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            throw Failure($"cannot read {name}", e);
        }
    }

    public async Task<IReadOnlyList<StoredObject>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var found = new List<StoredObject>();
        try
        {
            await foreach (var blob in _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix.Length == 0 ? null : prefix, cancellationToken))
                found.Add(new StoredObject(blob.Name, blob.Properties.ContentLength ?? 0));
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            throw Failure($"cannot list {(prefix.Length == 0 ? "its blobs" : prefix)}", e);
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return found;
    }

    public async Task DeleteAsync(string name, CancellationToken cancellationToken)
    {
        CheckName(name);
        try
        {
            await _container.GetBlobClient(name).DeleteIfExistsAsync(cancellationToken: cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            throw Failure($"cannot delete {name}", e);
        }
    }

    public override string ToString() => Description;

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        Task creation;
        lock (_gate) creation = _creation ??= CreateContainerAsync();
        try
        {
            await creation.WaitAsync(cancellationToken);
        }
        catch (BackupStoreException)
        {
            // Not remembered as failed: the next write tries again (the endpoint may come back).
            lock (_gate)
                if (_creation == creation) _creation = null;
            throw;
        }
    }

    private async Task CreateContainerAsync()
    {
        try
        {
            await _container.CreateIfNotExistsAsync();
        }
        catch (Exception e) when (IsFailure(e, CancellationToken.None))
        {
            throw Failure("cannot create the container", e);
        }
    }

    private static bool IsFailure(Exception e, CancellationToken cancellationToken) =>
        !(e is OperationCanceledException && cancellationToken.IsCancellationRequested) && e is not ArgumentException;

    private BackupStoreException Failure(string what, Exception e) => new($"{Description}: {what}: {Reason(e)}", e);

    /// <summary>What went wrong in one line: the service's status and error code, or the network's complaint.</summary>
    private static string Reason(Exception e)
    {
        switch (e)
        {
            case RequestFailedException { Status: 403 } r:
                return $"HTTP 403 {r.ErrorCode}: the account key or token was refused (check the connection string's account name and key)";
            case RequestFailedException { Status: 404, ErrorCode: "ContainerNotFound" }:
                return "the container does not exist (nothing has been backed up there yet, or the name is wrong)";
            case RequestFailedException { Status: > 0 } r:
                return $"HTTP {r.Status} {r.ErrorCode}: {FirstLine(r.Message)}";
            case AggregateException aggregate:
                return string.Join("; ", aggregate.Flatten().InnerExceptions.Select(Reason).Distinct()) is { Length: > 0 } joined
                    ? $"{joined} (after {aggregate.Flatten().InnerExceptions.Count} attempts)"
                    : FirstLine(aggregate.Message);
            case OperationCanceledException:
                return "no answer in time (is the endpoint reachable?)";
            default:
                var inner = e;
                while (inner.InnerException is not null) inner = inner.InnerException;
                return inner == e ? FirstLine(e.Message) : $"{FirstLine(e.Message)} ({FirstLine(inner.Message)})";
        }
    }

    private static string FirstLine(string text)
    {
        var newline = text.IndexOfAny(['\r', '\n']);
        return (newline < 0 ? text : text[..newline]).Trim();
    }

    private static void CheckName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name.Length > 1024 || name.StartsWith('/') || name.Contains("//", StringComparison.Ordinal) || name.Contains('\\'))
            throw new ArgumentException($"\"{name}\" is not an object name: use relative '/'-separated names of at most 1024 characters", nameof(name));
    }

    private static void CheckContainerName(string container)
    {
        if (container is null || !ContainerName().IsMatch(container) || container.Contains("--", StringComparison.Ordinal))
            throw new ArgumentException(
                $"\"{container}\" is not an Azure container name: 3 to 63 characters, lower-case letters, digits and single hyphens, starting and ending with a letter or digit");
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex ContainerName();
}
