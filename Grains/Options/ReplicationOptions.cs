namespace Mesh.Grains.Options;

/// <summary>What the grains of one region need to know; the silo fills it from the region configuration.</summary>
public sealed class ReplicationOptions
{
    /// <summary>This region's id: the destination of every link that runs here.</summary>
    public string LocalRegion { get; set; } = "";

    /// <summary>Regions this region pulls from.</summary>
    public List<string> Peers { get; set; } = [];

    /// <summary>Regular expressions (whole-name) of topics to replicate; empty means all.</summary>
    public List<string> TopicsInclude { get; set; } = [".*"];

    public List<string> TopicsExclude { get; set; } = [];

    /// <summary>Most records written in one batch per partition.</summary>
    public int MaxBatchRecords { get; set; } = 1000;

    /// <summary>How often a partition's checkpoint is written while records flow.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a link looks for new topics in its source.</summary>
    public TimeSpan DiscoveryInterval { get; set; } = TimeSpan.FromSeconds(5);
}
