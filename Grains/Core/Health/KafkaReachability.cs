namespace Mesh.Core.Health;

/// <summary>How a region's Kafka answers the silo that looks at it.</summary>
public enum KafkaReach
{
    /// <summary>Metadata came back within the deadline and every broker it names is connected.</summary>
    Up,
    /// <summary>Metadata came back, but some of the brokers it names do not answer.</summary>
    Degraded,
    /// <summary>No broker answered within the deadline.</summary>
    Unreachable,
}

/// <summary>
/// One silo's view of one region's Kafka: the state, the brokers that answered, and since when it has been
/// in this state (so "unreachable since 02:10:04" survives the probes that keep finding it unreachable).
/// </summary>
public sealed record ClusterReachability(string Region, KafkaReach State, int Brokers, int BrokersUp, string? Error,
    DateTimeOffset Since, DateTimeOffset CheckedAt)
{
    /// <summary>A first observation.</summary>
    public static ClusterReachability First(string region, KafkaReach state, int brokers, int brokersUp, string? error, DateTimeOffset now) =>
        new(region, state, brokers, brokersUp, error, now, now);

    /// <summary>The next observation: <see cref="Since"/> moves only when the state changes.</summary>
    public ClusterReachability Next(KafkaReach state, int brokers, int brokersUp, string? error, DateTimeOffset now) =>
        new(Region, state, brokers, brokersUp, error, state == State ? Since : now, now);
}

/// <summary>The pure rules behind what <c>mesh status</c> says about Kafka and the links that depend on it.</summary>
public static class KafkaReachability
{
    /// <summary>
    /// A cluster whose metadata did not come back is unreachable; one that answered is up when every broker
    /// it names is connected, degraded when some are not (a cluster that names no broker answered, so it is up).
    /// </summary>
    public static KafkaReach Classify(bool metadataAnswered, int brokers, int brokersUp)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(brokers);
        ArgumentOutOfRangeException.ThrowIfNegative(brokersUp);
        if (!metadataAnswered) return KafkaReach.Unreachable;
        if (brokers == 0 || brokersUp >= brokers) return KafkaReach.Up;
        return brokersUp == 0 ? KafkaReach.Unreachable : KafkaReach.Degraded;
    }

    /// <summary>
    /// Whether librdkafka's statistics say a broker the cluster's metadata names answers (<c>brokers.*.state</c>):
    /// connected (<c>UP</c>, <c>UPDATE</c>), never tried yet (<c>INIT</c>), or not in the statistics yet (null: a
    /// client just made); none of these is evidence that it is down. Connecting, retrying and down states are.
    /// </summary>
    public static bool BrokerAnswers(string? statisticsState) => statisticsState is null or "UP" or "UPDATE" or "INIT";

    /// <summary>
    /// Why a link <paramref name="source"/> -> <paramref name="destination"/> waits, and since when: either end's
    /// Kafka is unreachable as its silo sees it. Null when both ends answer (or nothing is known about them:
    /// the link's own state then says what it knows). When both are unreachable, the older outage gives the time.
    /// </summary>
    public static LinkWait? Waiting(string source, ClusterReachability? sourceKafka, string destination, ClusterReachability? destinationKafka)
    {
        var ends = new[] { ("source", source, sourceKafka), ("destination", destination, destinationKafka) }
            .Where(e => e.Item3 is { State: KafkaReach.Unreachable })
            .Select(e => (Role: e.Item1, Region: e.Item2, Kafka: e.Item3!))
            .ToList();
        if (ends.Count == 0) return null;
        var reason = string.Join("; ", ends.Select(e =>
            $"{e.Role} region {e.Region}'s Kafka does not answer" + (e.Kafka.Error is { Length: > 0 } error ? $" ({error})" : "")));
        return new LinkWait(reason, ends.Min(e => e.Kafka.Since));
    }
}

/// <summary>A link that cannot run until a region's Kafka answers again.</summary>
public sealed record LinkWait(string Reason, DateTimeOffset Since);
