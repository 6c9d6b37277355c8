using System.Diagnostics;
using System.Globalization;
using Mesh.Client.Local;

namespace Mesh.Client.Bench;

/// <summary>A process's CPU time so far (user and system, in clock ticks) and its resident memory, read at one moment.</summary>
public readonly record struct ProcessSample(long CpuTicks, long RssKib, TimeSpan At);

/// <summary>
/// What one silo process costs, read from Linux's <c>/proc/&lt;pid&gt;/stat</c> (utime + stime, in clock ticks of
/// <see cref="TicksPerSecond"/>) and <c>/proc/&lt;pid&gt;/status</c> (<c>VmRSS</c>): CPU as a percentage of one core over
/// a span, and resident memory now or at its peak while something runs.
/// </summary>
public sealed class SiloProcessSampler(int pid)
{
    /// <summary>
    /// The unit of <c>/proc/&lt;pid&gt;/stat</c>'s times: USER_HZ, which Linux fixes at 100 for what it shows user space
    /// whatever the kernel's own tick rate.
    /// </summary>
    public const int TicksPerSecond = 100;

    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public int Pid { get; } = pid;

    /// <exception cref="MeshCommandException">The process is gone.</exception>
    public ProcessSample Sample()
    {
        try
        {
            var at = _clock.Elapsed;
            return new ProcessSample(CpuTicksOf(File.ReadAllText($"/proc/{Pid}/stat")), RssKibOf(File.ReadAllText($"/proc/{Pid}/status")), at);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MeshCommandException($"The silo process {Pid} is gone (reading /proc/{Pid}: {e.Message}).");
        }
    }

    /// <summary>CPU over <paramref name="span"/> as a percentage of one core, and resident memory at its end.</summary>
    public async Task<(double CpuPercent, double RssMib)> MeasureAsync(TimeSpan span, CancellationToken cancellationToken)
    {
        var before = Sample();
        await Task.Delay(span, cancellationToken);
        var after = Sample();
        return (CpuPercent(before, after), Mib(after.RssKib));
    }

    /// <summary>
    /// Waits until the process's CPU stops changing: windows of <paramref name="window"/> until one costs within
    /// <see cref="Settled"/> of the one before, or <paramref name="max"/> has passed. Returns how long it waited.
    /// </summary>
    public async Task<TimeSpan> SettleAsync(TimeSpan window, TimeSpan max, CancellationToken cancellationToken)
    {
        var started = _clock.Elapsed;
        var last = Sample();
        double? previous = null;
        while (_clock.Elapsed - started < max)
        {
            await Task.Delay(window, cancellationToken);
            var now = Sample();
            var cpu = CpuPercent(last, now);
            last = now;
            if (previous is { } before && Settled(before, cpu)) break;
            previous = cpu;
        }
        return _clock.Elapsed - started;
    }

    /// <summary>Two windows' CPU (percent of one core) alike: within 2 points, or within a fifth of the larger.</summary>
    public static bool Settled(double previousPercent, double currentPercent) =>
        Math.Abs(previousPercent - currentPercent) <= Math.Max(2, 0.2 * Math.Max(previousPercent, currentPercent));

    /// <summary>Samples every <paramref name="every"/> until <paramref name="until"/> completes: CPU over the whole span and the peak resident memory.</summary>
    public async Task<(double CpuPercent, double PeakRssMib)> WhileAsync(Task until, TimeSpan every, CancellationToken cancellationToken)
    {
        var first = Sample();
        var peak = first.RssKib;
        var last = first;
        while (!until.IsCompleted)
        {
            await Task.WhenAny(until, Task.Delay(every, cancellationToken));
            last = Sample();
            peak = Math.Max(peak, last.RssKib);
        }
        await until;
        return (CpuPercent(first, last), Mib(peak));
    }

    /// <summary>CPU between two samples as a percentage of one core (100 = one core busy the whole time).</summary>
    public static double CpuPercent(ProcessSample before, ProcessSample after) =>
        CpuPercent(after.CpuTicks - before.CpuTicks, after.At - before.At);

    public static double CpuPercent(long ticks, TimeSpan span) =>
        span <= TimeSpan.Zero ? 0 : Math.Round(100.0 * ticks / TicksPerSecond / span.TotalSeconds, 2);

    public static double Mib(long kib) => Math.Round(kib / 1024.0, 1);

    /// <summary>utime + stime (fields 14 and 15) of a <c>/proc/&lt;pid&gt;/stat</c> line; the command name in parentheses may hold spaces.</summary>
    public static long CpuTicksOf(string stat)
    {
        // Fields after the name, from the state (field 3) on: utime is the 12th of them, stime the 13th.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    /// <summary>The <c>VmRSS</c> line of <c>/proc/&lt;pid&gt;/status</c>, in KiB.</summary>
    public static long RssKibOf(string status)
    {
        foreach (var line in status.Split('\n'))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        throw new FormatException("no VmRSS line");
    }
}
