using Mesh.Core.Replication;

namespace Mesh.Grains.Options;

/// <summary>What the grains of one region need to know; the silo fills it from the region configuration.</summary>
public sealed class ReplicationOptions
{
    /// <summary>This region's id: the destination of every link that runs here.</summary>
    public string LocalRegion { get; set; } = "";

    /// <summary>Most records written in one batch per partition.</summary>
    public int MaxBatchRecords { get; set; } = 1000;

    /// <summary>How often a partition's checkpoint is written while records flow.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a link looks for new topics in its source.</summary>
    public TimeSpan DiscoveryInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a link compares a topic's configs between its source and its destination (the config drift in its status).</summary>
    public TimeSpan TopicConfigCheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Active silos to wait for before replication starts, so replicators spread over them.</summary>
    public int MinimumSilos { get; set; } = 1;

    /// <summary>Longest wait for <see cref="MinimumSilos"/>.</summary>
    public TimeSpan StartupGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest a write into the destination takes to land or fail (the writers' message.timeout.ms):
    /// the W of fencing (<see cref="Mesh.Core.Replication.FencingWindows"/>).
    /// </summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The mesh keys; null when the region runs unsigned.</summary>
    public MeshKeys? Keys { get; set; }

    /// <summary>An untrusted provenance header sends its record to <see cref="OnBadRecord"/> instead of replicating it as local.</summary>
    public bool StrictProvenance { get; set; }

    /// <summary>An untrusted header travels on as <c>mesh.provenance.untrusted</c> (true) or is dropped.</summary>
    public bool KeepUntrustedHeader { get; set; } = true;

    /// <summary>What a record the mesh cannot take does, unless a topic rule says otherwise.</summary>
    public BadRecordAction OnBadRecord { get; set; } = BadRecordAction.Quarantine;

    /// <summary>Per-topic bad-record actions, first match wins: (whole-name pattern, action).</summary>
    public List<(TopicFilter Topics, BadRecordAction Action)> BadRecordRules { get; set; } = [];

    /// <summary>How records of <paramref name="topic"/> are judged and what happens to those the mesh cannot take.</summary>
    public ReplicationPolicy PolicyFor(string topic)
    {
        var action = OnBadRecord;
        foreach (var (topics, ruleAction) in BadRecordRules)
        {
            if (!topics.Matches(topic)) continue;
            action = ruleAction;
            break;
        }
        return new ReplicationPolicy(Keys, StrictProvenance, KeepUntrustedHeader, action);
    }
}
