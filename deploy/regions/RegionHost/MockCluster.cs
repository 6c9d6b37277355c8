using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace Mesh.RegionHost;

public sealed record BrokerState(int Id, bool Up, int RttMs);

/// <param name="Configs">The topic configs it was created with (the mock keeps none itself); empty: the cluster's defaults.</param>
public sealed record TopicInfo(string Name, int Partitions, IReadOnlyDictionary<string, string> Configs);

public enum TopicOutcome { Created, AlreadyExists, PartitionMismatch }

/// <param name="Partitions">The topic's partition count after the call (the existing count unless created).</param>
/// <param name="Configs">The topic's configs after the call: an existing topic keeps the ones it has.</param>
public sealed record TopicCreateResult(TopicOutcome Outcome, int Partitions, IReadOnlyDictionary<string, string> Configs);

/// <summary>Raised when the mock cluster refuses an operation or its state cannot be read.</summary>
public sealed class MockClusterException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A librdkafka mock cluster plus the bookkeeping the mock cannot answer itself: it has no call to
/// list topics, hold topic configs (cleanup.policy and the like) or read a broker's up/down state and
/// RTT, so this class remembers what it was told. The configs are only remembered, never applied: the
/// mock neither compacts nor expires records.
/// Thread-safe: HTTP requests arrive concurrently.
/// </summary>
public sealed class MockCluster : IDisposable
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(5);

    private readonly object _gate = new();
    private readonly BrokerState[] _brokers;
    private static readonly IReadOnlyDictionary<string, string> NoConfigs = new Dictionary<string, string>();
    private readonly Dictionary<string, TopicInfo> _topics = new(StringComparer.Ordinal);
    private IntPtr _rk;
    private IntPtr _mcluster;

    private MockCluster(IntPtr rk, IntPtr mcluster, int brokerCount)
    {
        _rk = rk;
        _mcluster = mcluster;
        _brokers = Enumerable.Range(1, brokerCount).Select(id => new BrokerState(id, true, 0)).ToArray();
        Bootstrap = Marshal.PtrToStringUTF8(NativeMethods.rd_kafka_mock_cluster_bootstraps(mcluster))
            ?? throw new MockClusterException("The mock cluster reported no bootstrap servers.");
    }

    public string Bootstrap { get; }

    public int BrokerCount => _brokers.Length;

    /// <param name="groupJoinDelayMs">See <see cref="RegionHostArguments.GroupJoinDelayMs"/>.</param>
    public static MockCluster Start(int brokerCount, string clientId, int groupJoinDelayMs)
    {
        var errstr = new byte[512];
        var conf = NativeMethods.rd_kafka_conf_new();
        // log_level 4 (warning) hides the notice that this handle has no bootstrap.servers: it
        // only owns the mock cluster and never connects anywhere itself.
        foreach (var (name, value) in new[] { ("client.id", clientId), ("log_level", "4") })
        {
            if (NativeMethods.rd_kafka_conf_set(conf, name, value, errstr, (nuint)errstr.Length) != NativeMethods.ConfOk)
            {
                NativeMethods.rd_kafka_conf_destroy(conf);
                throw new MockClusterException($"librdkafka rejected {name}={value}: {NativeMethods.ErrorBufferText(errstr)}");
            }
        }

        var rk = NativeMethods.rd_kafka_new(NativeMethods.RdKafkaProducer, conf, errstr, (nuint)errstr.Length);
        if (rk == IntPtr.Zero)
        {
            NativeMethods.rd_kafka_conf_destroy(conf);
            throw new MockClusterException($"rd_kafka_new failed: {NativeMethods.ErrorBufferText(errstr)}");
        }

        var mcluster = NativeMethods.rd_kafka_mock_cluster_new(rk, brokerCount);
        if (mcluster == IntPtr.Zero)
        {
            NativeMethods.rd_kafka_destroy(rk);
            throw new MockClusterException($"rd_kafka_mock_cluster_new({brokerCount}) failed; see librdkafka's log above.");
        }
        NativeMethods.rd_kafka_mock_group_initial_rebalance_delay_ms(mcluster, groupJoinDelayMs);
        return new MockCluster(rk, mcluster, brokerCount);
    }

    public bool HasBroker(int id) => id >= 1 && id <= _brokers.Length;

    public IReadOnlyList<BrokerState> Brokers
    {
        get { lock (_gate) return _brokers.ToArray(); }
    }

    public IReadOnlyList<TopicInfo> Topics
    {
        get
        {
            lock (_gate)
                return _topics.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();
        }
    }

    /// <summary>A topic this process created or found existing; null when it knows of none by that name.</summary>
    public TopicInfo? Topic(string name)
    {
        lock (_gate) return _topics.GetValueOrDefault(name);
    }

    /// <summary>
    /// Sets configs of a known topic, or removes those given an empty value (back to the cluster's
    /// default), as <c>kafka-configs.sh --alter</c> does; null when the topic is not known here.
    /// </summary>
    public TopicInfo? AlterTopicConfigs(string name, IReadOnlyDictionary<string, string> changes)
    {
        lock (_gate)
        {
            if (!_topics.TryGetValue(name, out var topic)) return null;
            var configs = new Dictionary<string, string>(topic.Configs, StringComparer.Ordinal);
            foreach (var (key, value) in changes)
            {
                if (value.Length == 0) configs.Remove(key);
                else configs[key] = value;
            }
            return _topics[name] = topic with { Configs = configs };
        }
    }

    public BrokerState SetBrokerUp(int id, bool up)
    {
        lock (_gate)
        {
            var index = BrokerIndex(id);
            var err = up
                ? NativeMethods.rd_kafka_mock_broker_set_up(Cluster, id)
                : NativeMethods.rd_kafka_mock_broker_set_down(Cluster, id);
            ThrowOnError(err, $"setting broker {id} {(up ? "up" : "down")}");
            return _brokers[index] = _brokers[index] with { Up = up };
        }
    }

    public BrokerState SetBrokerRtt(int id, int rttMs)
    {
        lock (_gate)
        {
            var index = BrokerIndex(id);
            ThrowOnError(NativeMethods.rd_kafka_mock_broker_set_rtt(Cluster, id, rttMs), $"setting broker {id} rtt to {rttMs} ms");
            return _brokers[index] = _brokers[index] with { RttMs = rttMs };
        }
    }

    /// <summary>
    /// Creates the topic with <paramref name="configs"/>, or reports how it already exists (with the
    /// configs it has, which a second call never changes, as Kafka's CreateTopics does not). Topics this
    /// process did not create (auto-created by a client's metadata request) are discovered through a
    /// metadata lookup and have the cluster's defaults.
    /// </summary>
    public TopicCreateResult CreateTopic(string name, int partitions, int replicationFactor, IReadOnlyDictionary<string, string> configs)
    {
        lock (_gate)
        {
            if (_topics.TryGetValue(name, out var known))
                return Compare(known, partitions);

            // Create first rather than probing: a metadata probe for a missing topic can itself
            // auto-create it with the mock's default partition count.
            var err = NativeMethods.rd_kafka_mock_topic_create(Cluster, name, partitions, replicationFactor);
            if (err == NativeMethods.ErrNoError)
            {
                var created = _topics[name] = new TopicInfo(name, partitions, new Dictionary<string, string>(configs, StringComparer.Ordinal));
                return new TopicCreateResult(TopicOutcome.Created, partitions, created.Configs);
            }
            if (err != NativeMethods.ErrTopicAlreadyExists)
                ThrowOnError(err, $"creating topic '{name}'");
        }

        // Outside the lock: the lookup can wait for a broker for several seconds.
        var found = new TopicInfo(name, LookUpPartitionCount(name), NoConfigs);
        lock (_gate)
        {
            if (!_topics.TryAdd(name, found))
                found = _topics[name];
            return Compare(found, partitions);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_mcluster != IntPtr.Zero)
            {
                NativeMethods.rd_kafka_mock_cluster_destroy(_mcluster);
                _mcluster = IntPtr.Zero;
            }
            if (_rk != IntPtr.Zero)
            {
                NativeMethods.rd_kafka_destroy(_rk);
                _rk = IntPtr.Zero;
            }
        }
    }

    private IntPtr Cluster => _mcluster != IntPtr.Zero ? _mcluster : throw new ObjectDisposedException(nameof(MockCluster));

    private int BrokerIndex(int id) =>
        HasBroker(id) ? id - 1 : throw new ArgumentOutOfRangeException(nameof(id), id, $"No broker {id}; brokers are 1..{_brokers.Length}.");

    private static TopicCreateResult Compare(TopicInfo existing, int requested) =>
        new(existing.Partitions == requested ? TopicOutcome.AlreadyExists : TopicOutcome.PartitionMismatch, existing.Partitions, existing.Configs);

    private int LookUpPartitionCount(string name)
    {
        // Short-lived and silent: lookups are rare, a failure reaches the HTTP caller as an error,
        // and a client kept open would log every reconnect while brokers are set down.
        using var admin = new AdminClientBuilder(new AdminClientConfig
            {
                BootstrapServers = Bootstrap,
                ClientId = "mesh-regionhost-probe",
            })
            .SetLogHandler((_, _) => { })
            .Build();
        try
        {
            var topic = admin.GetMetadata(name, MetadataTimeout).Topics.SingleOrDefault(t => t.Topic == name);
            if (topic is null || topic.Partitions.Count == 0)
                throw new MockClusterException($"topic '{name}' exists in the mock cluster but its metadata lists no partitions ({topic?.Error.Reason ?? "no topic entry"}).");
            return topic.Partitions.Count;
        }
        catch (KafkaException e)
        {
            throw new MockClusterException($"topic '{name}' already exists but its partition count could not be read: {e.Error.Reason}. Are all brokers down?", e);
        }
    }

    private static void ThrowOnError(int err, string what)
    {
        if (err != NativeMethods.ErrNoError)
            throw new MockClusterException($"The mock cluster failed {what}: {NativeMethods.ErrorText(err)} (error {err}).");
    }
}
