using Mesh.Core.Backup.Restore;

namespace Mesh.Core.Tests.Backup.Restore;

public sealed class RestoreInputTests
{
    [Theory]
    [InlineData("1764770400000", 1764770400000)]
    [InlineData("2025-12-03T14:00:00Z", 1764770400000)]
    [InlineData("2025-12-03T15:00:00+01:00", 1764770400000)]
    [InlineData("2025-12-03T14:00:00.250Z", 1764770400250)]
    [InlineData(" 2025-12-03T09:00:00-05:00 ", 1764770400000)]
    [InlineData("0", 0)]
    public void Moments_parse(string text, long expected)
    {
        Assert.True(RestoreInput.TryParseMoment(text, out var ms, out var reason), reason);
        Assert.Equal(expected, ms);
    }

    [Theory]
    [InlineData("", "no time given")]
    [InlineData("2025-12-03T14:00:00", "has no zone")]
    [InlineData("yesterday", "has no zone")]
    [InlineData("2025-13-03T14:00:00Z", "is not an ISO-8601 time")]
    [InlineData("99999999999999999999", "too large")]
    public void Bad_moments_say_why(string text, string expected)
    {
        Assert.False(RestoreInput.TryParseMoment(text, out _, out var reason));
        Assert.Contains(expected, reason);
    }

    [Theory]
    [InlineData("7d", 7 * 24 * 3600)]
    [InlineData("12h", 12 * 3600)]
    [InlineData("30m", 30 * 60)]
    [InlineData("45s", 45)]
    [InlineData("1d12h", 36 * 3600)]
    [InlineData("2H", 7200)]
    public void Durations_parse(string text, int seconds)
    {
        Assert.True(RestoreInput.TryParseDuration(text, out var duration, out var reason), reason);
        Assert.Equal(TimeSpan.FromSeconds(seconds), duration);
    }

    [Theory]
    [InlineData("7")]
    [InlineData("d")]
    [InlineData("7w")]
    [InlineData("-1d")]
    [InlineData("0m")]
    [InlineData("")]
    public void Bad_durations_say_how_to_write_one(string text)
    {
        Assert.False(RestoreInput.TryParseDuration(text, out _, out var reason));
        Assert.Matches("not a (positive )?duration", reason);
    }

    [Fact]
    public void Format_is_iso_utc_with_milliseconds() => Assert.Equal("2025-12-03T14:00:00.250Z", RestoreInput.Format(1764770400250));
}
