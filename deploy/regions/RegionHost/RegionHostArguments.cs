using System.Globalization;

namespace Mesh.RegionHost;

/// <summary>The parsed command line: <c>--dir &lt;regionDir&gt; [--brokers N] [--region id]</c>.</summary>
public sealed record RegionHostArguments(string Dir, int Brokers, string Region)
{
    public const int MaxBrokers = 32;

    public const string Usage =
        """
        Usage: Mesh.RegionHost --dir <regionDir> [--brokers 3] [--region <id>]

        Runs one region's embedded Kafka (a librdkafka mock cluster on loopback) and a loopback
        HTTP control surface. When ready, writes <regionDir>/bootstrap (bootstrap servers) and then
        <regionDir>/control (control base URL), and prints bootstrap=... and control=... to stdout.

          --dir <path>     region directory; created if missing (required)
          --brokers <n>    number of mock brokers, 1..32 (default 3)
          --region <id>    region name reported by GET /health (default: the directory's name)
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
            else if (arg is "--dir" or "--brokers" or "--region")
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    return Fail($"{arg} needs a value, e.g. {Example(arg)}", out error);
                (name, value) = (arg, args[++i]);
            }
            else
                return Fail($"unknown argument '{arg}'. Expected --dir, --brokers, --region or --help.", out error);

            if (name is not ("--dir" or "--brokers" or "--region"))
                return Fail($"unknown argument '{name}'. Expected --dir, --brokers, --region or --help.", out error);
            if (!values.TryAdd(name, value))
                return Fail($"{name} was given twice; pass it once.", out error);
        }

        if (!values.TryGetValue("--dir", out var dir) || string.IsNullOrWhiteSpace(dir))
            return Fail($"--dir is required: pass the region directory, e.g. {Example("--dir")}", out error);

        var brokers = 3;
        if (values.TryGetValue("--brokers", out var rawBrokers)
            && (!int.TryParse(rawBrokers, NumberStyles.None, CultureInfo.InvariantCulture, out brokers) || brokers < 1 || brokers > MaxBrokers))
            return Fail($"--brokers must be an integer from 1 to {MaxBrokers}, got '{rawBrokers}'. Example: {Example("--brokers")}", out error);

        var fullDir = Path.GetFullPath(dir);
        if (!values.TryGetValue("--region", out var region))
            region = Path.GetFileName(Path.TrimEndingDirectorySeparator(fullDir));
        if (string.IsNullOrWhiteSpace(region))
            return Fail($"--region must not be empty, e.g. {Example("--region")}", out error);

        error = "";
        return new RegionHostArguments(fullDir, brokers, region);
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
        _ => "--region eu-west",
    };
}
