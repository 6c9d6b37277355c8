using Confluent.Kafka;
using Confluent.Kafka.Admin;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Mesh.Kafka.Offsets;

/// <summary>Whether a consumer group has members in a region, and how that was found out.</summary>
/// <param name="Members">Null when the cluster could not say how many (see <paramref name="How"/>).</param>
public sealed record GroupActivity(bool Active, int? Members, string How);

/// <summary>A commit the group coordinator refused because the group has members (or, on the embedded mock, ever had).</summary>
public sealed class GroupActiveException(string message) : Exception(message);

/// <summary>
/// A consumer group's committed offsets in one region's Kafka, read and written from outside the group:
/// an assign-only consumer with the group's id fetches (OffsetFetch) and commits (OffsetCommit with no
/// member and no generation, as any standalone consumer does). Kafka accepts such a commit only while
/// the group has no members, so a commit never moves a running group.
/// </summary>
public sealed class ConsumerGroupOffsets : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);
    private readonly IReadOnlyDictionary<string, string> _config;
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private IAdminClient? _admin;
    private bool _describeUnanswered;

    /// <param name="config">librdkafka settings of the region, <c>bootstrap.servers</c> and security included.</param>
    public ConsumerGroupOffsets(string region, string group, IReadOnlyDictionary<string, string> config)
    {
        Region = region;
        Group = group;
        _config = config;
        var settings = new Dictionary<string, string>(StringComparer.Ordinal) { ["client.id"] = "mesh-offsets", ["log_level"] = "0" };
        foreach (var (key, value) in config) settings[key] = value;
        settings["group.id"] = group;
        settings["enable.auto.commit"] = "false";
        settings["enable.auto.offset.store"] = "false";
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(settings).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
    }

    public string Region { get; }
    public string Group { get; }

    /// <summary>The group's committed offsets for <paramref name="partitions"/>; partitions without one are left out.</summary>
    /// <exception cref="OffsetRegionUnreachableException">The region did not answer.</exception>
    public Dictionary<TopicPartition, long> Committed(IEnumerable<TopicPartition> partitions)
    {
        var asked = partitions.ToList();
        if (asked.Count == 0) return [];
        try
        {
            return _consumer.Committed(asked, RequestTimeout)
                .Where(c => c.Offset.Value >= 0)
                .ToDictionary(c => c.TopicPartition, c => c.Offset.Value);
        }
        catch (KafkaException e)
        {
            throw new OffsetRegionUnreachableException(Region, $"{Region}: reading the committed offsets of group {Group} failed: {e.Error.Reason}", e);
        }
    }

    /// <summary>Commits <paramref name="offsets"/> for the group, all or none.</summary>
    /// <exception cref="GroupActiveException">The group has members here: nothing was committed.</exception>
    /// <exception cref="OffsetRegionUnreachableException">The region did not answer.</exception>
    public void Commit(IReadOnlyDictionary<TopicPartition, long> offsets)
    {
        if (offsets.Count == 0) return;
        try
        {
            _consumer.Commit(offsets.Select(o => new TopicPartitionOffset(o.Key, o.Value)));
        }
        catch (TopicPartitionOffsetException e)
        {
            var refused = e.Results.FirstOrDefault(r => IsMembership(r.Error.Code));
            if (refused is not null)
                throw new GroupActiveException($"group {Group} has members in {Region} (its coordinator refused a commit from outside the group: {refused.Error.Reason})");
            var failed = e.Results.First(r => r.Error.IsError);
            throw new OffsetRegionUnreachableException(Region, $"{Region}: committing group {Group}'s offset for {failed.Topic} partition {failed.Partition.Value} failed: {failed.Error.Reason}", e);
        }
        catch (KafkaException e) when (IsMembership(e.Error.Code))
        {
            throw new GroupActiveException($"group {Group} has members in {Region} (its coordinator refused a commit from outside the group: {e.Error.Reason})");
        }
        catch (KafkaException e)
        {
            throw new OffsetRegionUnreachableException(Region, $"{Region}: committing group {Group}'s offsets failed: {e.Error.Reason}", e);
        }
    }

    /// <summary>
    /// Whether the group has members here. Asks with DescribeConsumerGroups; a cluster that does not
    /// answer that (the embedded mock cluster implements no DescribeGroups) is asked by a commit that
    /// cannot store anything, to a partition past <paramref name="probe"/>'s topic's last one: the
    /// coordinator refuses it for a group with members before it looks at the partition.
    /// </summary>
    /// <param name="probe">A partition of a topic of the group's, and the topic's partition count.</param>
    /// <exception cref="OffsetRegionUnreachableException">The region did not answer.</exception>
    public GroupActivity Activity((string Topic, int Partitions) probe)
    {
        if (!_describeUnanswered)
        {
            try
            {
                _admin ??= new AdminClientBuilder(_config).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
                var description = _admin.DescribeConsumerGroupsAsync([Group], new DescribeConsumerGroupsOptions { RequestTimeout = RequestTimeout })
                    .GetAwaiter().GetResult().ConsumerGroupDescriptions.Single();
                if (description.Error.Code == ErrorCode.NoError)
                    return new GroupActivity(description.Members.Count > 0, description.Members.Count, $"DescribeConsumerGroups: state {description.State}");
                _describeUnanswered = true;
            }
            catch (Exception e) when (e is KafkaException or DescribeConsumerGroupsException)
            {
                // Not answered (the mock): ask the coordinator below, from now on directly.
                _describeUnanswered = true;
            }
        }
        try
        {
            _consumer.Commit([new TopicPartitionOffset(probe.Topic, probe.Partitions, 0)]);
            // Stored nowhere (no such partition) or, were it ever to exist, an offset of 0 for a group with no members.
            return new GroupActivity(false, 0, "a commit from outside the group was accepted");
        }
        catch (TopicPartitionOffsetException e)
        {
            var code = e.Results.Select(r => r.Error.Code).FirstOrDefault(c => c != ErrorCode.NoError);
            if (IsMembership(code)) return new GroupActivity(true, null, $"a commit from outside the group was refused: {code}");
            if (code is ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownPartition)
                return new GroupActivity(false, 0, "a commit from outside the group was not refused for membership");
            throw new OffsetRegionUnreachableException(Region, $"{Region}: asking whether group {Group} has members failed: {code}", e);
        }
        catch (KafkaException e) when (IsMembership(e.Error.Code))
        {
            return new GroupActivity(true, null, $"a commit from outside the group was refused: {e.Error.Code}");
        }
        catch (KafkaException e) when (e.Error.Code is ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownPartition)
        {
            return new GroupActivity(false, 0, "a commit from outside the group was not refused for membership");
        }
        catch (KafkaException e)
        {
            throw new OffsetRegionUnreachableException(Region, $"{Region}: asking whether group {Group} has members failed: {e.Error.Reason}", e);
        }
    }

    private static bool IsMembership(ErrorCode code) =>
        code is ErrorCode.UnknownMemberId or ErrorCode.IllegalGeneration or ErrorCode.RebalanceInProgress or ErrorCode.FencedInstanceId;

    /// <summary>
    /// The consumer groups the cluster knows; null when it cannot list them. Never against the embedded
    /// mock cluster: it implements no ListGroups, and librdkafka's admin client aborts the process there.
    /// </summary>
    public static IReadOnlyList<string>? ListGroups(IReadOnlyDictionary<string, string> config)
    {
        try
        {
            using var admin = new AdminClientBuilder(config).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
            var listed = admin.ListConsumerGroupsAsync(new ListConsumerGroupsOptions { RequestTimeout = RequestTimeout }).GetAwaiter().GetResult();
            return [.. listed.Valid.Select(g => g.GroupId)];
        }
        catch (Exception e) when (e is KafkaException or ListConsumerGroupsException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        _admin?.Dispose();
        _consumer.Close();
        _consumer.Dispose();
    }
}
