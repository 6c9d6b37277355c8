using System.Text;
using Mesh.Core.Migration;

namespace Mesh.Core.Tests.Migration;

/// <summary>MirrorMaker 2's own records, byte for byte as its Connect worker, source task and checkpoint task write them.</summary>
public sealed class Mm2RecordsTests
{
    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static TheoryData<string, string?, Mm2SourcePosition?> SourceOffsets => new()
    {
        // As Connect's JsonConverter writes them (the partition map's keys in any order).
        { """["MirrorSourceConnector",{"cluster":"A","partition":0,"topic":"orders"}]""", """{"offset":41}""", new("MirrorSourceConnector", "A", "orders", 0, 41) },
        { """["MirrorSourceConnector",{"topic":"test-topic-1","partition":15,"cluster":"us-west"}]""", """{"offset":0}""", new("MirrorSourceConnector", "us-west", "test-topic-1", 15, 0) },
        { """["MirrorSourceConnector", {"cluster": "A", "partition": 7, "topic": "orders"}]""", """{ "offset": 9007199254740993 }""", new("MirrorSourceConnector", "A", "orders", 7, 9007199254740993) },
        // A tombstone: the position was reset.
        { """["MirrorSourceConnector",{"cluster":"A","partition":2,"topic":"orders"}]""", null, new("MirrorSourceConnector", "A", "orders", 2, null) },
        // The checkpoint and heartbeat connectors keep their own offsets in the same topic: not positions.
        { """["MirrorCheckpointConnector",{"group":"billing","partition":0,"topic":"A.orders"}]""", """{"offset":5}""", null },
        { """["MirrorHeartbeatConnector",{"sourceClusterAlias":"A","targetClusterAlias":"B"}]""", """{"offset":1733400000000}""", null },
    };

    [Theory]
    [MemberData(nameof(SourceOffsets))]
    public void Connect_source_offsets_parse(string key, string? value, Mm2SourcePosition? expected)
    {
        Assert.True(Mm2Records.TryParseSourceOffset(Utf8(key), value is null ? null : Utf8(value), out var position, out var reason), reason);
        Assert.Equal("", reason);
        Assert.Equal(expected, position);
    }

    public static TheoryData<string?, string?, string> BadSourceOffsets => new()
    {
        { null, """{"offset":1}""", "a Connect offset record without a key" },
        { "not json", """{"offset":1}""", "key 'not json' is not JSON" },
        { """{"cluster":"A"}""", """{"offset":1}""", """key '{"cluster":"A"}' is not a Connect offset key""" },
        { """["MirrorSourceConnector",{"cluster":"A","topic":"orders"}]""", """{"offset":1}""", "should name the source partition as" },
        { """["MirrorSourceConnector",{"cluster":"A","partition":-1,"topic":"orders"}]""", """{"offset":1}""", "should name the source partition as" },
        { """["MirrorSourceConnector",{"cluster":"A","partition":"0","topic":"orders"}]""", """{"offset":1}""", "should name the source partition as" },
        { """["MirrorSourceConnector",{"cluster":"","partition":0,"topic":"orders"}]""", """{"offset":1}""", "should name the source partition as" },
        { """["MirrorSourceConnector",{"cluster":"A","partition":0,"topic":"orders"}]""", """{"position":1}""", """value '{"position":1}' of orders/0 should be {"offset":<last offset copied>}""" },
        { """["MirrorSourceConnector",{"cluster":"A","partition":0,"topic":"orders"}]""", """{"offset":-1}""", "should be {\"offset\":<last offset copied>}" },
        { """["MirrorSourceConnector",{"cluster":"A","partition":0,"topic":"orders"}]""", """{"offset":"41"}""", "should be {\"offset\":<last offset copied>}" },
        { """["MirrorSourceConnector",{"cluster":"A","partition":0,"topic":"orders"}]""", "{offset", "value '{offset' of orders/0 is not JSON" },
    };

    [Theory]
    [MemberData(nameof(BadSourceOffsets))]
    public void Records_that_are_not_connect_source_offsets_say_why(string? key, string? value, string reason)
    {
        Assert.False(Mm2Records.TryParseSourceOffset(key is null ? null : Utf8(key), value is null ? null : Utf8(value), out var position, out var why));
        Assert.Null(position);
        Assert.Contains(reason, why, StringComparison.Ordinal);
    }

    [Fact]
    public void Source_offsets_encode_as_connect_writes_them()
    {
        Assert.Equal("""["MirrorSourceConnector",{"cluster":"A","partition":3,"topic":"orders"}]""", Encoding.UTF8.GetString(Mm2Records.EncodeSourceOffsetKey("A", "orders", 3)));
        Assert.Equal("""{"offset":99}""", Encoding.UTF8.GetString(Mm2Records.EncodeSourceOffsetValue(99)));
    }

    [Fact]
    public void Offset_sync_is_topic_partition_then_upstream_and_downstream_offsets()
    {
        // key: int16 length 6, "orders", int32 3; value: int64 41, int64 1041 (big-endian, Kafka's protocol types).
        var key = Convert.FromHexString("00066f72646572730000" + "0003");
        var value = Convert.FromHexString("0000000000000029" + "0000000000000411");
        Assert.True(Mm2Records.TryDecodeOffsetSync(key, value, out var sync, out var reason), reason);
        Assert.Equal(new Mm2OffsetSync("orders", 3, 41, 1041), sync);

        var (encodedKey, encodedValue) = Mm2Records.EncodeOffsetSync(sync!);
        Assert.Equal(key, encodedKey);
        Assert.Equal(value, encodedValue);
    }

    [Fact]
    public void Checkpoint_is_group_topic_partition_then_a_version_the_offsets_and_metadata()
    {
        // key: "billing", "A.orders", 5; value: version 0, upstream 120, downstream 80, metadata "m".
        var key = Convert.FromHexString("000762696c6c696e67" + "0008412e6f7264657273" + "00000005");
        var value = Convert.FromHexString("0000" + "0000000000000078" + "0000000000000050" + "00016d");
        Assert.True(Mm2Records.TryDecodeCheckpoint(key, value, out var checkpoint, out var reason), reason);
        Assert.Equal(new Mm2GroupCheckpoint("billing", "A.orders", 5, 120, 80, "m"), checkpoint);

        var (encodedKey, encodedValue) = Mm2Records.EncodeCheckpoint(checkpoint!);
        Assert.Equal(key, encodedKey);
        Assert.Equal(value, encodedValue);
    }

    public static TheoryData<string, string?, string> BadOffsetSyncs => new()
    {
        { "0006", "0000000000000029" + "0000000000000411", "offset sync key 0x0006 is not topic (string), partition (int32)" },
        { "00066f72646572730000000300", "0000000000000029" + "0000000000000411", "is not topic (string), partition (int32)" },
        { "00066f7264657273ffffffff", "0000000000000029" + "0000000000000411", "is not topic (string), partition (int32)" },
        { "00066f726465727300000003", "0000000000000029", "offset sync value of orders/3 0x0000000000000029 is not upstream offset (int64), downstream offset (int64)" },
        { "00066f726465727300000003", null, "offset sync value of orders/3 (null) is not" },
    };

    [Theory]
    [MemberData(nameof(BadOffsetSyncs))]
    public void Records_that_are_not_offset_syncs_say_why(string key, string? value, string reason)
    {
        Assert.False(Mm2Records.TryDecodeOffsetSync(Convert.FromHexString(key), value is null ? null : Convert.FromHexString(value), out var sync, out var why));
        Assert.Null(sync);
        Assert.Contains(reason, why, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> BadCheckpoints => new()
    {
        { "000762696c6c696e67", "0000", "checkpoint key 0x000762696c6c696e67 is not group (string), topic (string), partition (int32)" },
        { "000762696c6c696e67" + "0008412e6f7264657273" + "00000005", "", "checkpoint value of group billing A.orders/5 has no version" },
        { "000762696c6c696e67" + "0008412e6f7264657273" + "00000005", "0001" + "0000000000000078" + "0000000000000050" + "0000", "is version 1; this Mesh reads version 0" },
        { "000762696c6c696e67" + "0008412e6f7264657273" + "00000005", "0000" + "0000000000000078" + "0000000000000050", "is not version (int16), upstream offset (int64), downstream offset (int64), metadata (string)" },
    };

    [Theory]
    [MemberData(nameof(BadCheckpoints))]
    public void Records_that_are_not_checkpoints_say_why(string key, string value, string reason)
    {
        Assert.False(Mm2Records.TryDecodeCheckpoint(Convert.FromHexString(key), Convert.FromHexString(value), out var checkpoint, out var why));
        Assert.Null(checkpoint);
        Assert.Contains(reason, why, StringComparison.Ordinal);
    }
}
