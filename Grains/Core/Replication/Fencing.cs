using System.Globalization;

namespace Mesh.Core.Replication;

/// <summary>
/// One writer per partition replicator. An activation appends a claim to the region's checkpoint
/// topic; the offset the claim gets is its <see cref="Claim.Epoch"/>, so two claimants never tie and
/// the later one wins without a read-modify-write. Before each write an activation asks its silo's
/// tail of that topic who holds the latest claim, and writes only while that is itself and the tail
/// was up to date a moment ago (<see cref="FencingWindows.Freshness"/>). A claimant whose predecessor
/// did not release its claim waits <see cref="FencingWindows.Grace"/> before it reads the destination
/// back: by then every write the predecessor let through has landed or failed. docs/architecture.md
/// ("Fencing: one writer per partition") has the argument.
/// </summary>
public static class Fencing
{
    private const string ClaimPrefix = "claim|";
    private const string ReleasePrefix = "release|";
    private const string FormatVersion = "1";

    /// <summary>The checkpoint topic key of <paramref name="replicatorKey"/>'s claims; never a replicator key itself (those start with a region).</summary>
    public static string ClaimKey(string replicatorKey) => ClaimPrefix + replicatorKey;

    /// <summary>The key of its releases: apart from the claims, so compaction keeps the latest of each.</summary>
    public static string ReleaseKey(string replicatorKey) => ReleasePrefix + replicatorKey;

    /// <summary>True for the keys of claims and releases, which are not checkpoints.</summary>
    public static bool IsFencingKey(string recordKey) =>
        recordKey.StartsWith(ClaimPrefix, StringComparison.Ordinal) || recordKey.StartsWith(ReleasePrefix, StringComparison.Ordinal);

    /// <summary>A claim's value: who claims (silo and activation), and when by its clock, for people reading the topic.</summary>
    public static string EncodeClaim(string holder, long unixMs) =>
        string.Join('|', FormatVersion, Escape(holder), unixMs.ToString(CultureInfo.InvariantCulture));

    /// <summary>A release's value: the epoch it ends and who ends it.</summary>
    public static string EncodeRelease(long epoch, string holder) =>
        string.Join('|', FormatVersion, epoch.ToString(CultureInfo.InvariantCulture), Escape(holder));

    /// <summary>The write a check allows, or why not.</summary>
    public static WriteVerdict MayWrite(long epoch, Claim? latest, TimeSpan tailAge, FencingWindows windows)
    {
        // Only the claim the tail saw last counts (not the greatest offset): a region whose Kafka was replaced
        // numbers its claims from 0 again, and a claim there is still newer than one in the lost log.
        if (latest is not null && latest.Epoch != epoch) return WriteVerdict.Fenced;
        // Not even its own claim seen yet, or the tail is behind: no answer yet.
        if (latest is null || tailAge > windows.Freshness) return WriteVerdict.Stale;
        return WriteVerdict.Allowed;
    }

    /// <summary>
    /// How long an activation whose claim the tail shows as <paramref name="own"/> waits after the claim was
    /// acknowledged before it reads the destination back: nothing after a first claim or a released one,
    /// <see cref="FencingWindows.Grace"/> after one that may still have writes in flight.
    /// </summary>
    public static TimeSpan WaitBeforeRestore(Claim own, FencingWindows windows) =>
        own.Previous is null || own.PreviousReleased ? TimeSpan.Zero : windows.Grace;

    private static string Escape(string text) => text.Replace('|', '/');

    internal static bool TryParseRelease(string value, out long epoch, out string holder)
    {
        var parts = value.Split('|');
        holder = parts.Length > 2 ? parts[2] : "";
        epoch = -1;
        return parts.Length >= 2 && parts[0] == FormatVersion && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out epoch);
    }

    internal static string HolderOfClaim(string value)
    {
        var parts = value.Split('|');
        return parts.Length >= 2 ? parts[1] : value;
    }

    internal static bool TryStrip(string recordKey, string prefix, out string replicatorKey)
    {
        replicatorKey = recordKey.StartsWith(prefix, StringComparison.Ordinal) ? recordKey[prefix.Length..] : "";
        return replicatorKey.Length > 0;
    }

    internal const string ClaimKeyPrefix = ClaimPrefix;
    internal const string ReleaseKeyPrefix = ReleasePrefix;
}

/// <summary>What a check before a write answers.</summary>
public enum WriteVerdict
{
    /// <summary>The latest claim is this activation's and the tail is fresh: the write may go.</summary>
    Allowed,

    /// <summary>The tail is not fresh enough to tell: wait for it, do not write.</summary>
    Stale,

    /// <summary>A newer claim exists: this activation never writes again.</summary>
    Fenced,
}

/// <summary>
/// The time bounds of fencing. <see cref="Freshness"/> (F): how old the tail's last catch-up with the
/// topic's end may be when a write is allowed. <see cref="WriteTimeout"/> (W): the longest a write the
/// check let through can take to land or fail (the producer's message.timeout.ms). <see cref="Margin"/>:
/// for the time between a check and the producer taking the records, and for clocks that run at
/// slightly different rates (only durations are compared, never two machines' clock readings).
/// </summary>
public readonly record struct FencingWindows(TimeSpan Freshness, TimeSpan WriteTimeout, TimeSpan Margin)
{
    /// <summary>F: two seconds. The tail of a healthy cluster catches up every few hundred milliseconds.</summary>
    public static readonly TimeSpan DefaultFreshness = TimeSpan.FromSeconds(2);

    /// <summary>Two seconds: well above the enqueue limit of a write (<see cref="EnqueueLimit"/>) and any clock drift over F + W.</summary>
    public static readonly TimeSpan DefaultMargin = TimeSpan.FromSeconds(2);

    /// <summary>The longest a write may keep handing records to the producer after its check; the rest of the write fails.</summary>
    public static readonly TimeSpan EnqueueLimit = TimeSpan.FromSeconds(1);

    public static FencingWindows For(TimeSpan writeTimeout) => new(DefaultFreshness, writeTimeout, DefaultMargin);

    /// <summary>F + W + margin: after this, every write a predecessor's check let through has landed or failed.</summary>
    public TimeSpan Grace => Freshness + WriteTimeout + Margin;
}

/// <summary>
/// A replicator's latest claim as the checkpoint topic's tail saw it, with what held the key when the
/// claim was appended: <see cref="Previous"/> (null: the first claim ever) and whether that one was released.
/// </summary>
public sealed record Claim(long Epoch, string Holder, long? Previous, bool PreviousReleased, bool Released);

/// <summary>
/// The claims of every replicator, folded from the checkpoint topic in log order (the tail calls
/// <see cref="Apply"/> for each record). Not thread-safe: the tail's lock guards it.
/// </summary>
public sealed class ClaimBook
{
    private readonly Dictionary<string, Claim> _latest = new(StringComparer.Ordinal);

    /// <summary>The latest claim of <paramref name="replicatorKey"/>, or null when it was never claimed.</summary>
    public Claim? Latest(string replicatorKey) => _latest.GetValueOrDefault(replicatorKey);

    /// <summary>
    /// Folds one record of the topic in; false when it is not a claim or release (a checkpoint). A release
    /// counts only for the claim it names, so a late release of an older claim frees nothing.
    /// </summary>
    public bool Apply(string recordKey, long offset, string? value)
    {
        if (Fencing.TryStrip(recordKey, Fencing.ClaimKeyPrefix, out var claimed))
        {
            if (value is null)
            {
                _latest.Remove(claimed); // a tombstone: as if never claimed
                return true;
            }
            var before = _latest.GetValueOrDefault(claimed);
            _latest[claimed] = new Claim(offset, Fencing.HolderOfClaim(value), before?.Epoch, before?.Released ?? true, false);
            return true;
        }
        if (Fencing.TryStrip(recordKey, Fencing.ReleaseKeyPrefix, out var released))
        {
            if (value is not null && Fencing.TryParseRelease(value, out var epoch, out _)
                && _latest.TryGetValue(released, out var claim) && claim.Epoch == epoch)
                _latest[released] = claim with { Released = true };
            return true;
        }
        return false;
    }
}
