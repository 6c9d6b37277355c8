using System.Collections.Concurrent;
using System.Text.Json;
using Confluent.Kafka;
using Mesh.Core.Health;
using Mesh.Grains.Ports;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Clients;

/// <summary>
/// Looks at every cluster this silo talks to every few seconds: a metadata request with a short deadline says
/// whether any broker answers, and the probe client's librdkafka statistics (it keeps a connection to every
/// broker) say which brokers are connected. A broker that dies drops out of the metadata, so every broker the
/// metadata has named since the silo started counts: one missing or not connected makes the cluster degraded
/// (a broker removed for good therefore shows until the silo restarts). Status calls read the cached result.
/// </summary>
public sealed class KafkaReachabilityProbe(IOptions<KafkaRegionsOptions> regions, TimeProvider time) : BackgroundService, IKafkaReachability
{
    /// <summary>How often each cluster is looked at; an outage shows within this plus <see cref="Deadline"/>.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The one topic the probe's metadata requests name: none exists (the answer is the brokers and an unknown topic), and
    /// the probe's client never asks for one to be created.
    /// </summary>
    public const string ProbeTopic = "__mesh_reachability_probe";

    /// <summary>How long a metadata request may take before the cluster counts as unreachable.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, ClusterReachability> _seen = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ProbeClient> _clients = new(StringComparer.Ordinal);

    public ClusterReachability? Of(string region) => _seen.GetValueOrDefault(region);

    public IReadOnlyList<ClusterReachability> All => [.. _seen.Values];

    private Task _round = Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            do
            {
                _round = Task.WhenAll(regions.Value.Clusters.ToArray().Select(c => Task.Run(() => Probe(c.Key, c.Value), CancellationToken.None)));
                await _round.WaitAsync(stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Probe(string region, KafkaClusterOptions cluster)
    {
        if (string.IsNullOrWhiteSpace(cluster.BootstrapServers)) return;
        bool answered;
        int brokers = 0, up = 0;
        string? error = null;
        try
        {
            var client = _clients.AddOrUpdate(region,
                _ => new ProbeClient(regions.Value.LocalRegion, region, cluster),
                (_, existing) =>
                {
                    if (existing.BootstrapServers == cluster.BootstrapServers) return existing;
                    existing.Dispose();
                    return new ProbeClient(regions.Value.LocalRegion, region, cluster);
                });
            // Only the brokers are wanted: asked for every topic, a cluster of 10,000 partitions had its whole metadata
            // parsed and copied into managed objects twice every two seconds, idle or not.
            var metadata = client.Admin.GetMetadata(ProbeTopic, Deadline);
            answered = true;
            // A broker that stops answering drops out of the cluster's metadata: the brokers named before still count.
            foreach (var broker in metadata.Brokers) client.Known[broker.BrokerId] = $"{broker.Host}:{broker.Port}";
            var named = metadata.Brokers.Select(b => b.BrokerId).ToHashSet();
            var down = client.Known.Where(b => !named.Contains(b.Key) || !KafkaReachability.BrokerAnswers(client.BrokerState(b.Key)))
                .OrderBy(b => b.Key).ToList();
            brokers = client.Known.Count;
            up = brokers - down.Count;
            if (down.Count > 0) error = "brokers not answering: " + string.Join(", ", down.Select(b => $"{b.Key} ({b.Value})"));
        }
        catch (KafkaException e)
        {
            answered = false;
            error = $"no broker answered metadata within {Deadline.TotalSeconds:0.#} s at {cluster.BootstrapServers}: {e.Error.Reason}";
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // Settings librdkafka refuses: the cluster cannot be reached from here, and the background loop must go on.
            answered = false;
            error = $"cannot make a Kafka client for {cluster.BootstrapServers}: {e.Message}";
        }
        var state = KafkaReachability.Classify(answered, brokers, up);
        var now = time.GetUtcNow();
        _seen.AddOrUpdate(region,
            _ => ClusterReachability.First(region, state, brokers, up, error, now),
            (_, previous) => previous.Next(state, brokers, up, error, now));
    }

    /// <summary>librdkafka statistics' <c>brokers.*.nodeid</c> and <c>state</c>, for the brokers the cluster named (not bootstrap entries).</summary>
    public static IReadOnlyDictionary<int, string> BrokerStates(string json)
    {
        var states = new Dictionary<int, string>();
        using var document = JsonDocument.Parse(json);
        if (!document.RootElement.TryGetProperty("brokers", out var brokers) || brokers.ValueKind != JsonValueKind.Object) return states;
        foreach (var broker in brokers.EnumerateObject())
        {
            if (!broker.Value.TryGetProperty("nodeid", out var id) || !id.TryGetInt32(out var nodeId) || nodeId < 0) continue;
            if (broker.Value.TryGetProperty("state", out var state) && state.GetString() is { } text) states[nodeId] = text;
        }
        return states;
    }

    public override void Dispose()
    {
        base.Dispose();
        // A probe still waiting inside librdkafka (a cluster that does not answer holds it for the deadline) keeps its
        // client: disposing it under the call is unsafe, and waiting would lengthen the silo's stop. The process is ending.
        if (!_round.IsCompleted) return;
        foreach (var client in _clients.Values) client.Dispose();
        _clients.Clear();
    }

    /// <summary>An admin client connected to every broker of one cluster, remembering each broker's state from its statistics.</summary>
    private sealed class ProbeClient : IDisposable
    {
        private volatile IReadOnlyDictionary<int, string> _states = new Dictionary<int, string>();

        public ProbeClient(string localRegion, string region, KafkaClusterOptions cluster)
        {
            BootstrapServers = cluster.BootstrapServers;
            Admin = new AdminClientBuilder(cluster.BuildConfig(
                    defaults: new Dictionary<string, string> { ["client.id"] = $"mesh-{localRegion}-probe-{region}" },
                    required: new Dictionary<string, string>
                    {
                        // A connection to every broker, not only to those a request needed: otherwise a broker nobody asked is never seen.
                        ["enable.sparse.connections"] = "false",
                        // Its metadata requests name ProbeTopic, which must never be created by asking.
                        ["allow.auto.create.topics"] = "false",
                        ["statistics.interval.ms"] = "1000",
                        // A broker that comes back is seen within about a second.
                        ["reconnect.backoff.ms"] = "100",
                        ["reconnect.backoff.max.ms"] = "1000",
                    }))
                // An unreachable broker is the finding, reported in status: not a log line every second.
                .SetLogHandler((_, _) => { })
                .SetErrorHandler((_, _) => { })
                .SetStatisticsHandler((_, json) => _states = BrokerStates(json))
                .Build();
        }

        public string BootstrapServers { get; }

        /// <summary>Every broker the cluster's metadata has named since this client was made (id to host:port).</summary>
        public ConcurrentDictionary<int, string> Known { get; } = new();

        public IAdminClient Admin { get; }

        /// <summary>The broker's state in the latest statistics; null before statistics named it.</summary>
        public string? BrokerState(int brokerId) => _states.GetValueOrDefault(brokerId);

        public void Dispose() => Admin.Dispose();
    }
}
