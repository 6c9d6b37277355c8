using System.Text;
using Confluent.Kafka;
using Mesh.Client.Traffic;
using Mesh.Core.Replication;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// The issue's reproductions, with kcat as the outside client: headers an application wrote itself
/// (forged, copied from another record, malformed, naming regions in their hops) never make the mesh
/// skip a genuine record; every record reaches every region exactly once.
/// </summary>
public sealed class ProvenanceTrustTests
{
    private static readonly string[] Regions = ["r1", "r2", "r3"];
    private const string Topic = "orders";

    [Fact]
    public async Task Headers_an_application_wrote_never_make_the_mesh_skip_a_genuine_record()
    {
        await using var mesh = TestMesh.InNewFolder("trust");
        await mesh.UpAsync(Regions, partitions: 4, Topic);
        var b1 = mesh.Local.Bootstrap("r1");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        // A header claiming r1 itself with a huge origin offset, then 100 genuine records in the same partition.
        await Kcat.ProduceAsync(b1, Topic, 0, ["forged:x"], $"mesh.provenance=2|r1|abcd1234|{Topic}|0|999999999|{now}|r1|-");
        await Kcat.ProduceAsync(b1, Topic, 0, Enumerable.Range(1, 100).Select(i => $"g-{i:D3}:v"));
        // A header whose hops name r2 and r3 (the old rule made the record skip both), with the mesh's key
        // id but a MAC nobody made: believed by nobody, replicated as r1's own record.
        var keyId = MeshKeys.Create((await File.ReadAllTextAsync(mesh.Local.Paths.MeshKeyFile)).Trim(), null)!.SigningKeyId;
        await Kcat.ProduceAsync(b1, Topic, 2, ["hops:x"], $"mesh.provenance=2|r3|abcd1234|{Topic}|2|5|{now}|r3,r2,r1|{keyId}.AAAAAAAAAAAAAAAAAAAAAA");
        // The same, unsigned: in a mesh that signs, an unsigned header cannot be judged (the regions'
        // keys may differ), so it is quarantined, never believed and never re-labelled.
        await Kcat.ProduceAsync(b1, Topic, 3, ["unsigned:x"], $"mesh.provenance=2|r3|abcd1234|{Topic}|3|5|{now}|r3,r2,r1|-");
        // A malformed header (the old rule stopped the partition for good), and a record after it.
        await Kcat.ProduceAsync(b1, Topic, 1, ["bad:x"], "mesh.provenance=garbage");
        await Kcat.ProduceAsync(b1, Topic, 1, ["after-bad:y"]);

        // A stream processor in r2 copies the headers of a replicated record onto a derived record.
        var replicated = await WaitForRecordAsync(mesh.Local.Bootstrap("r2"), Topic, 0, "g-001");
        var copiedHeader = replicated.Message.Headers.Single(h => h.Key == ProvenanceCodec.HeaderName).GetValueBytes();
        await Kcat.ProduceAsync(mesh.Local.Bootstrap("r2"), Topic, 0, ["derived:from-g-001"], $"mesh.provenance={Encoding.UTF8.GetString(copiedHeader)}");

        var fromR1 = new[] { "forged", "hops", "bad", "after-bad" }.Concat(Enumerable.Range(1, 100).Select(i => $"g-{i:D3}")).ToList();
        var expected = new Dictionary<string, List<string>>
        {
            ["r1"] = [.. fromR1, "unsigned", "derived"],
            ["r2"] = [.. fromR1, "derived"],
            ["r3"] = [.. fromR1, "derived"],
        };
        foreach (var region in Regions)
        {
            var keys = await Eventually.WaitAsync($"{region} to hold all {expected[region].Count} records",
                async () => (await Kcat.ReadAllAsync(mesh.Local.Bootstrap(region), Topic)).Select(l => l.Split('|')[1]).ToList(),
                keys => keys.Count >= expected[region].Count, TimeSpan.FromMinutes(1),
                keys => $"{keys.Count} records; missing: {string.Join(",", expected[region].Except(keys).Take(10))}");
            Assert.Equal(expected[region].Order(StringComparer.Ordinal), keys.Order(StringComparer.Ordinal));
        }

        // The derived record left r2 as r2's own record: its identity is where it was written.
        var derivedInR3 = (await Kcat.ReadAllAsync(mesh.Local.Bootstrap("r3"), Topic)).Single(l => l.Split('|')[1] == "derived");
        Assert.Contains("mesh.provenance=2|r2|", derivedInR3);
        Assert.Contains($"mesh.provenance.untrusted={Encoding.UTF8.GetString(copiedHeader)}", derivedInR3);

        // Nothing is lost or stopped: the untrusted headers were not believed, the unsigned one is quarantined in r2 and r3.
        foreach (var region in new[] { "r2", "r3" })
        {
            var link = await Eventually.WaitAsync($"{region} to quarantine the unsigned record",
                async () => (await mesh.StatusAsync(region)).InboundLinks.Single(l => l.Source == "r1").Topics.Single(),
                t => t.RecordsQuarantined == 1, TimeSpan.FromMinutes(1), t => $"quarantined {t.RecordsQuarantined}, {t.State} {t.Error}");
            Assert.Equal(Grains.ReplicationState.Replicating, link.State);
            Assert.Equal(0, link.RecordsExpiredBeforeReplication);
        }
        var list = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(1), "quarantine", "list", "--region", "r2", "--json", "--dir", mesh.Dir);
        Assert.Contains("unverifiable-provenance", list.Stdout);
        Assert.Contains("\"key\": \"unsigned\"", list.Stdout);

        // Quiet for a moment, the counts stay put (nothing loops).
        await Task.Delay(TimeSpan.FromSeconds(2));
        foreach (var region in Regions) Assert.Equal(expected[region].Count, mesh.RecordCount(region, Topic));
    }

    private static async Task<ConsumeResult<string, string>> WaitForRecordAsync(string bootstrap, string topic, int partition, string key)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "trust-test", EnableAutoCommit = false }).Build();
        consumer.Assign(new TopicPartitionOffset(topic, partition, Offset.Beginning));
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result?.Message?.Key == key) return result;
        }
        throw new TimeoutException($"record '{key}' did not reach {topic}/{partition} at {bootstrap} within a minute");
    }
}
