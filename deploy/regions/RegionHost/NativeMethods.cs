using System.Runtime.InteropServices;
using Mesh.Kafka.Native;

namespace Mesh.RegionHost;

/// <summary>
/// The slice of librdkafka's C API (rdkafka.h, rdkafka_mock.h) that the region host needs.
/// Confluent.Kafka does not expose the mock cluster, so it is called directly; the names
/// resolve to the same loaded copy through <see cref="KafkaNative.ResolveImportsFor"/>.
/// </summary>
internal static class NativeMethods
{
    public const int RdKafkaProducer = 0;
    public const int ConfOk = 0;
    public const int ErrNoError = 0;
    public const int ErrTopicAlreadyExists = 36;

    /// <summary>Loads librdkafka (the copy Confluent.Kafka uses too) and binds the imports below to it.</summary>
    public static void Load()
    {
        KafkaNative.EnsureLoaded();
        KafkaNative.ResolveImportsFor(typeof(NativeMethods).Assembly);
    }

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    public static extern IntPtr rd_kafka_conf_new();

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    public static extern void rd_kafka_conf_destroy(IntPtr conf);

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    public static extern int rd_kafka_conf_set(
        IntPtr conf,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string name,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string value,
        [Out] byte[] errstr,
        nuint errstrSize);

    /// <summary>Takes ownership of <paramref name="conf"/> only when it succeeds.</summary>
    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    public static extern IntPtr rd_kafka_new(int type, IntPtr conf, [Out] byte[] errstr, nuint errstrSize);

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    public static extern void rd_kafka_destroy(IntPtr rk);

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    public static extern IntPtr rd_kafka_err2str(int err);

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    public static extern IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    public static extern void rd_kafka_mock_cluster_destroy(IntPtr mcluster);

    /// <summary>Returns a string owned by the cluster; copy it, never free it.</summary>
    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    public static extern IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr mcluster);

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    public static extern int rd_kafka_mock_topic_create(
        IntPtr mcluster,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string topic,
        int partitionCount,
        int replicationFactor);

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    public static extern void rd_kafka_mock_group_initial_rebalance_delay_ms(IntPtr mcluster, int delayMs);

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    public static extern int rd_kafka_mock_broker_set_down(IntPtr mcluster, int brokerId);

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    public static extern int rd_kafka_mock_broker_set_up(IntPtr mcluster, int brokerId);

    [DllImport(KafkaNative.LibraryName, ExactSpelling = true)]
    public static extern int rd_kafka_mock_broker_set_rtt(IntPtr mcluster, int brokerId, int rttMs);

    public static string ErrorText(int err) =>
        Marshal.PtrToStringUTF8(rd_kafka_err2str(err)) ?? $"librdkafka error {err}";

    public static string ErrorBufferText(byte[] errstr)
    {
        var length = Array.IndexOf(errstr, (byte)0);
        return System.Text.Encoding.UTF8.GetString(errstr, 0, length < 0 ? errstr.Length : length);
    }
}
