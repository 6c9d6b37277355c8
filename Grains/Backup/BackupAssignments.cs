using Mesh.Core.Topology;

namespace Mesh.Grains.Backup;

/// <summary>The backup a topology gives a region's silos.</summary>
public static class BackupAssignments
{
    /// <summary>The assignment of <paramref name="topology"/>'s backup section; null when it has none.</summary>
    public static BackupAssignment? From(Topology topology)
    {
        if (topology.Document.Backup is not { } backup) return null;
        var replicated = topology.Document.Topics.Selection;
        return new BackupAssignment(topology.Version, backup.Store, backup.Topics is { } topics ? [.. topics] : null,
            [.. replicated.Include], [.. replicated.Exclude], backup.Groups is { } groups ? [.. groups] : [],
            backup.EffectiveSegmentBytes, backup.EffectiveSegmentSeconds, backup.EffectiveTakeOverSeconds, backup.EffectiveGroupIntervalSeconds,
            backup.EncryptionKeyEnv, topology.Naming == NamingPolicy.Prefix, topology.Document.Separator);
    }

    /// <summary>The section's selection rule, for the topics a region holds.</summary>
    public static bool Covers(this BackupAssignment assignment, string topic) =>
        new BackupSettings(assignment.Store) { Topics = assignment.Topics?.ToValueList() }
            .Covers(topic, new TopicSelector(assignment.ReplicatedInclude.ToValueList(), assignment.ReplicatedExclude.ToValueList()));
}
