using Orleans.Concurrency;

namespace Mesh.Grains;

/// <summary>
/// A region's quarantine (key: region id): the records its inbound links could not take, kept in
/// the region's <c>__mesh_quarantine</c> topic with the reason and where each came from, so the
/// operator can inspect them and re-send them once the cause is fixed.
/// </summary>
[Alias("mesh.IQuarantineGrain")]
public interface IQuarantineGrain : IGrainWithStringKey
{
    [AlwaysInterleave, Alias("List"), ClientAccess(ClientAccessLevel.Read)]
    Task<IReadOnlyList<QuarantinedRecordInfo>> ListAsync(QuarantineQuery query);

    [Alias("Replay"), ClientAccess(ClientAccessLevel.Change)]
    Task<IReadOnlyList<ReplayOutcome>> ReplayAsync(ReplayRequest request);
}

/// <summary>Which quarantined records to list; null fields match everything.</summary>
[GenerateSerializer, Immutable, Alias("mesh.QuarantineQuery")]
public sealed record QuarantineQuery(
    [property: Id(0)] string? Topic,
    [property: Id(1)] string? Source,
    [property: Id(2)] bool IncludeReplayed);

/// <summary>One record held in a region's quarantine.</summary>
[GenerateSerializer, Immutable, Alias("mesh.QuarantinedRecordInfo")]
public sealed record QuarantinedRecordInfo(
    [property: Id(0)] long QuarantineOffset,
    [property: Id(1)] string Source,
    [property: Id(2)] string Destination,
    [property: Id(3)] string Topic,
    [property: Id(4)] int Partition,
    [property: Id(5)] long SourceOffset,
    [property: Id(6)] string Kind,
    [property: Id(7)] string Reason,
    [property: Id(8)] DateTimeOffset QuarantinedAt,
    [property: Id(9)] int KeyBytes,
    [property: Id(10)] int ValueBytes,
    [property: Id(11)] DateTimeOffset? ReplayedAt,
    [property: Id(12)] string? Key);

/// <summary>Which quarantined records to re-send: the given quarantine offsets, or all (optionally of one topic).</summary>
[GenerateSerializer, Immutable, Alias("mesh.ReplayRequest")]
public sealed record ReplayRequest(
    [property: Id(0)] IReadOnlyList<long>? Offsets,
    [property: Id(1)] string? Topic,
    [property: Id(2)] bool Force);

/// <summary>What happened to one quarantined record on replay.</summary>
[GenerateSerializer, Immutable, Alias("mesh.ReplayOutcome")]
public sealed record ReplayOutcome(
    [property: Id(0)] long QuarantineOffset,
    [property: Id(1)] bool Replayed,
    [property: Id(2)] long? WrittenOffset,
    [property: Id(3)] string? Error);
