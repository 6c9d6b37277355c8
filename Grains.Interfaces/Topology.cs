using Orleans.Concurrency;

namespace Mesh.Grains;

/// <summary>
/// A region's applied topology (key: region id): the versioned document, persisted in the region's
/// own Kafka (<c>__mesh_topology</c>) so a restarted region comes back on the version it had. It
/// derives the links this region runs and keeps each link grain on its current assignment. Versions
/// only move forward; applies to one region are serialized by the grain, which is what makes
/// <see cref="ApplyRequest.ExpectedVersion"/> a compare-and-set.
/// </summary>
[Alias("mesh.ITopologyGrain")]
public interface ITopologyGrain : IGrainWithStringKey
{
    /// <summary>What the region runs now; <see cref="AppliedTopology.Version"/> 0 when it has no topology yet.</summary>
    [AlwaysInterleave, Alias("Get"), ClientAccess(ClientAccessLevel.Read)]
    Task<AppliedTopology> GetAsync();

    /// <summary>The region's last <paramref name="count"/> operator changes (its audit log), oldest first.</summary>
    [AlwaysInterleave, Alias("GetChanges"), ClientAccess(ClientAccessLevel.Read)]
    Task<IReadOnlyList<AuditEntry>> GetChangesAsync(int count);

    /// <summary>Validates, compares and (unless a dry run) persists and applies a new version.</summary>
    [Alias("Apply"), ClientAccess(ClientAccessLevel.Change)]
    Task<ApplyResult> ApplyAsync(ApplyRequest request);

    /// <summary>
    /// Called by every silo of the region: activates the grain and offers the document the silo was
    /// started with, which is adopted only when its version is newer than the persisted one.
    /// </summary>
    [Alias("EnsureRunning")]
    Task EnsureRunningAsync(string? startupDocument);

    /// <summary>Pauses or resumes the pull link <paramref name="source"/> -> this region (one topic, or all when null).</summary>
    [Alias("SetPaused"), ClientAccess(ClientAccessLevel.Change)]
    Task<PauseResult> SetPausedAsync(string source, string? topic, bool paused);

    /// <summary>Pauses or resumes the push link this region runs into <paramref name="destination"/>.</summary>
    [Alias("SetPushPaused"), ClientAccess(ClientAccessLevel.Change)]
    Task<PauseResult> SetPushPausedAsync(string destination, string? topic, bool paused);

    /// <summary>
    /// Rebuilds, on the links this region runs into <paramref name="destination"/> (pull links when it is
    /// this region, push links otherwise), the partitions that stopped because the destination lost
    /// records, or every partition with <paramref name="force"/>.
    /// </summary>
    [Alias("Rebuild"), ClientAccess(ClientAccessLevel.Change)]
    Task<RebuildResult> RebuildAsync(string destination, string? topic, bool force);
}

/// <param name="Links">The links into the destination this region runs, <c>from->to</c>.</param>
/// <param name="PartitionsRebuilding">Partitions that began a rebuild.</param>
[GenerateSerializer, Immutable, Alias("mesh.RebuildResult")]
public sealed record RebuildResult(
    [property: Id(0)] string Region,
    [property: Id(1)] IReadOnlyList<string> Links,
    [property: Id(2)] int PartitionsRebuilding);

/// <param name="Version">0: the region has no topology yet.</param>
/// <param name="Document">The document as applied (YAML or JSON text); empty when none.</param>
/// <param name="InTopology">False when the document does not name this region (it runs no links).</param>
/// <param name="Links">The links this region runs, <c>from -> to</c> with their origins and mode, for people.</param>
/// <param name="Paused">Paused links and topics: <c>source</c> (a whole pull link) or <c>source/topic</c>; a push link this region runs: <c>-&gt;destination</c> or <c>-&gt;destination/topic</c>.</param>
/// <param name="AdoptedFrom">The peer this version was taken from (the region was down when it was applied), or null.</param>
/// <param name="Assignments">What each link this region runs was given.</param>
[GenerateSerializer, Immutable, Alias("mesh.AppliedTopology")]
public sealed record AppliedTopology(
    [property: Id(0)] string Region,
    [property: Id(1)] long Version,
    [property: Id(2)] string Name,
    [property: Id(3)] string Document,
    [property: Id(4)] DateTimeOffset? AppliedAt,
    [property: Id(5)] bool InTopology,
    [property: Id(6)] IReadOnlyList<string> Links,
    [property: Id(7)] IReadOnlyList<string> Paused,
    [property: Id(8)] string? AdoptedFrom = null,
    [property: Id(9)] IReadOnlyList<LinkAssignment>? Assignments = null);

/// <param name="Document">The topology file's text (YAML or JSON).</param>
/// <param name="ExpectedVersion">The version the caller saw in this region; the apply is refused when the region holds another (a concurrent apply won). Null: any older version.</param>
/// <param name="DryRun">Validate and compare only.</param>
[GenerateSerializer, Immutable, Alias("mesh.ApplyRequest")]
public sealed record ApplyRequest(
    [property: Id(0)] string Document,
    [property: Id(1)] long? ExpectedVersion,
    [property: Id(2)] bool DryRun);

[GenerateSerializer, Alias("mesh.ApplyOutcome")]
public enum ApplyOutcome
{
    /// <summary>The region runs the new version now.</summary>
    Applied = 0,
    /// <summary>The region already ran exactly this document.</summary>
    Unchanged = 1,
    /// <summary>Nothing changed in the region; <see cref="ApplyResult.Error"/> says why.</summary>
    Refused = 2,
    /// <summary>A dry run: what would change.</summary>
    WouldApply = 3,
}

/// <param name="VersionBefore">The version the region held when the request arrived.</param>
/// <param name="VersionAfter">The version it holds now (equal to before unless applied).</param>
/// <param name="LinksAdded">Links this region runs that it did not run before, <c>from -> to</c>.</param>
/// <param name="PartitionsRestarted">Partition replicators stopped and started again because their origins or topic changed (removed links' stopped ones included).</param>
[GenerateSerializer, Immutable, Alias("mesh.ApplyResult")]
public sealed record ApplyResult(
    [property: Id(0)] string Region,
    [property: Id(1)] ApplyOutcome Outcome,
    [property: Id(2)] long VersionBefore,
    [property: Id(3)] long VersionAfter,
    [property: Id(4)] IReadOnlyList<string> LinksAdded,
    [property: Id(5)] IReadOnlyList<string> LinksRemoved,
    [property: Id(6)] IReadOnlyList<string> LinksChanged,
    [property: Id(7)] int PartitionsRestarted,
    [property: Id(8)] string? Error);

[GenerateSerializer, Immutable, Alias("mesh.PauseResult")]
public sealed record PauseResult(
    [property: Id(0)] string Region,
    [property: Id(1)] string Link,
    [property: Id(2)] string? Topic,
    [property: Id(3)] bool Paused,
    [property: Id(4)] bool Changed,
    [property: Id(5)] string? Error);

/// <summary>
/// What a link grain runs, as its region's topology grain derived it from the document: one
/// representation of a link from the model to the replicator.
/// </summary>
/// <param name="AllOrigins">Prefix naming: the link carries every origin (loops are cut by topic name and hops).</param>
/// <param name="Origins">The origins whose records the link carries (identity naming), sorted.</param>
/// <param name="PrefixNaming">Remote topics are named <c>source.topic</c> (MirrorMaker 2 style).</param>
/// <param name="Paused">Paused topics of this link; <c>*</c> pauses all of them.</param>
/// <param name="Push">The link runs in its source region and writes into the destination's Kafka.</param>
/// <param name="LwwTopics">The topology's last-writer-wins rules, in its order; null or empty: every topic appends.</param>
[GenerateSerializer, Immutable, Alias("mesh.LinkAssignment")]
public sealed record LinkAssignment(
    [property: Id(0)] string Source,
    [property: Id(1)] string Destination,
    [property: Id(2)] long TopologyVersion,
    [property: Id(3)] IReadOnlyList<string> Include,
    [property: Id(4)] IReadOnlyList<string> Exclude,
    [property: Id(5)] bool AllOrigins,
    [property: Id(6)] IReadOnlyList<string> Origins,
    [property: Id(7)] bool PrefixNaming,
    [property: Id(8)] IReadOnlyList<string> Paused,
    [property: Id(9)] bool Push = false,
    [property: Id(10)] IReadOnlyList<LwwTopic>? LwwTopics = null,
    // Set when the source holds the destination's own records: every such source (this one among them), one of which
    // writes back, per partition, the destination's records of an earlier incarnation after it lost its Kafka.
    [property: Id(11)] IReadOnlyList<string>? OwnPastSources = null,
    // The topology's exactly-once entries (names or whole-name expressions), in its order; a pull link writes a
    // matching topic's batches and checkpoints in Kafka transactions (not lww topics; push links never).
    [property: Id(12)] IReadOnlyList<string>? ExactlyOnceTopics = null,
    // Prefix naming's separator when it is not '.' (MirrorMaker 2's replication.policy.separator); null: '.'.
    [property: Id(13)] string? Separator = null)
{
    /// <summary>
    /// Equal apart from the version that carried it: applying it changes nothing. The own-past candidates
    /// matter only when a partition starts afresh, so a change of them alone restarts nothing.
    /// </summary>
    public bool SameAs(LinkAssignment other) =>
        Source == other.Source && Destination == other.Destination && AllOrigins == other.AllOrigins && PrefixNaming == other.PrefixNaming && Push == other.Push
        && Separator == other.Separator
        && (LwwTopics ?? []).SequenceEqual(other.LwwTopics ?? [])
        && (ExactlyOnceTopics ?? []).SequenceEqual(other.ExactlyOnceTopics ?? [])
        && Include.SequenceEqual(other.Include) && Exclude.SequenceEqual(other.Exclude)
        && Origins.SequenceEqual(other.Origins) && Paused.SequenceEqual(other.Paused);
}

/// <summary>What one partition replicator runs: where it writes and which origins it carries.</summary>
[GenerateSerializer, Immutable, Alias("mesh.PartitionAssignment")]
public sealed record PartitionAssignment(
    [property: Id(0)] long TopologyVersion,
    [property: Id(1)] string DestinationTopic,
    [property: Id(2)] bool AllOrigins,
    [property: Id(3)] IReadOnlyList<string> Origins,
    [property: Id(4)] bool PrefixNaming,
    [property: Id(5)] bool Paused,
    [property: Id(6)] ConflictPolicySettings? Lww = null,
    // See LinkAssignment.OwnPastSources.
    [property: Id(7)] IReadOnlyList<string>? OwnPastSources = null,
    // Each batch's records and its checkpoint are written in one Kafka transaction (the topology's exactly-once).
    [property: Id(8)] bool ExactlyOnce = false,
    // See LinkAssignment.Separator.
    [property: Id(9)] string? Separator = null)
{
    /// <summary>Equal apart from the version that carried it and the own-past candidates (see <see cref="LinkAssignment.SameAs"/>).</summary>
    public bool SameAs(PartitionAssignment other) =>
        DestinationTopic == other.DestinationTopic && AllOrigins == other.AllOrigins && PrefixNaming == other.PrefixNaming
        && Paused == other.Paused && Origins.SequenceEqual(other.Origins) && Lww == other.Lww && ExactlyOnce == other.ExactlyOnce
        && Separator == other.Separator;
}

/// <summary>
/// A topic rule of the topology's conflict section: a topic name or whole-name expression whose
/// records are last-writer-wins, with the version header (null: the record timestamp). Exact names
/// win over expressions; among expressions the first listed wins.
/// </summary>
[GenerateSerializer, Immutable, Alias("mesh.LwwTopic")]
public sealed record LwwTopic([property: Id(0)] string Topic, [property: Id(1)] string? VersionHeader);
