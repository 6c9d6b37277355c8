namespace Mesh.Core.Replication;

/// <summary>
/// Region ids travel inside provenance headers and checkpoint keys, so they are restricted to a
/// small alphabet that never collides with the separators those encodings use. Upper-case letters
/// are allowed so that a MirrorMaker 2 cluster alias (Apache Kafka's sample names its clusters
/// <c>A</c> and <c>B</c>) is a region id as it is, and prefix-named remote topics keep MM2's names.
/// </summary>
public static class RegionIds
{
    public const int MaxLength = 64;

    public static bool IsValid(string? id, out string reason)
    {
        if (string.IsNullOrEmpty(id)) { reason = "a region id must not be empty"; return false; }
        if (id.Length > MaxLength) { reason = $"a region id is at most {MaxLength} characters, '{id}' has {id.Length}"; return false; }
        foreach (var c in id)
        {
            var ok = c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '-' or '_' or '.';
            if (!ok)
            {
                reason = $"region id '{id}' contains '{c}'; use letters, digits, '-', '_' or '.'";
                return false;
            }
        }
        reason = "";
        return true;
    }

    public static bool IsValid(string? id) => IsValid(id, out _);
}
