using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Mesh.Kafka.Clients;

/// <summary>
/// A client's partition watermarks (log start and end), asked for in batches: the requests of many callers that
/// come in together go out as one <c>OffsetsForTimes</c> call for the latest offsets and one for the earliest, each
/// a ListOffsets request per broker carrying all of the batch's partitions it leads, instead of two round trips per
/// partition (which is what <c>QueryWatermarkOffsets</c> costs, on a thread it blocks meanwhile). The answers are
/// those of <c>QueryWatermarkOffsets</c> on the same client: the same ListOffsets request, with the client's own
/// isolation level (on Apache Kafka a read_committed client's end is the last stable offset). A partition the cluster reports an
/// error for fails its own callers with that error; a call that fails as a whole (a timeout) fails the batch.
/// </summary>
public sealed class BatchedWatermarks : IDisposable
{
    // Kafka's ListOffsets timestamps for "the offset of the next record" and "the log's first offset".
    private const long Latest = -1;
    private const long Earliest = -2;
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly TimeSpan _timeout;
    private readonly Lazy<IAdminClient> _admin;
    private readonly RequestBatcher<TopicPartition, WatermarkOffsets> _batcher;

    /// <summary>How long a request waits for others before a call goes out when none is under way.</summary>
    public static readonly TimeSpan Gather = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// At most this many partitions a call. librdkafka matches a ListOffsets answer to the partitions asked by searching
    /// the list, so a call's cost grows with the square of its size: one call of 9,000 partitions took longer than its
    /// 10 s timeout on this machine, while calls of a few hundred take milliseconds each.
    /// </summary>
    public const int MaxPartitionsPerCall = 500;

    public BatchedWatermarks(IConsumer<byte[]?, byte[]?> consumer, TimeSpan timeout)
    {
        _consumer = consumer;
        _timeout = timeout;
        // Only when a call fails as a whole: which of its partitions the cluster does not have.
        _admin = new Lazy<IAdminClient>(() => new DependentAdminClientBuilder(consumer.Handle).Build());
        // The call blocks its thread for up to the timeout: a thread of its own, not one of the pool's, per batch.
        _batcher = new RequestBatcher<TopicPartition, WatermarkOffsets>(
            (partitions, _) => Task.Factory.StartNew(() => Query(partitions), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default),
            Gather, MaxPartitionsPerCall);
    }

    /// <summary>Batched calls made so far.</summary>
    public int Calls => _batcher.Calls;

    public Task<WatermarkOffsets> GetAsync(TopicPartition partition, CancellationToken cancellationToken) =>
        _batcher.GetAsync(partition, cancellationToken);

    private IReadOnlyDictionary<TopicPartition, BatchAnswer<WatermarkOffsets>> Query(IReadOnlyList<TopicPartition> partitions)
    {
        try
        {
            return QueryAll(partitions);
        }
        catch (KafkaException) when (partitions.Count > 1 && Unknown(partitions) is { Count: > 0 } unknown)
        {
            // The call failed as a whole, and the cluster does not have some of the partitions asked (librdkafka waits for
            // their leaders until the timeout): they fail on their own, the others are asked again without them.
            var answers = new Dictionary<TopicPartition, BatchAnswer<WatermarkOffsets>>(partitions.Count);
            foreach (var p in unknown)
                answers[p] = BatchAnswer<WatermarkOffsets>.Failed(new KafkaException(new Error(ErrorCode.UnknownTopicOrPart,
                    $"{p.Topic}/{p.Partition.Value}: the cluster has no such partition")));
            var known = partitions.Where(p => !unknown.Contains(p)).ToList();
            if (known.Count > 0)
                foreach (var (p, answer) in QueryAll(known)) answers[p] = answer;
            return answers;
        }
    }

    /// <summary>The partitions the cluster's metadata does not have; null when the metadata cannot be read either.</summary>
    private HashSet<TopicPartition>? Unknown(IReadOnlyList<TopicPartition> partitions)
    {
        try
        {
            var admin = _admin.Value;
            var unknown = new HashSet<TopicPartition>();
            foreach (var topic in partitions.GroupBy(p => p.Topic))
            {
                var metadata = admin.GetMetadata(topic.Key, _timeout).Topics.SingleOrDefault(t => t.Topic == topic.Key);
                HashSet<int> held = metadata is null || metadata.Error.IsError ? [] : metadata.Partitions.Select(p => p.PartitionId).ToHashSet();
                unknown.UnionWith(topic.Where(p => !held.Contains(p.Partition.Value)));
            }
            return unknown;
        }
        catch (KafkaException)
        {
            return null;
        }
    }

    private IReadOnlyDictionary<TopicPartition, BatchAnswer<WatermarkOffsets>> QueryAll(IReadOnlyList<TopicPartition> partitions)
    {
        var high = Ask(partitions, Latest);
        // Only the partitions that have an end are asked for their start.
        var answered = partitions.Where(p => high[p].Error is null).ToList();
        var low = answered.Count > 0 ? Ask(answered, Earliest) : [];
        var answers = new Dictionary<TopicPartition, BatchAnswer<WatermarkOffsets>>(partitions.Count);
        foreach (var p in partitions)
        {
            answers[p] = high[p].Error is { } highError ? BatchAnswer<WatermarkOffsets>.Failed(highError)
                : low[p].Error is { } lowError ? BatchAnswer<WatermarkOffsets>.Failed(lowError)
                : BatchAnswer<WatermarkOffsets>.Of(new WatermarkOffsets(low[p].Offset, high[p].Offset));
        }
        return answers;
    }

    private readonly record struct OneOffset(Offset Offset, Exception? Error);

    private Dictionary<TopicPartition, OneOffset> Ask(IReadOnlyList<TopicPartition> partitions, long timestamp)
    {
        var asked = partitions.Select(p => new TopicPartitionTimestamp(p, new Timestamp(timestamp, TimestampType.CreateTime))).ToList();
        var answers = new Dictionary<TopicPartition, OneOffset>(partitions.Count);
        try
        {
            var offsets = _consumer.OffsetsForTimes(asked, _timeout);
            foreach (var o in offsets) answers[o.TopicPartition] = new OneOffset(o.Offset, null);
        }
        catch (TopicPartitionOffsetException e)
        {
            // Some partitions answered, some did not: each gets its own.
            foreach (var r in e.Results)
                answers[r.TopicPartition] = r.Error.IsError
                    ? new OneOffset(Offset.Unset, new KafkaException(new Error(r.Error.Code,
                        $"{r.Topic}/{r.Partition.Value}: {r.Error.Reason}")))
                    : new OneOffset(r.Offset, null);
        }
        foreach (var p in partitions)
            answers.TryAdd(p, new OneOffset(Offset.Unset, new KafkaException(new Error(ErrorCode.Local_Fail,
                $"{p.Topic}/{p.Partition.Value}: the cluster's answer named no offset for it"))));
        return answers;
    }

    public void Dispose()
    {
        _batcher.Dispose();
        if (_admin.IsValueCreated) _admin.Value.Dispose();
    }
}
