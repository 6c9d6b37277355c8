using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Core.Backup;

/// <summary>
/// The JSON of a store's small objects (descriptor, manifest entries, config and group snapshots):
/// camelCase, compact, and strict enough on reading that a damaged object is reported, not half-read.
/// </summary>
public static class BackupJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.Strict,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    public static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);

    /// <summary>Reads <paramref name="bytes"/> as <typeparamref name="T"/>; an unreadable object throws <see cref="BackupStoreException"/> naming it.</summary>
    public static T Deserialize<T>(ReadOnlySpan<byte> bytes, string name, string storeDescription)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(bytes, Options)
                ?? throw new JsonException("the object is JSON null");
        }
        catch (JsonException e)
        {
            throw new BackupStoreException($"{storeDescription}: {name} is not a readable {Describe<T>()} ({e.Message})", e);
        }
    }

    private static string Describe<T>() => typeof(T).Name switch
    {
        nameof(ManifestEntry) => "manifest entry",
        nameof(TopicConfigSnapshot) => "topic configuration snapshot",
        nameof(GroupSnapshot) => "consumer group snapshot",
        nameof(StoreDescriptor) => "store descriptor",
        var other => other,
    };
}
