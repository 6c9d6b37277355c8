using System.Runtime.InteropServices;

namespace Mesh.Kafka.Native;

/// <summary>
/// Reads a Kafka cluster's id (from the Metadata response) through librdkafka's own
/// <c>rd_kafka_clusterid</c>, which the .NET client does not expose. Works against real Kafka and
/// the embedded mock cluster alike; the admin API's DescribeCluster needs a controller the mock lacks.
/// </summary>
public static class ClusterId
{
    private const int Producer = 0;
    private const int ConfOk = 0;

    /// <summary>The id of the cluster reached with <paramref name="config"/> (librdkafka settings, security included).</summary>
    /// <exception cref="TimeoutException">The cluster did not answer within <paramref name="timeout"/>.</exception>
    public static string Read(IReadOnlyDictionary<string, string> config, TimeSpan timeout)
    {
        KafkaNative.EnsureLoaded();
        var errstr = new byte[512];
        var conf = rd_kafka_conf_new();
        // dotnet.* settings are Confluent.Kafka's own, not librdkafka's.
        foreach (var (name, value) in config.Where(c => !c.Key.StartsWith("dotnet.", StringComparison.Ordinal)))
        {
            if (rd_kafka_conf_set(conf, name, value, errstr, (nuint)errstr.Length) == ConfOk) continue;
            rd_kafka_conf_destroy(conf);
            // Names the setting only: librdkafka's own message may quote the value, which may be a password.
            throw new ArgumentException($"librdkafka refused the value of the setting '{name}'");
        }
        var rk = rd_kafka_new(Producer, conf, errstr, (nuint)errstr.Length);
        if (rk == IntPtr.Zero)
        {
            rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException("librdkafka could not create a client with this cluster's settings");
        }
        try
        {
            var id = rd_kafka_clusterid(rk, (int)timeout.TotalMilliseconds);
            if (id == IntPtr.Zero)
                throw new TimeoutException($"the cluster at {config.GetValueOrDefault("bootstrap.servers")} did not report its id within {timeout.TotalSeconds:0} s");
            try
            {
                return Marshal.PtrToStringUTF8(id) ?? throw new InvalidOperationException("the cluster reported an empty id");
            }
            finally
            {
                rd_kafka_mem_free(rk, id);
            }
        }
        finally
        {
            rd_kafka_destroy(rk);
        }
    }

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    private static extern IntPtr rd_kafka_conf_new();

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    private static extern void rd_kafka_conf_destroy(IntPtr conf);

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    private static extern int rd_kafka_conf_set(IntPtr conf, [MarshalAs(UnmanagedType.LPUTF8Str)] string name,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string value, [Out] byte[] errstr, nuint errstrSize);

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    private static extern IntPtr rd_kafka_new(int type, IntPtr conf, [Out] byte[] errstr, nuint errstrSize);

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    private static extern IntPtr rd_kafka_clusterid(IntPtr rk, int timeoutMs);

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    private static extern void rd_kafka_mem_free(IntPtr rk, IntPtr ptr);

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    private static extern void rd_kafka_destroy(IntPtr rk);
}
