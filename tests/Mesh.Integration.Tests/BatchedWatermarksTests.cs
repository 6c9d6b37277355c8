using Confluent.Kafka;
using Mesh.Integration.Tests.Infrastructure;
using Mesh.Kafka.Clients;

namespace Mesh.Integration.Tests;

/// <summary>
/// The replicators' offset requests, batched: many partitions asked at once (across three brokers) get the same answers
/// <c>QueryWatermarkOffsets</c> gives one at a time, in a few calls; a read_committed client and a read_uncommitted one each
/// get what <c>QueryWatermarkOffsets</c> gives it, with a transaction open; a partition the cluster does not have fails
/// its own callers only.
/// </summary>
public sealed class BatchedWatermarksTests
{
    private const string Region = "us-east";
    private const string Topic = "marks";
    private const int Partitions = 1200; // more than two calls' worth
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Many_partitions_asked_at_once_get_the_answers_of_one_at_a_time_queries_in_a_few_calls()
    {
        await using var mesh = TestMesh.InNewFolder("marks");
        await mesh.UpAsync([Region, "eu-west"], partitions: 1, "orders");
        await mesh.Local.CreateTopicAsync(Region, Topic, Partitions);
        var bootstrap = mesh.Local.Bootstrap(Region);

        // Some partitions hold records (a few each), the rest are empty.
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = bootstrap, EnableIdempotence = true }).Build())
        {
            foreach (var p in Enumerable.Range(0, Partitions).Where(p => p % 7 == 0))
                for (var i = 0; i < p % 5 + 1; i++)
                    producer.Produce(new TopicPartition(Topic, p), new Message<byte[]?, byte[]?> { Value = [1, 2, 3] });
            producer.Flush(Wait);
        }

        using var consumer = Consumer(bootstrap, "read_uncommitted");
        using var marks = new BatchedWatermarks(consumer, TimeSpan.FromSeconds(10));
        var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartition(Topic, p)).ToArray();

        var batched = await Task.WhenAll(partitions.Select(tp => marks.GetAsync(tp, CancellationToken.None))).WaitAsync(Wait);

        var one = partitions.Select(tp => consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10))).ToArray();
        Assert.Equal(one.Select(m => (m.Low.Value, m.High.Value)), batched.Select(m => (m.Low.Value, m.High.Value)));
        Assert.Equal(Enumerable.Range(0, Partitions).Select(p => p % 7 == 0 ? p % 5 + 1 : 0L), batched.Select(m => m.High.Value));
        // 1,200 partitions: at least three calls of at most 500, far fewer than one each.
        Assert.InRange(marks.Calls, Partitions / BatchedWatermarks.MaxPartitionsPerCall + 1, 20);
    }

    [Fact]
    public async Task Each_isolation_level_gets_what_a_one_at_a_time_query_gives_it_and_a_missing_partition_fails_alone()
    {
        await using var mesh = TestMesh.InNewFolder("marks-eos");
        await mesh.UpAsync([Region, "eu-west"], partitions: 1, "orders");
        await mesh.Local.CreateTopicAsync(Region, Topic, 4);
        var bootstrap = mesh.Local.Bootstrap(Region);

        // Partition 0: two committed records, then an open transaction of three more. Partition 1: one plain record.
        using var transactional = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = bootstrap, TransactionalId = $"marks-{Guid.NewGuid():N}", EnableIdempotence = true,
        }).Build();
        transactional.InitTransactions(Wait);
        transactional.BeginTransaction();
        for (var i = 0; i < 2; i++) await transactional.ProduceAsync(new TopicPartition(Topic, 0), new Message<byte[]?, byte[]?> { Value = [1] });
        transactional.CommitTransaction(Wait);
        transactional.BeginTransaction();
        for (var i = 0; i < 3; i++) await transactional.ProduceAsync(new TopicPartition(Topic, 0), new Message<byte[]?, byte[]?> { Value = [2] });
        using (var plain = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = bootstrap }).Build())
            await plain.ProduceAsync(new TopicPartition(Topic, 1), new Message<byte[]?, byte[]?> { Value = [3] });

        foreach (var isolation in new[] { "read_committed", "read_uncommitted" })
        {
            using var consumer = Consumer(bootstrap, isolation);
            using var marks = new BatchedWatermarks(consumer, TimeSpan.FromSeconds(10));
            var asked = Enumerable.Range(0, 4).Select(p => marks.GetAsync(new TopicPartition(Topic, p), CancellationToken.None)).ToArray();
            var answers = await Task.WhenAll(asked).WaitAsync(Wait);
            for (var p = 0; p < 4; p++)
            {
                var one = consumer.QueryWatermarkOffsets(new TopicPartition(Topic, p), TimeSpan.FromSeconds(10));
                Assert.Equal((one.Low.Value, one.High.Value), (answers[p].Low.Value, answers[p].High.Value));
            }
            Assert.Equal(1, answers[1].High.Value);
            Assert.Equal(0, answers[2].High.Value);
            // At least the committed records and their marker (the embedded Kafka answers its high watermark to either).
            Assert.True(answers[0].High.Value >= 3, $"{isolation} end {answers[0].High.Value}");
        }
        transactional.AbortTransaction(Wait);

        // A partition the topic does not have, asked together with ones it has: only its caller fails, naming it.
        {
            using var consumer = Consumer(bootstrap, "read_committed");
            using var marks = new BatchedWatermarks(consumer, TimeSpan.FromSeconds(5));
            var good = Enumerable.Range(0, 4).Select(p => marks.GetAsync(new TopicPartition(Topic, p), CancellationToken.None)).ToArray();
            var missing = marks.GetAsync(new TopicPartition(Topic, 40), CancellationToken.None);
            var error = await Assert.ThrowsAsync<KafkaException>(() => missing.WaitAsync(Wait));
            Assert.Contains($"{Topic}/40", error.Message);
            Assert.Equal(1, (await Task.WhenAll(good).WaitAsync(Wait))[1].High.Value);
        }
    }

    private static IConsumer<byte[]?, byte[]?> Consumer(string bootstrap, string isolation) =>
        new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "mesh-test-marks",
            EnableAutoCommit = false,
            IsolationLevel = isolation == "read_committed" ? IsolationLevel.ReadCommitted : IsolationLevel.ReadUncommitted,
        }).Build();
}
