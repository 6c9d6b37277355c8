using System.Globalization;

namespace Mesh.RegionHost;

/// <summary>The parsed command line: <c>--dir &lt;regionDir&gt; [--brokers N] [--region id] [--group-join-delay-ms N]</c>.</summary>
/// <param name="GroupJoinDelayMs">
/// How long a consumer group with no members waits for more to join before its first assignment (a
/// broker's group.initial.rebalance.delay.ms). The mock's own 3 s is paid by every group a local mesh
/// starts; a short wait still gathers members started together, which matters more here than on a
/// broker: a member that joins a running group waits out nearly a session timeout in the mock.
/// </param>
public sealed record RegionHostArguments(string Dir, int Brokers, string Region, int GroupJoinDelayMs = RegionHostArguments.DefaultGroupJoinDelayMs)
{
    public const int MaxBrokers = 32;
    public const int DefaultGroupJoinDelayMs = 300;
    public const int MaxGroupJoinDelayMs = 300_000;

    public const string Usage =
        """
        Usage: Mesh.RegionHost --dir <regionDir> [--brokers 3] [--region <id>] [--group-join-delay-ms 300]

        Runs one region's embedded Kafka (a librdkafka mock cluster on loopback) and a loopback
        HTTP control surface. When ready, writes <regionDir>/bootstrap (bootstrap servers) and then
        <regionDir>/control (control base URL), and prints bootstrap=... and control=... to stdout.

          --dir <path>     region directory; created if missing (required)
          --brokers <n>    number of mock brokers, 1..32 (default 3)
          --region <id>    region name reported by GET /health (default: the directory's name)
          --group-join-delay-ms <ms>
                           how long a new consumer group waits for more members before its first
                           assignment, 0..300000 (default 300; a broker's group.initial.rebalance.delay.ms)
          --help           show this text

        Control API: GET /health, PUT /topics/{name}?partitions=N[&replicationFactor=R],
        POST /brokers/{id|all}/down|up, POST /brokers/{id|all}/rtt?ms=N, POST /shutdown
        """;

    /// <summary>Returns null with <paramref name="error"/> set when the arguments are unusable, or when help was asked for (error empty).</summary>
    public static RegionHostArguments? Parse(IReadOnlyList<string> args, out string error)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h" or "-?")
            {
                error = "";
                return null;
            }

            // Accept both "--dir x" and "--dir=x".
            string name, value;
            var equals = arg.IndexOf('=');
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
                (name, value) = (arg[..equals], arg[(equals + 1)..]);
            else if (arg is "--dir" or "--brokers" or "--region" or "--group-join-delay-ms")
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    return Fail($"{arg} needs a value, e.g. {Example(arg)}", out error);
                (name, value) = (arg, args[++i]);
            }
            else
                return Fail($"unknown argument '{arg}'. Expected --dir, --brokers, --region, --group-join-delay-ms or --help.", out error);

            if (name is not ("--dir" or "--brokers" or "--region" or "--group-join-delay-ms"))
                return Fail($"unknown argument '{name}'. Expected --dir, --brokers, --region, --group-join-delay-ms or --help.", out error);
            if (!values.TryAdd(name, value))
                return Fail($"{name} was given twice; pass it once.", out error);
        }

        if (!values.TryGetValue("--dir", out var dir) || string.IsNullOrWhiteSpace(dir))
            return Fail($"--dir is required: pass the region directory, e.g. {Example("--dir")}", out error);

        var brokers = 3;
        if (values.TryGetValue("--brokers", out var rawBrokers)
            && (!int.TryParse(rawBrokers, NumberStyles.None, CultureInfo.InvariantCulture, out brokers) || brokers < 1 || brokers > MaxBrokers))
            return Fail($"--brokers must be an integer from 1 to {MaxBrokers}, got '{rawBrokers}'. Example: {Example("--brokers")}", out error);

        var joinDelay = DefaultGroupJoinDelayMs;
        if (values.TryGetValue("--group-join-delay-ms", out var rawDelay)
            && (!int.TryParse(rawDelay, NumberStyles.None, CultureInfo.InvariantCulture, out joinDelay) || joinDelay > MaxGroupJoinDelayMs))
            return Fail($"--group-join-delay-ms must be an integer from 0 to {MaxGroupJoinDelayMs}, got '{rawDelay}'. Example: {Example("--group-join-delay-ms")}", out error);

        var fullDir = Path.GetFullPath(dir);
        if (!values.TryGetValue("--region", out var region))
            region = Path.GetFileName(Path.TrimEndingDirectorySeparator(fullDir));
        if (string.IsNullOrWhiteSpace(region))
            return Fail($"--region must not be empty, e.g. {Example("--region")}", out error);

        error = "";
        return new RegionHostArguments(fullDir, brokers, region, joinDelay);
    }

    private static RegionHostArguments? Fail(string message, out string error)
    {
        error = message;
        return null;
    }

    private static string Example(string name) => name switch
    {
        "--dir" => "--dir /tmp/mesh/regions/eu-west",
        "--brokers" => "--brokers 3",
        "--group-join-delay-ms" => "--group-join-delay-ms 300",
        _ => "--region eu-west",
    };
}
