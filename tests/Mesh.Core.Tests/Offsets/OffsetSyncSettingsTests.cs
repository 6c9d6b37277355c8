using Mesh.Core.Offsets;
using Mesh.Core.Topology;

namespace Mesh.Core.Tests.Offsets;

public sealed class OffsetSyncSettingsTests
{
    [Fact]
    public void Named_groups_are_synced_unless_sync_is_false_every_five_seconds_by_default()
    {
        Assert.False(OffsetSyncSettings.From(null).Enabled);
        Assert.False(OffsetSyncSettings.From(new OffsetSettings()).Enabled);
        var named = OffsetSyncSettings.From(new OffsetSettings { Groups = new ValueList<string>(["billing"]) });
        Assert.True(named.Enabled);
        Assert.Equal(TimeSpan.FromSeconds(5), named.Interval);
        Assert.False(OffsetSyncSettings.From(new OffsetSettings { Groups = new ValueList<string>(["billing"]), Sync = false }).Enabled);
        Assert.Equal(TimeSpan.FromSeconds(1), OffsetSyncSettings.From(new OffsetSettings { Groups = new ValueList<string>(["billing"]), IntervalSeconds = 1 }).Interval);
    }

    [Fact]
    public void Groups_are_whole_name_expressions_minus_the_excluded_and_only_plain_names_are_known_without_listing()
    {
        var settings = OffsetSyncSettings.From(new OffsetSettings
        {
            Groups = new ValueList<string>(["billing", "reports-.*", "app.v2", "old"]),
            GroupsExclude = new ValueList<string>(["reports-test", "old"]),
        });
        Assert.True(settings.Covers("billing"));
        Assert.False(settings.Covers("billing-2"));
        Assert.True(settings.Covers("reports-daily"));
        Assert.False(settings.Covers("reports-test"));
        Assert.False(settings.Covers("old"));
        Assert.Equal(["billing", "app.v2"], settings.NamedGroups());
        Assert.True(settings.HasPatterns);
        Assert.False(OffsetSyncSettings.From(new OffsetSettings { Groups = new ValueList<string>(["billing", "app.v2"]) }).HasPatterns);
    }

    [Theory]
    [InlineData("b", "a=true b=false c=false", "a", "it is active in a only")]
    [InlineData("b", "a=true b=false c=", "a", "it is active in a only")]
    [InlineData("b", "a=true b=true c=false", null, "it is active in b")]
    [InlineData("b", "a= b=false c=false", null, "it is active in no region that answered (a did not)")]
    [InlineData("b", "a=false b=false c=false", null, "it is active in no region")]
    [InlineData("b", "a=true b=false c=true", null, "it is active in several regions (a, c)")]
    [InlineData("b", "a=true b= c=false", null, "b cannot say whether it is active there")]
    public void A_region_takes_offsets_only_from_the_one_region_where_the_group_is_active(string region, string activity, string? source, string reason)
    {
        var active = activity.Split(' ').Select(a => a.Split('=')).ToDictionary(a => a[0], a => a[1] == "" ? (bool?)null : bool.Parse(a[1]));
        Assert.Equal(new SyncSource(source, reason), SyncSource.Decide(region, active));
    }
}
