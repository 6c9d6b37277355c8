using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;

namespace Mesh.Kafka.Clients;

/// <summary>
/// librdkafka's statistics of the silo's shared Kafka clients (<c>statistics.interval.ms</c>), as the meter
/// <see cref="MeterName"/>: per client (librdkafka's name, e.g. <c>mesh-eu-west-writer#producer-1</c>) its queue, bytes
/// sent and received, each broker's average round trip, and a consumer's lag per topic. Each client's latest report is
/// kept; one that stopped reporting (closed, or replaced after a fatal error) drops out after three intervals.
/// </summary>
public sealed class KafkaClientStatistics : IDisposable
{
    public const string MeterName = "Mesh.Kafka";

    private readonly Meter _meter;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, ClientReport> _clients = new(StringComparer.Ordinal);

    public KafkaClientStatistics(int intervalMs, TimeProvider time, IMeterFactory? meters = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(intervalMs);
        IntervalMs = intervalMs;
        _time = time;
        _meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _meter.CreateObservableGauge("mesh_kafka_queue_messages", () => Observe(r => r.QueueMessages), "{message}",
            "Messages in the client's queues: a producer's waiting to be sent or acknowledged (msg_cnt; tag: client).");
        _meter.CreateObservableGauge("mesh_kafka_queue_bytes", () => Observe(r => r.QueueBytes), unit: null,
            "Bytes of those messages (msg_size; tag: client).");
        _meter.CreateObservableCounter("mesh_kafka_sent_bytes", () => Observe(r => r.TxBytes), unit: null,
            "Bytes the client sent to brokers (tx_bytes; tag: client).");
        _meter.CreateObservableCounter("mesh_kafka_received_bytes", () => Observe(r => r.RxBytes), unit: null,
            "Bytes the client received from brokers (rx_bytes; tag: client).");
        _meter.CreateObservableGauge("mesh_kafka_broker_rtt", ObserveRtt, "ms",
            "Average request round trip to each broker over the last statistics interval (brokers.rtt.avg; tags: client, broker).");
        _meter.CreateObservableGauge("mesh_kafka_consumer_lag", ObserveLag, "{message}",
            "Records between a consumer's position and its partitions' ends, summed per topic (ls_offset - app_offset; tags: client, topic).");
    }

    /// <summary>librdkafka's <c>statistics.interval.ms</c>.</summary>
    public int IntervalMs { get; }

    /// <summary>Asks the client built from <paramref name="config"/> for statistics every <see cref="IntervalMs"/>.</summary>
    public void Enable(IDictionary<string, string> config) =>
        config["statistics.interval.ms"] = IntervalMs.ToString(CultureInfo.InvariantCulture);

    /// <summary>One statistics report (librdkafka's JSON), as a client's statistics handler receives it.</summary>
    public void Report(string json)
    {
        ClientReport? report;
        try { report = ClientReport.Parse(json, _time.GetTimestamp()); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException) { return; } // never fail the client's thread
        if (report is not null) _clients[report.Client] = report;
    }

    private IEnumerable<ClientReport> Current()
    {
        foreach (var (name, report) in _clients)
        {
            if (_time.GetElapsedTime(report.At).TotalMilliseconds <= IntervalMs * 3) yield return report;
            else _clients.TryRemove(new(name, report));
        }
    }

    private IEnumerable<Measurement<long>> Observe(Func<ClientReport, long> value) =>
        Current().Select(r => new Measurement<long>(value(r), new KeyValuePair<string, object?>("client", r.Client)));

    private IEnumerable<Measurement<double>> ObserveRtt() =>
        Current().SelectMany(r => r.RttMs.Select(b => new Measurement<double>(b.Value,
            new KeyValuePair<string, object?>("client", r.Client), new KeyValuePair<string, object?>("broker", b.Key))));

    private IEnumerable<Measurement<long>> ObserveLag() =>
        Current().SelectMany(r => r.ConsumerLag.Select(t => new Measurement<long>(t.Value,
            new KeyValuePair<string, object?>("client", r.Client), new KeyValuePair<string, object?>("topic", t.Key))));

    public void Dispose() => _meter.Dispose();
}

/// <summary>Hands a client's statistics reports to <see cref="KafkaClientStatistics"/>, when the silo collects them.</summary>
public static class KafkaStatisticsReporting
{
    public static ProducerBuilder<TKey, TValue> ReportingTo<TKey, TValue>(this ProducerBuilder<TKey, TValue> builder, KafkaClientStatistics? statistics) =>
        statistics is null ? builder : builder.SetStatisticsHandler((_, json) => statistics.Report(json));

    public static ConsumerBuilder<TKey, TValue> ReportingTo<TKey, TValue>(this ConsumerBuilder<TKey, TValue> builder, KafkaClientStatistics? statistics) =>
        statistics is null ? builder : builder.SetStatisticsHandler((_, json) => statistics.Report(json));
}

/// <summary>What the meter keeps of one client's latest statistics report.</summary>
public sealed record ClientReport(string Client, long At, long QueueMessages, long QueueBytes, long TxBytes, long RxBytes,
    IReadOnlyDictionary<string, double> RttMs, IReadOnlyDictionary<string, long> ConsumerLag)
{
    /// <summary>The parts of a librdkafka statistics report the meter shows; null when it names no client.</summary>
    public static ClientReport? Parse(string json, long at)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (!root.TryGetProperty("name", out var name) || name.GetString() is not { Length: > 0 } client) return null;
        var rtt = new Dictionary<string, double>(StringComparer.Ordinal);
        if (root.TryGetProperty("brokers", out var brokers))
            foreach (var broker in brokers.EnumerateObject())
            {
                // The internal broker and bootstrap entries not yet known by id have no node id of their own.
                if (Long(broker.Value, "nodeid", missing: -1) < 0) continue;
                if (broker.Value.TryGetProperty("rtt", out var window) && Long(window, "cnt") > 0)
                    rtt[broker.Name] = Long(window, "avg") / 1000.0; // microseconds
            }
        var lag = new Dictionary<string, long>(StringComparer.Ordinal);
        if (Text(root, "type") == "consumer" && root.TryGetProperty("topics", out var topics))
            foreach (var topic in topics.EnumerateObject())
            {
                if (!topic.Value.TryGetProperty("partitions", out var partitions)) continue;
                long sum = 0;
                var known = false;
                foreach (var partition in partitions.EnumerateObject())
                {
                    // -1: the unassigned partition. librdkafka's own consumer_lag counts from the committed offset, which the
                    // mesh's assign-only readers never commit: their lag is from where the application got to (app_offset) to
                    // the partition's end (the last stable offset, as they read committed records only). -1: not known yet.
                    if (partition.Name == "-1") continue;
                    var position = Long(partition.Value, "app_offset", missing: -1);
                    var end = Long(partition.Value, "ls_offset", missing: -1) is >= 0 and var stable ? stable : Long(partition.Value, "hi_offset", missing: -1);
                    if (position < 0 || end < 0) continue;
                    sum += Math.Max(0, end - position);
                    known = true;
                }
                if (known) lag[topic.Name] = sum;
            }
        return new ClientReport(client, at, Long(root, "msg_cnt"), Long(root, "msg_size"), Long(root, "tx_bytes"), Long(root, "rx_bytes"), rtt, lag);
    }

    private static long Long(JsonElement element, string property, long missing = 0) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : missing;

    private static string? Text(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
