namespace Mesh.Client.Bench;

/// <summary>How the benches round the figures they report.</summary>
internal static class BenchRounding
{
    /// <summary>
    /// A rate per second to three significant figures, not a fixed number of decimals: a tiny or slow run's
    /// megabytes per second (0.018) must not round to zero, and a large run's records per second needs no decimals.
    /// </summary>
    public static double PerSecond(double amount, TimeSpan elapsed) => Significant(amount / Math.Max(elapsed.TotalSeconds, 1e-3), 3);

    public static double Significant(double value, int figures)
    {
        if (value == 0 || !double.IsFinite(value)) return value;
        var decimals = figures - 1 - (int)Math.Floor(Math.Log10(Math.Abs(value)));
        if (decimals >= 0) return Math.Round(value, Math.Min(decimals, 15));
        var unit = Math.Pow(10, -decimals);
        return Math.Round(value / unit) * unit;
    }
}
