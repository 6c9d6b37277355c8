using Mesh.Client.Traffic;
using Mesh.Grains;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>Which topics cross, and how: missing targets created alike, mismatched ones refused, internal ones never.</summary>
public sealed class TopicRulesTests
{
    private static readonly string[] Regions = ["us-east", "eu-west"];

    [Fact]
    public async Task Missing_targets_are_created_mismatches_stop_with_an_error_and_internal_topics_stay_home()
    {
        await using var mesh = TestMesh.InNewFolder("topics");
        await mesh.UpAsync(Regions, partitions: 2, "orders");

        // Only in us-east: created in eu-west with the same partition count, then replicated exactly.
        await mesh.Local.CreateTopicAsync("us-east", "inventory", 3);
        await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("us-east"), "us-east", "inventory", 200, keys: 10);
        var check = await mesh.WaitAndCheckAsync("inventory", new Dictionary<string, int> { ["us-east"] = 200 }, TimeSpan.FromMinutes(1));
        Assert.True(check.Ok, string.Join("\n", check.Problems));
        Assert.Equal(3, mesh.PartitionCount("eu-west", "inventory"));

        // Different partition counts: the link refuses the topic and says why in the status.
        await mesh.Local.CreateTopicAsync("us-east", "payments", 4);
        await mesh.Local.CreateTopicAsync("eu-west", "payments", 2);
        await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("us-east"), "us-east", "payments", 50, keys: 5);
        var stopped = await Eventually.WaitAsync("us-east->eu-west to stop 'payments'",
            async () => (await mesh.StatusAsync("eu-west")).InboundLinks.Single().Topics.FirstOrDefault(t => t.Topic == "payments"),
            t => t is { State: ReplicationState.Stopped }, TimeSpan.FromMinutes(1), t => t?.ToString() ?? "not found yet");
        Assert.Contains("partition count mismatch", stopped!.Error);
        Assert.Contains("4 partitions in us-east and 2 in eu-west", stopped.Error);
        Assert.Equal(0, mesh.RecordCount("eu-west", "payments"));
        Assert.Equal(2, mesh.PartitionCount("eu-west", "payments"));

        // Internal topics are never replicated, whatever the filter says.
        await mesh.Local.CreateTopicAsync("us-east", "__private", 1);
        await TestTraffic.ProduceAsync(mesh.Local.Bootstrap("us-east"), "us-east", "__private", 10, keys: 1);
        // A later topic proves discovery has run since '__private' appeared.
        await mesh.Local.CreateTopicAsync("us-east", "later", 1);
        await Eventually.WaitAsync("'later' to be discovered by us-east->eu-west",
            async () => (await mesh.StatusAsync("eu-west")).InboundLinks.Single().Topics.Select(t => t.Topic).ToList(),
            topics => topics.Contains("later"), TimeSpan.FromMinutes(1), t => string.Join(",", t));
        var topicsSeen = (await mesh.StatusAsync("eu-west")).InboundLinks.Single().Topics.Select(t => t.Topic).ToList();
        Assert.DoesNotContain("__private", topicsSeen);
        Assert.DoesNotContain("__mesh_checkpoints", topicsSeen);
        Assert.Equal(0, mesh.PartitionCount("eu-west", "__private"));
    }
}
