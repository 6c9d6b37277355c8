using System.Security.Cryptography;
using System.Text;
using Mesh.Core.Backup;

namespace Mesh.Core.Tests.Backup;

public class BackupCatalogTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly BackupStream OrdersEu = new("orders", 0, "eu", "11111111");
    private static readonly BackupStream OrdersUs = new("orders", 0, "us", "22222222");
    private static readonly BackupStream OrdersEu1 = new("orders", 1, "eu", "11111111");
    private static readonly BackupStream Audit = new("audit", 0, "eu", "r0badf00");

    private static async Task<InMemoryBackupStore> FilledStoreAsync()
    {
        var store = new InMemoryBackupStore();
        await BackupCatalog.EnsureDescriptorAsync(store, null, TimeProvider.System, None);
        foreach (var stream in new[] { OrdersUs, OrdersEu1, OrdersEu, Audit })
        {
            var chain = await StreamChain.LoadAsync(store, stream, None);
            await chain.AppendAsync(StreamChainTests.Range(0, 4), null, stream.OriginRegion, null, TimeProvider.System, None);
            await chain.AppendAsync(StreamChainTests.Range(5, 6), null, stream.OriginRegion, null, TimeProvider.System, None);
        }
        await BackupCatalog.WriteTopicConfigAsync(store, new TopicConfigSnapshot("orders", 2, new Dictionary<string, string> { ["retention.ms"] = "86400000", ["cleanup.policy"] = "delete" }, "us", 2000), None);
        await BackupCatalog.WriteTopicConfigAsync(store, new TopicConfigSnapshot("orders", 2, new Dictionary<string, string> { ["cleanup.policy"] = "delete" }, "eu", 1000), None);
        await BackupCatalog.WriteGroupSnapshotAsync(store, new GroupSnapshot("billing", "orders", 0, "eu", 12, 5000, [new OriginMark("eu", "11111111", 6), new OriginMark("us", "22222222", 4)]), None);
        await BackupCatalog.WriteGroupSnapshotAsync(store, new GroupSnapshot("billing", "audit", 0, "eu", 3, 4000, [new OriginMark("eu", "r0badf00", 2)]), None);
        return store;
    }

    [Fact]
    public async Task Load_reads_topics_configs_streams_and_groups_in_order()
    {
        var store = await FilledStoreAsync();

        var catalog = await BackupCatalog.LoadAsync(store, null, None);

        Assert.Equal(SegmentCodec.Format, catalog.Descriptor!.Format);
        Assert.Equal(["audit", "orders"], catalog.Topics.Select(t => t.Topic));
        var orders = catalog.Topic("orders")!;
        Assert.Equal([1000L, 2000L], orders.Configs.Select(c => c.TakenAtMs));
        Assert.Equal("86400000", orders.Configs[1].Configs["retention.ms"]);
        Assert.Equal([OrdersEu, OrdersUs, OrdersEu1], orders.Streams.Select(s => s.Stream));
        Assert.All(orders.Streams, s => Assert.Equal([0L, 1L], s.Entries.Select(e => e.Sequence)));
        Assert.Empty(catalog.Topic("audit")!.Configs);
        Assert.Equal([4000L, 5000L], catalog.Groups.Select(g => g.TakenAtMs));
        Assert.Equal(new OriginMark("us", "22222222", 4), catalog.Groups[1].Marks[1]);
        Assert.Empty(catalog.Orphans);
        Assert.Empty(catalog.MissingSegments);
    }

    [Fact]
    public async Task Load_of_one_topic_leaves_the_others_out()
    {
        var store = await FilledStoreAsync();
        var catalog = await BackupCatalog.LoadAsync(store, "audit", None);
        Assert.Equal(["audit"], catalog.Topics.Select(t => t.Topic));
        Assert.Equal(["audit"], catalog.Groups.Select(g => g.Topic));
    }

    [Fact]
    public async Task Orphans_and_missing_segments_are_listed()
    {
        var store = await FilledStoreAsync();
        var orphan = BackupLayout.SegmentName(OrdersEu, 2, 7, 9, "deadbeef");
        await store.TryCreateAsync(orphan, SegmentCodec.Encode(OrdersEu, 2, StreamChainTests.Range(7, 9), "eu", 1, null), None);
        var entry = (await BackupCatalog.LoadAsync(store, "orders", None)).Topic("orders")!.Streams[1].Entries[0];
        store.Remove(BackupLayout.StreamFolder(OrdersUs) + entry.Segment);

        var catalog = await BackupCatalog.LoadAsync(store, null, None);

        Assert.Equal([orphan], catalog.Orphans.Select(o => o.Name));
        var missing = Assert.Single(catalog.MissingSegments);
        Assert.Equal((OrdersUs, entry), (missing.Stream, missing.Entry));
        var e = await Assert.ThrowsAsync<SegmentCorruptException>(() => BackupCatalog.ReadSegmentAsync(store, OrdersUs, entry, null, None));
        Assert.Equal(missing.Name, e.Name);
        Assert.Contains("is missing from in-memory store", e.Message);
    }

    [Fact]
    public async Task Reading_a_damaged_segment_names_the_object()
    {
        var store = await FilledStoreAsync();
        var entry = (await BackupCatalog.LoadAsync(store, "audit", None)).Topic("audit")!.Streams[0].Entries[1];
        var name = BackupLayout.StreamFolder(Audit) + entry.Segment;
        var good = await BackupCatalog.ReadSegmentAsync(store, Audit, entry, null, None);
        Assert.Equal([5L, 6L], good.Records.Select(r => r.OriginOffset));

        store.FlipByte(name, 30);
        var e = await Assert.ThrowsAsync<SegmentCorruptException>(() => BackupCatalog.ReadSegmentAsync(store, Audit, entry, null, None));

        Assert.Equal(name, e.Name);
        Assert.StartsWith($"segment {name} in in-memory store: SHA-256 ", e.Message);
        Assert.Contains($"does not match the manifest's {entry.Sha256}", e.Message);
    }

    [Fact]
    public async Task Reading_an_encrypted_segment_with_the_wrong_key_names_the_object_and_both_keys()
    {
        var key = new SegmentKey(RandomNumberGenerator.GetBytes(32));
        var other = new SegmentKey(RandomNumberGenerator.GetBytes(32));
        var store = new InMemoryBackupStore();
        await BackupCatalog.EnsureDescriptorAsync(store, key, TimeProvider.System, None);
        var chain = await StreamChain.LoadAsync(store, Audit, None);
        var entry = (await chain.AppendAsync(StreamChainTests.Range(0, 3), null, "eu", key, TimeProvider.System, None)).Entry!;
        var name = BackupLayout.StreamFolder(Audit) + entry.Segment;

        var decoded = await BackupCatalog.ReadSegmentAsync(store, Audit, entry, key, None);
        var wrong = await Assert.ThrowsAsync<SegmentCorruptException>(() => BackupCatalog.ReadSegmentAsync(store, Audit, entry, other, None));

        Assert.Equal(4, decoded.Records.Count);
        Assert.Equal(name, wrong.Name);
        Assert.Equal($"segment {name} in in-memory store: segment {Audit} #0 is encrypted with key id {key.Id}, the given key is {other.Id}", wrong.Message);
    }

    [Fact]
    public async Task A_segment_swapped_for_another_valid_one_is_caught_by_the_manifest()
    {
        var store = await FilledStoreAsync();
        var entries = (await BackupCatalog.LoadAsync(store, "audit", None)).Topic("audit")!.Streams[0].Entries;
        var other = store.Peek(BackupLayout.StreamFolder(Audit) + entries[1].Segment)!;
        store.Overwrite(BackupLayout.StreamFolder(Audit) + entries[0].Segment, other);
        // Even with a manifest that agrees on the hash, the header must agree on the place in the chain.
        var forged = entries[0] with { Sha256 = SegmentCodec.Sha256Hex(other) };

        var e = await Assert.ThrowsAsync<SegmentCorruptException>(() => BackupCatalog.ReadSegmentAsync(store, Audit, forged, null, None));

        Assert.Contains("its manifest entry says", e.Message);
    }

    [Fact]
    public async Task Snapshots_are_written_once_and_an_identical_rewrite_is_fine()
    {
        var store = new InMemoryBackupStore();
        var snapshot = new TopicConfigSnapshot("orders", 3, new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" }, "eu", 42);
        await BackupCatalog.WriteTopicConfigAsync(store, snapshot, None);
        await BackupCatalog.WriteTopicConfigAsync(store, snapshot with { Configs = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" } }, None);

        var e = await Assert.ThrowsAsync<BackupStoreException>(() => BackupCatalog.WriteTopicConfigAsync(store, snapshot with { Partitions = 4 }, None));
        Assert.Contains("topics/orders/config/000000000000042-eu.json already exists with different content", e.Message);
        Assert.Equal("{\"topic\":\"orders\",\"partitions\":3,\"configs\":{\"a\":\"1\",\"b\":\"2\"},\"region\":\"eu\",\"takenAtMs\":42}",
            Encoding.UTF8.GetString(store.Peek("topics/orders/config/000000000000042-eu.json")!));

        var group = new GroupSnapshot("g", "orders", 1, "eu", 10, 42, [new OriginMark("eu", "11111111", 9)]);
        await BackupCatalog.WriteGroupSnapshotAsync(store, group, None);
        await BackupCatalog.WriteGroupSnapshotAsync(store, group with { Marks = [new OriginMark("eu", "11111111", 9)] }, None);
        await Assert.ThrowsAsync<BackupStoreException>(() => BackupCatalog.WriteGroupSnapshotAsync(store, group with { CommittedOffset = 11 }, None));
    }

    [Fact]
    public async Task The_descriptor_is_created_once_and_guards_the_key()
    {
        var key = new SegmentKey(RandomNumberGenerator.GetBytes(32));
        var other = new SegmentKey(RandomNumberGenerator.GetBytes(32));
        var encrypted = new InMemoryBackupStore("encrypted store");
        var plain = new InMemoryBackupStore("plain store");

        var created = await BackupCatalog.EnsureDescriptorAsync(encrypted, key, TimeProvider.System, None);
        var again = await BackupCatalog.EnsureDescriptorAsync(encrypted, key, TimeProvider.System, None);
        await BackupCatalog.EnsureDescriptorAsync(plain, null, TimeProvider.System, None);

        Assert.Equal(created, again);
        Assert.Equal(key.Id, created.EncryptionKeyId);
        var wrong = await Assert.ThrowsAsync<BackupStoreException>(() => BackupCatalog.EnsureDescriptorAsync(encrypted, other, TimeProvider.System, None));
        Assert.StartsWith($"encrypted store is encrypted with key id {key.Id}, the given key is {other.Id}", wrong.Message);
        var none = await Assert.ThrowsAsync<BackupStoreException>(() => BackupCatalog.EnsureDescriptorAsync(encrypted, null, TimeProvider.System, None));
        Assert.StartsWith($"encrypted store is encrypted (key id {key.Id}) and no key was given", none.Message);
        var unexpected = await Assert.ThrowsAsync<BackupStoreException>(() => BackupCatalog.EnsureDescriptorAsync(plain, key, TimeProvider.System, None));
        Assert.StartsWith($"plain store is not encrypted but a key (id {key.Id}) was given", unexpected.Message);

        var catalog = await BackupCatalog.LoadAsync(encrypted, null, None);
        Assert.Equal(created, catalog.RequireDescriptor(encrypted, key));
        Assert.Throws<BackupStoreException>(() => catalog.RequireDescriptor(encrypted, other));
        var empty = new InMemoryBackupStore("empty store");
        var emptyCatalog = await BackupCatalog.LoadAsync(empty, null, None);
        var nothing = Assert.Throws<BackupStoreException>(() => emptyCatalog.RequireDescriptor(empty, null));
        Assert.Equal("empty store holds no backup (no mesh-backup.json): check the store path or container", nothing.Message);

        var future = new InMemoryBackupStore("future store");
        await future.TryCreateAsync(BackupLayout.DescriptorName, "{\"format\":2,\"createdAtMs\":1,\"encryptionKeyId\":null}"u8.ToArray(), None);
        var format = await Assert.ThrowsAsync<BackupStoreException>(() => BackupCatalog.EnsureDescriptorAsync(future, null, TimeProvider.System, None));
        Assert.Contains("format 2 backup store", format.Message);
    }

    [Fact]
    public async Task A_damaged_manifest_entry_is_reported_by_name()
    {
        var store = await FilledStoreAsync();
        var name = BackupLayout.ManifestName(Audit, 1);
        store.Overwrite(name, "{\"sequence\":1,"u8.ToArray());
        var e = await Assert.ThrowsAsync<BackupStoreException>(() => BackupCatalog.LoadAsync(store, null, None));
        Assert.StartsWith($"in-memory store: {name} is not a readable manifest entry", e.Message);
    }

    [Theory]
    [InlineData("topics/orders/0/eu@11111111/", "orders", 0, "eu", "11111111")]
    [InlineData("topics/orders.v2/17/us-east-1@r0badf00", "orders.v2", 17, "us-east-1", "r0badf00")]
    [InlineData("topics/a/3/odd@name@12345678/", "a", 3, "odd@name", "12345678")]
    public void Stream_folders_parse_back(string name, string topic, int partition, string region, string incarnation)
    {
        var stream = new BackupStream(topic, partition, region, incarnation);
        Assert.Equal(stream, BackupLayout.ParseStreamFolder(name));
        Assert.Equal(stream, BackupLayout.ParseStreamFolder(BackupLayout.StreamFolder(stream)));
    }

    [Theory]
    [InlineData("topics/orders/x/eu@11111111/")]
    [InlineData("topics/orders/0/eu11111111/")]
    [InlineData("topics/orders/0/@11111111/")]
    [InlineData("topics/orders/0/eu@/")]
    [InlineData("topics/orders/0/")]
    [InlineData("groups/g/orders/0/")]
    [InlineData("topics/orders/0/eu@11111111/manifest/")]
    public void Other_names_are_not_stream_folders(string name) => Assert.Null(BackupLayout.ParseStreamFolder(name));

    [Fact]
    public void Segment_and_manifest_names_parse_back()
    {
        var name = BackupLayout.SegmentName(OrdersEu, 12, 100, 250, "a1b2c3");
        Assert.True(BackupLayout.TryParseStreamObject(name, out var stream, out var relative));
        Assert.Equal(OrdersEu, stream);
        Assert.Equal(new SegmentObjectName(12, 100, 250, "a1b2c3"), BackupLayout.ParseSegmentName(relative));
        Assert.True(BackupLayout.TryParseStreamObject(BackupLayout.ManifestName(OrdersEu, 7), out _, out var manifest));
        Assert.Equal(7, BackupLayout.ParseManifestSequence(manifest));
        Assert.Null(BackupLayout.ParseManifestSequence("manifest/7.json"));
        Assert.Equal("orders", BackupLayout.ParseTopicConfigName(BackupLayout.TopicConfigName("orders", 5, "eu")));
    }
}
