using System.Diagnostics.Metrics;
using Mesh.Core.Tests.Backup.Archiving;
using Mesh.Kafka.Clients;

namespace Mesh.Core.Tests.Kafka;

/// <summary>librdkafka's statistics reports as gauges per client: queue, bytes, broker round trips, a consumer's lag per topic; silent clients drop out.</summary>
public sealed class KafkaClientStatisticsTests : IDisposable
{
    // Trimmed from real reports: the fields the meter reads, and the entries it must skip.
    private const string Consumer = """
        {"name":"mesh-b-reads-a#consumer-2","client_id":"mesh-b-reads-a","type":"consumer","ts":1,"msg_cnt":12,"msg_size":3400,
         "tx":10,"tx_bytes":5000,"rx":9,"rx_bytes":90000,
         "brokers":{
           "127.0.0.1:9092/1":{"name":"127.0.0.1:9092/1","nodeid":1,"rtt":{"min":100,"max":900,"avg":1500,"cnt":4}},
           "127.0.0.1:9093/2":{"name":"127.0.0.1:9093/2","nodeid":2,"rtt":{"min":0,"max":0,"avg":0,"cnt":0}},
           "127.0.0.1:9092/bootstrap":{"nodeid":-1,"rtt":{"avg":99000,"cnt":1}},
           ":0/internal":{"nodeid":-1,"rtt":{"avg":0,"cnt":0}}},
         "topics":{
           "orders":{"partitions":{
             "0":{"app_offset":95,"ls_offset":100,"hi_offset":100,"consumer_lag":-1},
             "1":{"app_offset":3,"ls_offset":10,"hi_offset":12,"consumer_lag":-1},
             "2":{"app_offset":-1001,"ls_offset":40,"hi_offset":40,"consumer_lag":-1},
             "-1":{"app_offset":-1001,"ls_offset":-1,"hi_offset":-1}}},
           "payments":{"partitions":{"0":{"app_offset":7,"ls_offset":-1,"hi_offset":9}}}}}
        """;

    private const string Producer = """
        {"name":"mesh-b-writer#producer-1","type":"producer","msg_cnt":3,"msg_size":300,"tx_bytes":70000,"rx_bytes":800,
         "brokers":{},"topics":{"orders":{"partitions":{"0":{"app_offset":-1001,"ls_offset":5,"hi_offset":5}}}}}
        """;

    private readonly ManualTime _time = new();
    private readonly KafkaClientStatistics _statistics;
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, double> _seen = [];

    public KafkaClientStatisticsTests()
    {
        _statistics = new KafkaClientStatistics(5000, _time);
        // One instance at a time in this process: each test disposes its own.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == KafkaClientStatistics.MeterName) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, value, tags, _) => _seen[Key(i, tags)] = value);
        _listener.SetMeasurementEventCallback<double>((i, value, tags, _) => _seen[Key(i, tags)] = value);
        _listener.Start();
    }

    private static string Key(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var parts = new List<string> { instrument.Name };
        foreach (var tag in tags) parts.Add($"{tag.Key}={tag.Value}");
        return string.Join(" ", parts);
    }

    private Dictionary<string, double> Observe()
    {
        _seen.Clear();
        _listener.RecordObservableInstruments();
        return new Dictionary<string, double>(_seen);
    }

    [Fact]
    public void Each_clients_latest_report_shows_its_queue_bytes_round_trips_and_lag_per_topic()
    {
        _statistics.Report(Consumer);
        _statistics.Report(Producer);

        Assert.Equal(new Dictionary<string, double>
        {
            ["mesh_kafka_queue_messages client=mesh-b-reads-a#consumer-2"] = 12,
            ["mesh_kafka_queue_bytes client=mesh-b-reads-a#consumer-2"] = 3400,
            ["mesh_kafka_sent_bytes client=mesh-b-reads-a#consumer-2"] = 5000,
            ["mesh_kafka_received_bytes client=mesh-b-reads-a#consumer-2"] = 90000,
            ["mesh_kafka_broker_rtt client=mesh-b-reads-a#consumer-2 broker=127.0.0.1:9092/1"] = 1.5,
            ["mesh_kafka_consumer_lag client=mesh-b-reads-a#consumer-2 topic=orders"] = 12, // 5 + 7; partition 2 not read yet
            ["mesh_kafka_consumer_lag client=mesh-b-reads-a#consumer-2 topic=payments"] = 2, // no stable offset: the high watermark
            ["mesh_kafka_queue_messages client=mesh-b-writer#producer-1"] = 3,
            ["mesh_kafka_queue_bytes client=mesh-b-writer#producer-1"] = 300,
            ["mesh_kafka_sent_bytes client=mesh-b-writer#producer-1"] = 70000,
            ["mesh_kafka_received_bytes client=mesh-b-writer#producer-1"] = 800,
        }, Observe());
    }

    [Fact]
    public void A_client_that_stopped_reporting_drops_out_after_three_intervals_and_bad_reports_are_ignored()
    {
        _statistics.Report(Producer);
        _statistics.Report("{not json");
        _statistics.Report("""{"type":"producer"}""");
        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.Equal(4, Observe().Count);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Empty(Observe());
    }

    public void Dispose()
    {
        _listener.Dispose();
        _statistics.Dispose();
    }
}
