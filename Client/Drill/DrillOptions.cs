using Mesh.Client.Local;

namespace Mesh.Client.Drill;

/// <summary>What a drill runs: its regions, which one dies, the traffic, and how long it waits for a rebuild.</summary>
public sealed record DrillOptions
{
    public static readonly IReadOnlyList<string> DefaultRegions = ["us-east", "eu-west", "ap-south"];

    public IReadOnlyList<string> Regions { get; init; } = DefaultRegions;

    /// <summary>The region that dies, where the group reads before the kill; default the first region.</summary>
    public string? Kill { get; init; }

    /// <summary>Records per second produced into each region.</summary>
    public int Rate { get; init; } = 50;

    /// <summary>Traffic before the kill.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(10);

    public int Partitions { get; init; } = 4;

    /// <summary>How long after the restart the dead region may take to hold everything the survivors held.</summary>
    public TimeSpan RebuildTimeout { get; init; } = TimeSpan.FromMinutes(3);

    public string KilledRegion => Kill ?? Regions[0];

    /// <summary>The regions that stay up, in the order given.</summary>
    public IReadOnlyList<string> Survivors => [.. Regions.Where(r => r != KilledRegion)];

    /// <summary>Where the group fails over to: the first survivor.</summary>
    public string FailoverRegion => Survivors[0];

    /// <summary>Every problem with the options at once.</summary>
    /// <exception cref="MeshCommandException">The options cannot make a drill (exit code 2).</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (Regions.Count < 3)
            problems.Add($"--regions needs at least three regions, so that two survive the kill and keep replicating to each other (got {Regions.Count}: {string.Join(",", Regions)})");
        else
        {
            try
            {
                LocalMesh.ValidateRegions(Regions);
            }
            catch (MeshCommandException e)
            {
                problems.Add(e.Message.TrimEnd('.'));
            }
        }
        if (Kill is not null && !Regions.Contains(Kill))
            problems.Add($"--kill {Kill}: not one of the drill's regions ({string.Join(", ", Regions)})");
        if (Rate is < 1 or > 10_000) problems.Add($"--rate must be from 1 to 10000 records per second per region, not {Rate}");
        if (Warmup < TimeSpan.FromSeconds(1) || Warmup > TimeSpan.FromHours(1))
            problems.Add($"--warmup must be from 1 to 3600 seconds, not {Warmup.TotalSeconds:0.#}");
        if (Partitions is < 1 or > 1000) problems.Add($"--partitions must be from 1 to 1000, not {Partitions}");
        if (RebuildTimeout < TimeSpan.FromSeconds(1) || RebuildTimeout > TimeSpan.FromHours(1))
            problems.Add($"--rebuild-timeout must be from 1 to 3600 seconds, not {RebuildTimeout.TotalSeconds:0.#}");
        if (problems.Count > 0) throw new MeshCommandException(string.Join("; ", problems) + ".", 2);
    }
}
