namespace Mesh.Client.Drill;

/// <summary>
/// What a drill measured. Serialized as the <c>--json</c> object (snake_case names), so the names
/// here are the output's contract.
/// </summary>
public sealed record DrillReport
{
    public required IReadOnlyList<string> Regions { get; init; }
    public required string KilledRegion { get; init; }
    /// <summary>The region the group failed over to.</summary>
    public required string Survivor { get; init; }
    public required string Group { get; init; }
    public required string Topic { get; init; }
    public required int Partitions { get; init; }
    public required int RatePerRegion { get; init; }
    public required double WarmupSeconds { get; init; }

    /// <summary>Records each region acknowledged (the killed region's up to its death).</summary>
    public required IReadOnlyDictionary<string, int> Produced { get; init; }
    public required DateTimeOffset KilledAt { get; init; }

    /// <summary>Records the killed region acknowledged that no survivor held once replication had quiesced.</summary>
    public required int RpoRecords { get; init; }
    /// <summary>Age at the kill of the oldest of them; 0 when none.</summary>
    public required double RpoSeconds { get; init; }
    public required IReadOnlyList<string> RpoExamples { get; init; }
    /// <summary>Kill to the first record the group processed in the survivor; null when it never did.</summary>
    public required double? RtoSeconds { get; init; }
    /// <summary>"committed offsets" when the survivor held the group's offsets at the failover, else "earliest".</summary>
    public required string ResumedFrom { get; init; }
    /// <summary>The group's committed offsets in the survivor when the failover consumer started (partition to offset).</summary>
    public required IReadOnlyDictionary<int, long> GroupOffsetsInSurvivor { get; init; }
    public required int ProcessedBeforeKill { get; init; }
    public required int ProcessedAfterFailover { get; init; }

    /// <summary>Records the survivor held at the end that the group processed in neither region.</summary>
    public required int Lost { get; init; }
    public required IReadOnlyList<string> LostExamples { get; init; }
    /// <summary>Records another survivor held at the end that the survivor the group failed over to did not (see <see cref="DrillMeasures.OutOfReach"/>).</summary>
    public required int OutOfReach { get; init; }
    public required IReadOnlyList<string> OutOfReachExamples { get; init; }
    /// <summary>Distinct records the group processed more than once.</summary>
    public required int Redelivered { get; init; }
    public required long ExtraDeliveries { get; init; }

    /// <summary>How long the killed region's processes took to come back (an empty Kafka, a new incarnation).</summary>
    public required double RestartSeconds { get; init; }
    public required bool Rebuilt { get; init; }
    /// <summary>Restart to the moment the restarted region held every record the survivors held at the restart; null when it did not within the timeout.</summary>
    public required double? RebuildSeconds { get; init; }
    public required double RebuildTimeoutSeconds { get; init; }
    /// <summary>Records the survivors held at the restart that the restarted region still lacked at the end of the wait.</summary>
    public required int RebuildMissing { get; init; }
    /// <summary>Of those, the killed region's own records from before the kill.</summary>
    public required int RebuildMissingOwn { get; init; }

    /// <summary>The audit found every region holding the same records.</summary>
    public required bool Identical { get; init; }
    public required IReadOnlyList<string> Audit { get; init; }

    public required double DurationSeconds { get; init; }

    /// <summary>Why the drill failed; empty when it passed.</summary>
    public required IReadOnlyList<string> Failures { get; init; }

    public bool Passed => Lost == 0 && Identical;
}
