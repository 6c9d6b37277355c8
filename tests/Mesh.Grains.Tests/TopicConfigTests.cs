using Mesh.Grains.Tests.Hosting;
using Mesh.Grains.Tests.Infrastructure;

namespace Mesh.Grains.Tests;

/// <summary>One silo of region d, reading region s from the in-memory Kafka.</summary>
public sealed class TopicConfigCluster() : MeshCluster("d", silos: 1);

/// <summary>
/// A target topic a link creates takes its source's configs (those the mesh copies), and a config
/// changed on one side afterwards shows in the link's status as drift until both sides agree again.
/// </summary>
public sealed class TopicConfigTests(TopicConfigCluster mesh) : IClassFixture<TopicConfigCluster>
{
    private const string Topic = "profiles";
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_created_target_copies_the_source_configs_and_a_later_change_shows_as_drift()
    {
        var kafka = mesh.World.Kafka;
        kafka.CreateTopic("s", Topic, 2, new Dictionary<string, string>
        {
            ["cleanup.policy"] = "compact",
            ["retention.ms"] = "123456",
            ["min.compaction.lag.ms"] = "60000",
            ["min.insync.replicas"] = "2", // the source cluster's own durability: not copied
        });

        var applied = await mesh.Grains.GetGrain<ITopologyGrain>("d").ApplyAsync(new ApplyRequest(Documents.Mesh(1, "s", "d"), 0, false));
        Assert.True(applied.Error is null, applied.Line());

        var created = await Eventually.WaitAsync($"the link s->d to create '{Topic}' in d",
            () => Task.FromResult(kafka.TopicConfigs("d", Topic)), c => c is not null, Within, c => "no such topic in d", mesh.World);
        Assert.Equal(
            "cleanup.policy=compact, min.compaction.lag.ms=60000, retention.ms=123456",
            string.Join(", ", created!.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}")));

        var link = mesh.Grains.GetGrain<ILinkGrain>("s->d");
        var replicating = await Eventually.WaitAsync($"'{Topic}' on s->d to replicate",
            () => link.GetStatusAsync(), s => s.Topics.Any(t => t.Topic == Topic && t.State == ReplicationState.Replicating), Within, Describe, mesh.World);
        Assert.Null(replicating.Topics.Single(t => t.Topic == Topic).ConfigDrift);

        // An operator changes the source's retention and removes its compaction lag.
        kafka.AlterTopicConfigs("s", Topic, ("retention.ms", "999"), ("min.compaction.lag.ms", null));
        var drifted = await Eventually.WaitAsync($"s->d to report the drift of '{Topic}'",
            () => link.GetStatusAsync(), s => s.Topics.Single(t => t.Topic == Topic).ConfigDrift is { Count: 2 }, Within, Describe, mesh.World);
        Assert.Equal(
            [new TopicConfigDrift("min.compaction.lag.ms", null, "60000"), new TopicConfigDrift("retention.ms", "999", "123456")],
            drifted.Topics.Single(t => t.Topic == Topic).ConfigDrift!);
        Assert.Contains(mesh.World.Log, line => line.Contains($"Topic '{Topic}' is configured differently in s and d: min.compaction.lag.ms: (not set) in s, 60000 in d, retention.ms: 999 in s, 123456 in d"));

        // Brought in line in the destination: the drift goes.
        kafka.AlterTopicConfigs("d", Topic, ("retention.ms", "999"), ("min.compaction.lag.ms", null));
        await Eventually.WaitAsync($"s->d to report no drift of '{Topic}'",
            () => link.GetStatusAsync(), s => s.Topics.Single(t => t.Topic == Topic).ConfigDrift is null, Within, Describe, mesh.World);
        // Nothing of it touched the destination's own configs: the mesh copies only when it creates a topic.
        Assert.Equal("cleanup.policy=compact, retention.ms=999",
            string.Join(", ", kafka.TopicConfigs("d", Topic)!.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}")));
    }

    private static string Describe(LinkStatus status) =>
        string.Join("; ", status.Topics.Select(t => $"{t.Topic} {t.State} drift [{string.Join(", ", (t.ConfigDrift ?? []).Select(d => $"{d.Key}: {d.SourceValue} vs {d.DestinationValue}"))}] {t.Error}"));
}
