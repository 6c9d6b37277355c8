using Confluent.Kafka;

namespace Mesh.Client.Bench;

/// <summary>
/// The baseline the mesh is measured against: a plain Confluent.Kafka consume -> produce pipe, no mesh. One consumer
/// (assigned every partition of the source topic from the beginning, no group) and one producer with the guarantees
/// the mesh writes with (idempotent, acks=all, gapless, the same linger and batch); each record's key, value,
/// headers and timestamp copied into the same partition of the destination topic. It runs on a thread of its own
/// until stopped.
/// </summary>
public sealed class BarePipe : IDisposable
{
    private readonly string _source;
    private readonly string _destinationTopic;
    private readonly IConsumer<byte[], byte[]> _consumer;
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly BenchRecords.Deliveries _deliveries = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private Exception? _failure;
    private long _copied;

    public BarePipe(string sourceBootstrap, string sourceTopic, int partitions, string destinationBootstrap, string destinationTopic)
    {
        _source = $"'{sourceTopic}' at {sourceBootstrap}";
        _destinationTopic = destinationTopic;
        // The settings of the mesh's shared source reader (Silo/Kafka/Replication/SharedSourceReader.cs) ...
        _consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig(new Dictionary<string, string>
        {
            ["bootstrap.servers"] = sourceBootstrap,
            ["client.id"] = "mesh-bench-pipe-reader",
            ["group.id"] = "mesh-bench-pipe",
            ["enable.auto.commit"] = "false",
            ["enable.auto.offset.store"] = "false",
            ["fetch.wait.max.ms"] = "50",
            ["fetch.min.bytes"] = "1",
            ["queued.max.messages.kbytes"] = "65536",
            ["socket.nagle.disable"] = "true",
            ["isolation.level"] = "read_committed",
        })).Build();
        // ... and of its writer (Silo/Kafka/Clients/RegionWriter.cs).
        _producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig(new Dictionary<string, string>
        {
            ["bootstrap.servers"] = destinationBootstrap,
            ["client.id"] = "mesh-bench-pipe-writer",
            ["linger.ms"] = "5",
            ["batch.num.messages"] = "10000",
            ["socket.nagle.disable"] = "true",
            ["enable.idempotence"] = "true",
            ["acks"] = "all",
            ["enable.gapless.guarantee"] = "true",
            // As the mesh's writers: the pipe reads only a delivery report's error.
            ["dotnet.producer.delivery.report.fields"] = "none",
        })).Build();
        LatencyProbe.Connect(_producer, destinationTopic);
        _consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(sourceTopic, p, Offset.Beginning)));
        _thread = new Thread(Run) { IsBackground = true, Name = $"bench-pipe-{sourceTopic}" };
        _thread.Start();
    }

    /// <summary>Records handed to the producer so far.</summary>
    public long Copied => Interlocked.Read(ref _copied);

    private void Run()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var result = _consumer.Consume(100);
                if (result?.Message is not { } read) continue;
                var copy = new Message<byte[], byte[]>
                {
                    Key = read.Key,
                    Value = read.Value,
                    Headers = read.Headers,
                    Timestamp = new Timestamp(read.Timestamp.UnixTimestampMs, TimestampType.CreateTime),
                };
                BenchRecords.Send(_producer, new TopicPartition(_destinationTopic, result.Partition), copy, _deliveries.Delivered);
                Interlocked.Increment(ref _copied);
            }
        }
        catch (Exception e) when (e is KafkaException)
        {
            _failure = e;
        }
    }

    /// <summary>Stops reading, waits for every copied record's acknowledgement, and says whether all landed.</summary>
    /// <exception cref="Local.MeshCommandException">The pipe failed, or some copied record was not acknowledged.</exception>
    public void Stop()
    {
        _stop.Cancel();
        _thread.Join();
        _producer.Flush(TimeSpan.FromSeconds(30));
        if (_failure is { } failure) throw new Local.MeshCommandException($"The bare pipe from {_source} failed: {failure.Message}");
        _deliveries.ThrowIfAnyFailed($"of the {Copied} records the bare pipe copied into '{_destinationTopic}' were not acknowledged");
    }

    public void Dispose()
    {
        if (!_stop.IsCancellationRequested)
        {
            _stop.Cancel();
            _thread.Join();
        }
        _consumer.Close();
        _consumer.Dispose();
        _producer.Dispose();
        _stop.Dispose();
    }
}
