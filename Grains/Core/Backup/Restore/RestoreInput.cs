using System.Globalization;
using System.Text.RegularExpressions;

namespace Mesh.Core.Backup.Restore;

/// <summary>How an operator writes a moment and a duration on the command line.</summary>
public static partial class RestoreInput
{
    /// <summary>
    /// A moment: epoch milliseconds (digits only), or ISO-8601 with <c>Z</c> or an offset
    /// (<c>2026-12-03T14:00:00Z</c>, <c>2026-12-03T15:00:00+01:00</c>). A time without a zone is refused:
    /// whose clock it means is a guess.
    /// </summary>
    public static bool TryParseMoment(string? text, out long epochMs, out string reason)
    {
        epochMs = 0;
        reason = "";
        var value = text?.Trim();
        if (string.IsNullOrEmpty(value))
        {
            reason = "no time given; write it as ISO-8601 with a zone (2026-12-03T14:00:00Z) or as epoch milliseconds";
            return false;
        }
        if (value.All(char.IsAsciiDigit))
        {
            if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out epochMs))
            {
                reason = $"'{value}' is too large for epoch milliseconds";
                return false;
            }
            return true;
        }
        if (!ZoneSuffix().IsMatch(value))
        {
            reason = $"'{value}' has no zone: add Z for UTC or an offset such as +01:00 (or give epoch milliseconds)";
            return false;
        }
        if (!DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var moment))
        {
            reason = $"'{value}' is not an ISO-8601 time; write it as 2026-12-03T14:00:00Z, 2026-12-03T15:00:00.250+01:00, or epoch milliseconds";
            return false;
        }
        epochMs = moment.ToUnixTimeMilliseconds();
        return true;
    }

    /// <summary>A duration such as <c>7d</c>, <c>12h</c>, <c>30m</c>, <c>45s</c>, or combined: <c>1d12h</c>. Must be positive.</summary>
    public static bool TryParseDuration(string? text, out TimeSpan duration, out string reason)
    {
        duration = TimeSpan.Zero;
        reason = "";
        var value = text?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(value) || !WholeDuration().IsMatch(value))
        {
            reason = $"'{text}' is not a duration; write a number with a unit d, h, m or s, e.g. 7d, 12h, 30m or 1d12h";
            return false;
        }
        foreach (Match part in DurationPart().Matches(value))
        {
            if (!long.TryParse(part.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount > 1_000_000)
            {
                reason = $"'{part.Value}' in '{text}' is too large";
                return false;
            }
            duration += part.Groups[2].Value switch
            {
                "d" => TimeSpan.FromDays(amount),
                "h" => TimeSpan.FromHours(amount),
                "m" => TimeSpan.FromMinutes(amount),
                _ => TimeSpan.FromSeconds(amount),
            };
        }
        if (duration <= TimeSpan.Zero)
        {
            reason = $"'{text}' is not a positive duration";
            return false;
        }
        return true;
    }

    /// <summary>A moment for messages: ISO-8601 UTC with milliseconds.</summary>
    public static string Format(long epochMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(epochMs).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"(Z|z|[+-]\d{2}(:?\d{2})?)$")]
    private static partial Regex ZoneSuffix();

    [GeneratedRegex(@"^(\d+[dhms])+$")]
    private static partial Regex WholeDuration();

    [GeneratedRegex(@"(\d+)([dhms])")]
    private static partial Regex DurationPart();
}
