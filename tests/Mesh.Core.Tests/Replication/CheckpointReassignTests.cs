using Mesh.Core.Replication;
using static Mesh.Core.Tests.Replication.TestData;

namespace Mesh.Core.Tests.Replication;

/// <summary>
/// <see cref="ReplicationCheckpoint.Reassign"/> on link hub -> c: what the link gains, where it goes back
/// to in the hub's log and what it catches up there.
/// </summary>
public sealed class CheckpointReassignTests
{
    private const string Hub = "hub";

    private static OriginSet Set(string text)
    {
        Assert.True(OriginSet.TryParse(text, out var set, out var reason), reason);
        return set;
    }

    private static CatchUp? CatchUpOf(string text)
    {
        if (text.Length == 0) return null;
        Assert.True(CatchUp.TryParse(text, out var catchUp, out var reason), reason);
        return catchUp;
    }

    private static ReplicationCheckpoint At(long next, string carried, string catchUp = "") =>
        new ReplicationCheckpoint(next, new OriginVector(), 900, Inc, Inc2, 2, 3) { Carried = Set(carried), CatchUp = CatchUpOf(catchUp) };

    /// <summary>(before: next, carried, catch-up; now carried; low watermark) -> (gained, next, catch-up). Catch-ups are <c>until:origins</c>.</summary>
    public static TheoryData<string, long, string, string, string, long, string, long, string> Table => new()
    {
        { "nothing changes", 50, "a,hub", "", "a,hub", 0, "", 50, "" },
        { "gains an origin: back to the low watermark, catch it up to where it was", 50, "hub", "", "a,hub", 0, "a", 0, "50:a" },
        { "gains two origins", 50, "hub", "", "a,b,hub", 0, "a,b", 0, "50:a,b" },
        { "the low watermark is where it goes back to", 50, "hub", "", "a,hub", 20, "a", 20, "50:a" },
        { "a low watermark above the position leaves it there", 50, "hub", "", "a,hub", 80, "a", 50, "50:a" },
        { "a low watermark at the position", 50, "hub", "", "a,hub", 50, "a", 50, "50:a" },
        { "at the start of the log", 0, "hub", "", "a,hub", 0, "a", 0, "0:a" },
        { "gaining its own source is no gain: it always carries its records", 50, "a", "", "a,hub", 0, "", 50, "" },
        { "gains an origin and its own source", 50, "a", "", "a,b,hub", 0, "b", 0, "50:b" },
        { "loses an origin", 50, "a,hub", "", "hub", 0, "", 50, "" },
        { "swaps one origin for another", 50, "a,hub", "", "b,hub", 0, "b", 0, "50:b" },
        { "a catch-up goes on for the origins still carried", 30, "a,b,hub", "80:a,b", "b,hub", 0, "", 30, "80:b" },
        { "a catch-up of origins no longer carried is dropped", 30, "a,hub", "80:a", "hub", 0, "", 30, "" },
        { "a catch-up under way is kept when nothing changes", 30, "a,hub", "80:a", "a,hub", 0, "", 30, "80:a" },
        { "gaining during a catch-up goes to the farther end and catches up both", 30, "a,hub", "80:a", "a,b,hub", 10, "b", 10, "80:a,b" },
        { "gaining during a catch-up of a dropped origin still reaches its end", 30, "a,hub", "80:a", "b,hub", 0, "b", 0, "80:b" },
        { "gaining after a catch-up's end (read past it)", 90, "a,hub", "80:a", "a,b,hub", 0, "b", 0, "90:a,b" },
        { "every origin, still every origin", 50, "*", "", "*", 0, "", 50, "" },
        { "every origin to a finite set gains nothing", 50, "*", "", "a,hub", 0, "", 50, "" },
        { "nothing carried before (a link no route used)", 50, "", "", "a,hub", 0, "a", 0, "50:a" },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Reassign(string description, long next, string carried, string catchUp, string now, long lowWatermark,
        string expectedGained, long expectedNext, string expectedCatchUp)
    {
        var before = At(next, carried, catchUp);

        var after = before.Reassign(Set(now), Hub, lowWatermark, out var gained);

        Assert.True(Set(expectedGained).Equals(gained), $"{description}: gained {gained}");
        Assert.True(expectedNext == after.NextSourceOffset, $"{description}: next {after.NextSourceOffset}");
        Assert.True(Equals(CatchUpOf(expectedCatchUp), after.CatchUp), $"{description}: catch-up {after.CatchUp?.Encode() ?? "none"}");
        Assert.Equal(Set(now), after.Carried);
        // Nothing else moves.
        Assert.Equal(before with { NextSourceOffset = after.NextSourceOffset, Carried = after.Carried, CatchUp = after.CatchUp }, after);
        Assert.Equal(Set(carried), before.Carried);
    }

    [Fact]
    public void A_version_2_checkpoint_takes_what_the_link_carries_now_and_gains_nothing()
    {
        Assert.True(ReplicationCheckpoint.TryDecode("2;next=50;dest=9;src=1a2b3c4d;dst=5e1f09aa;quarantined=0;expired=0;vector=hub@1a2b3c4d:49", out var v2, out var reason), reason);

        var after = v2!.Reassign(Set("a,hub"), Hub, 0, out var gained);

        Assert.Equal(OriginSet.None, gained);
        Assert.Equal(Set("a,hub"), after.Carried);
        Assert.Null(after.CatchUp);
        Assert.Equal(50L, after.NextSourceOffset);
        Assert.Equal("3;next=50;dest=9;src=1a2b3c4d;dst=5e1f09aa;quarantined=0;expired=0;carried=a,hub;catchup=;vector=hub@1a2b3c4d:49", after.Encode());
    }

    [Fact]
    public void Moving_to_every_origin_from_a_finite_set_is_refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => At(50, "a,hub").Reassign(OriginSet.All, Hub, 0, out _));

        Assert.Contains("naming changes are refused before this point", error.Message);
    }

    [Fact]
    public void Reassigning_twice_to_the_same_set_gains_once()
    {
        var once = At(50, "hub").Reassign(Set("a,hub"), Hub, 0, out var first);
        var twice = once.Reassign(Set("a,hub"), Hub, 0, out var second);

        Assert.Equal(Set("a"), first);
        Assert.Equal(OriginSet.None, second);
        Assert.Equal(once, twice);
    }

    [Fact]
    public void A_reassigned_checkpoint_round_trips()
    {
        var reassigned = At(50, "hub").Reassign(Set("a,b,hub"), Hub, 7, out _);

        Assert.True(ReplicationCheckpoint.TryDecode(reassigned.Encode(), out var decoded, out var reason), reason);

        Assert.Equal(reassigned, decoded);
        Assert.Equal("3;next=7;dest=900;src=1a2b3c4d;dst=5e1f09aa;quarantined=2;expired=3;carried=a,b,hub;catchup=50:a,b;vector=", decoded!.Encode());
    }

    [Fact]
    public void A_negative_low_watermark_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => At(50, "hub").Reassign(Set("a,hub"), Hub, -1, out _));
    }
}
