using Mesh.Client.Drill;
using Mesh.Client.Local;

namespace Mesh.Integration.Tests;

/// <summary>
/// The drill's figures over plain sets of record identities, and its option checks: no Kafka, no
/// processes. They live here because only this test project references the client.
/// </summary>
public sealed class DrillMeasuresTests
{
    private static readonly DateTimeOffset Kill = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static Dictionary<string, DateTimeOffset> Acked(params (string Value, double SecondsBeforeKill)[] records) =>
        records.ToDictionary(r => r.Value, r => Kill - TimeSpan.FromSeconds(r.SecondsBeforeKill));

    [Fact]
    public void Nothing_is_the_recovery_point_when_a_survivor_holds_every_acknowledged_record()
    {
        var acked = Acked(("us-east:0", 5), ("us-east:1", 4));
        var rpo = DrillMeasures.RecoveryPoint(acked, new HashSet<string> { "us-east:0", "us-east:1", "eu-west:0" }.Contains, Kill);
        Assert.Equal(new RecoveryPoint(0, 0, []), rpo with { Examples = [] });
        Assert.Empty(rpo.Examples);
    }

    [Fact]
    public void The_recovery_point_counts_what_no_survivor_holds_and_ages_it_by_the_oldest()
    {
        var acked = Acked(("us-east:0", 9), ("us-east:1", 2.5), ("us-east:2", 1.5), ("us-east:3", 0.5));
        // One survivor holds 0 and 2, the other 1: only 3 reached none; then 1 and 3 reached none.
        var rpo = DrillMeasures.RecoveryPoint(acked, new HashSet<string> { "us-east:0", "us-east:2", "us-east:1" }.Contains, Kill);
        Assert.Equal(1, rpo.Records);
        Assert.Equal(0.5, rpo.Seconds, precision: 6);
        Assert.Equal(["us-east:3"], rpo.Examples);

        rpo = DrillMeasures.RecoveryPoint(acked, new HashSet<string> { "us-east:0", "us-east:2" }.Contains, Kill);
        Assert.Equal(2, rpo.Records);
        Assert.Equal(2.5, rpo.Seconds, precision: 6);
        Assert.Equal(["us-east:1", "us-east:3"], rpo.Examples);
    }

    [Fact]
    public void A_record_sent_after_the_kill_instant_is_never_a_negative_age()
    {
        var acked = Acked(("us-east:7", -0.2));
        var rpo = DrillMeasures.RecoveryPoint(acked, _ => false, Kill);
        Assert.Equal(1, rpo.Records);
        Assert.Equal(0, rpo.Seconds);
    }

    [Fact]
    public void Lost_is_what_the_survivor_held_that_the_group_processed_in_neither_region()
    {
        var before = new[] { "us-east:0", "eu-west:0", "us-east:1" };
        var after = new[] { "us-east:1", "eu-west:0", "eu-west:1", "eu-west:1" };
        var held = new[] { "us-east:0", "us-east:1", "eu-west:0", "eu-west:1", "eu-west:2", "ap-south:0" };

        var outcome = DrillMeasures.GroupOutcome(held, DrillMeasures.Tally(before, after));

        Assert.Equal(2, outcome.Lost);
        Assert.Equal(["ap-south:0", "eu-west:2"], outcome.LostExamples);
        // eu-west:0 and us-east:1 across the failover, eu-west:1 twice in the survivor.
        Assert.Equal(3, outcome.Redelivered);
        Assert.Equal(3, outcome.ExtraDeliveries);
    }

    [Fact]
    public void A_record_processed_only_before_the_kill_is_not_lost_and_not_redelivered()
    {
        var outcome = DrillMeasures.GroupOutcome(["us-east:0", "us-east:0"], DrillMeasures.Tally(["us-east:0"], []));
        Assert.Equal(new GroupOutcome(0, [], 0, 0), outcome with { LostExamples = [] });
    }

    [Fact]
    public void A_record_that_never_reached_the_survivor_is_the_recovery_points_not_lost()
    {
        // us-east:5 was acknowledged and processed nowhere, but the survivor never held it.
        var outcome = DrillMeasures.GroupOutcome(["us-east:4"], DrillMeasures.Tally(["us-east:4"], []));
        Assert.Equal(0, outcome.Lost);
    }

    [Fact]
    public void A_record_only_another_survivor_holds_is_out_of_the_groups_reach()
    {
        var (records, examples) = DrillMeasures.OutOfReach(["us-east:0", "ap-south:0"], ["us-east:0", "us-east:1", "us-east:1", "ap-south:0"]);
        Assert.Equal(1, records);
        Assert.Equal(["us-east:1"], examples);
        Assert.Equal(0, DrillMeasures.OutOfReach(["a:0"], []).Records);
    }

    [Fact]
    public void A_rebuilt_region_misses_nothing_it_was_expected_to_hold()
    {
        var holds = new HashSet<string> { "a:0", "b:0" };
        Assert.Equal(0, DrillMeasures.Missing(["a:0", "b:0"], holds.Contains));
        Assert.Equal(2, DrillMeasures.Missing(["a:0", "a:1", "c:0"], holds.Contains));
    }

    [Fact]
    public void A_count_is_quiet_only_after_it_held_still_for_the_whole_window()
    {
        var quiet = new Quiescence(TimeSpan.FromSeconds(3));
        var t = Kill;
        Assert.False(quiet.Observe(10, t));
        Assert.False(quiet.Observe(10, t.AddSeconds(2)));
        Assert.False(quiet.Observe(11, t.AddSeconds(2.5)));
        Assert.False(quiet.Observe(11, t.AddSeconds(5)));
        Assert.True(quiet.Observe(11, t.AddSeconds(5.5)));
    }

    [Theory]
    [InlineData(new[] { "us-east", "eu-west" }, null, 100, 10, 4, "at least three regions")]
    [InlineData(new[] { "us-east", "eu-west", "ap-south" }, "mars", 100, 10, 4, "--kill mars: not one of the drill's regions")]
    [InlineData(new[] { "us-east", "eu-west", "ap-south" }, null, 0, 10, 4, "--rate must be from 1")]
    [InlineData(new[] { "us-east", "eu-west", "ap-south" }, null, -5, 10, 4, "--rate must be from 1")]
    [InlineData(new[] { "us-east", "eu-west", "ap-south" }, null, 100, 0, 4, "--warmup must be from 1")]
    [InlineData(new[] { "us-east", "eu-west", "ap-south" }, null, 100, 10, 0, "--partitions must be from 1")]
    [InlineData(new[] { "us-east", "eu-west", "eu-west" }, null, 100, 10, 4, "names a region twice")]
    public void Options_that_cannot_make_a_drill_are_refused_with_exit_code_2(string[] regions, string? kill, int rate, int warmup, int partitions, string message)
    {
        var options = new DrillOptions { Regions = regions, Kill = kill, Rate = rate, Warmup = TimeSpan.FromSeconds(warmup), Partitions = partitions };
        var e = Assert.Throws<MeshCommandException>(options.Validate);
        Assert.Equal(2, e.ExitCode);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void The_group_fails_over_to_the_first_region_that_survives()
    {
        var options = new DrillOptions { Regions = ["us-east", "eu-west", "ap-south"], Kill = "eu-west" };
        options.Validate();
        Assert.Equal(["us-east", "ap-south"], options.Survivors);
        Assert.Equal("us-east", options.FailoverRegion);
        Assert.Equal("us-east", new DrillOptions().KilledRegion);
    }
}

/// <summary>The drill's report as people and scripts see it.</summary>
public sealed class DrillOutputTests
{
    private static DrillReport Report(bool rebuilt) => new()
    {
        Regions = ["us-east", "eu-west", "ap-south"],
        KilledRegion = "us-east",
        Survivor = "eu-west",
        Group = "mesh-drill",
        Topic = "orders",
        Partitions = 4,
        RatePerRegion = 50,
        WarmupSeconds = 10,
        Produced = new Dictionary<string, int> { ["us-east"] = 503, ["eu-west"] = 9_704, ["ap-south"] = 9_704 },
        KilledAt = new DateTimeOffset(2026, 12, 3, 8, 20, 0, TimeSpan.Zero),
        RpoRecords = 2,
        RpoSeconds = 0.1,
        RpoExamples = ["us-east:501", "us-east:502"],
        RtoSeconds = 3.3,
        ResumedFrom = "earliest",
        GroupOffsetsInSurvivor = new Dictionary<int, long>(),
        ProcessedBeforeKill = 1_492,
        ProcessedAfterFailover = 19_911,
        Lost = 0,
        LostExamples = [],
        OutOfReach = 0,
        OutOfReachExamples = [],
        Redelivered = 1_492,
        ExtraDeliveries = 1_492,
        RestartSeconds = 27.3,
        Rebuilt = rebuilt,
        RebuildSeconds = rebuilt ? 4.2 : null,
        RebuildTimeoutSeconds = 180,
        RebuildMissing = rebuilt ? 0 : 503,
        RebuildMissingOwn = rebuilt ? 0 : 503,
        Identical = rebuilt,
        Audit = ["regions agree: 1 topic, 4 partitions compared across 3 regions"],
        DurationSeconds = 210,
        Failures = [],
    };

    [Fact]
    public void The_json_object_has_the_figures_under_their_documented_names()
    {
        using var document = System.Text.Json.JsonDocument.Parse(DrillOutput.Json(Report(rebuilt: false)));
        var root = document.RootElement;
        Assert.Equal(2, root.GetProperty("rpo_records").GetInt32());
        Assert.Equal(0.1, root.GetProperty("rpo_seconds").GetDouble());
        Assert.Equal(3.3, root.GetProperty("rto_seconds").GetDouble());
        Assert.Equal(0, root.GetProperty("lost").GetInt32());
        Assert.Equal(1_492, root.GetProperty("redelivered").GetInt32());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, root.GetProperty("rebuild_seconds").ValueKind);
        Assert.False(root.GetProperty("rebuilt").GetBoolean());
        Assert.False(root.GetProperty("identical").GetBoolean());
        Assert.False(root.GetProperty("passed").GetBoolean());
        Assert.Equal(9_704, root.GetProperty("produced").GetProperty("eu-west").GetInt32());
        Assert.Equal("us-east", root.GetProperty("killed_region").GetString());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_table_fits_80_columns(bool rebuilt)
    {
        var writer = new StringWriter();
        var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Out = new Spectre.Console.AnsiConsoleOutput(writer),
            Ansi = Spectre.Console.AnsiSupport.No,
            ColorSystem = Spectre.Console.ColorSystemSupport.NoColors,
        });
        console.Profile.Width = 80;
        console.Write(DrillOutput.Table(Report(rebuilt)));
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, line => Assert.True(line.TrimEnd().Length <= 80, line));
        // One row per figure: nothing wrapped onto a second line.
        Assert.True(lines.Length == 3 + 13 + 1, writer.ToString());
        Assert.Contains(lines, l => l.Contains(rebuilt ? "│ rebuild_seconds │ 4.2 s" : "│ rebuild_seconds │ not in 180.0 s"));
    }
}
