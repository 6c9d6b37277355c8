using System.Security.Cryptography;
using System.Text;

namespace Mesh.Core.Replication;

/// <summary>
/// A region's incarnation: a short token derived from its Kafka cluster's id. A region whose Kafka
/// comes back empty is a new cluster, hence a new incarnation, so offsets of its new log never
/// collide with those of the old one in anybody's origin vector.
/// </summary>
public static class Incarnations
{
    public const int MaxLength = 32;

    /// <summary>Eight hex digits of SHA-256 of the cluster id: short enough for every header, distinct across a region's rebirths.</summary>
    public static string FromClusterId(string clusterId)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterId);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(clusterId), hash);
        return Convert.ToHexStringLower(hash[..4]);
    }

    /// <summary>
    /// The origin incarnation a restore into every region gives its records ('a' and 8 hex digits; a cluster's own is
    /// 8 hex digits). The restore writes such records into every region itself, so they are never a region's "own past"
    /// that a peer writes back: a link that did would race the restore and write them twice.
    /// </summary>
    public static bool IsRestoredEverywhere(string incarnation) => IsRestore(incarnation, RestoredEverywhereTag);

    /// <summary>A restore's incarnation, into one region or into every one.</summary>
    public static bool IsRestored(string incarnation) => IsRestore(incarnation, RestoredHereTag) || IsRestore(incarnation, RestoredEverywhereTag);

    /// <summary>The first character of a restore-into-every-region incarnation; a restore into one region uses <see cref="RestoredHereTag"/>.</summary>
    public const char RestoredEverywhereTag = 'a';

    /// <summary>The first character of a restore-into-one-region incarnation.</summary>
    public const char RestoredHereTag = 'r';

    /// <summary>A restore's incarnation: <paramref name="tag"/> and 8 lower-case hex digits (a cluster's own is the 8 digits alone).</summary>
    public static bool IsRestore(string incarnation, char tag) =>
        incarnation.Length == 9 && incarnation[0] == tag && !incarnation.AsSpan(1).ContainsAnyExcept("0123456789abcdef");

    public static bool IsValid(string? incarnation, out string reason)
    {
        if (string.IsNullOrEmpty(incarnation)) { reason = "an incarnation must not be empty"; return false; }
        if (incarnation.Length > MaxLength) { reason = $"an incarnation is at most {MaxLength} characters, '{incarnation}' has {incarnation.Length}"; return false; }
        foreach (var c in incarnation)
        {
            if (c is not (>= 'a' and <= 'z' or >= '0' and <= '9'))
            {
                reason = $"incarnation '{incarnation}' contains '{c}'; it is lower-case letters and digits";
                return false;
            }
        }
        reason = "";
        return true;
    }
}

/// <summary>Kafka topic names as the provenance header and the checkpoints carry them.</summary>
public static class TopicNames
{
    public const int MaxLength = 249;

    public static bool IsValid(string? topic, out string reason)
    {
        if (string.IsNullOrEmpty(topic)) { reason = "a topic name must not be empty"; return false; }
        if (topic.Length > MaxLength) { reason = $"a topic name is at most {MaxLength} characters"; return false; }
        foreach (var c in topic)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                reason = $"topic name '{topic}' contains '{c}'; Kafka allows a-z, A-Z, 0-9, '.', '_' and '-'";
                return false;
            }
        }
        reason = "";
        return true;
    }
}
