using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mesh.Core.Migration;

/// <summary>
/// Where a MirrorMaker 2 source connector had got to in one source partition: the Connect worker's committed source
/// offset. <paramref name="LastCopied"/> is the offset of the last source record MM2 copied (its task resumes at the
/// next one); null when the record is a tombstone (the position was reset).
/// </summary>
public sealed record Mm2SourcePosition(string Connector, string Cluster, string Topic, int Partition, long? LastCopied);

/// <summary>
/// One MM2 offset sync: the source record at <paramref name="UpstreamOffset"/> of <paramref name="Topic"/> (the source
/// topic's name) was written at <paramref name="DownstreamOffset"/> of the remote partition.
/// </summary>
public sealed record Mm2OffsetSync(string Topic, int Partition, long UpstreamOffset, long DownstreamOffset);

/// <summary>
/// One MM2 group checkpoint: consumer group <paramref name="Group"/> had committed <paramref name="UpstreamOffset"/> in
/// the source, which is <paramref name="DownstreamOffset"/> in the remote partition <paramref name="Topic"/> (the remote
/// topic's name, e.g. <c>A.orders</c>) of the target.
/// </summary>
public sealed record Mm2GroupCheckpoint(string Group, string Topic, int Partition, long UpstreamOffset, long DownstreamOffset, string Metadata);

/// <summary>
/// The records MirrorMaker 2 keeps in its internal topics, in the formats it writes them (Apache Kafka's
/// <c>connect/mirror</c> module): the Connect worker's source offsets as JSON (key
/// <c>["MirrorSourceConnector",{"cluster":"A","partition":0,"topic":"orders"}]</c>, value <c>{"offset":41}</c>, the offset
/// of the last record copied), and offset syncs and group checkpoints in Kafka's binary protocol types (big-endian
/// integers; a string is an int16 byte length and its UTF-8 bytes):
/// <list type="bullet">
/// <item>offset sync key: topic (string), partition (int32); value: upstream offset (int64), downstream offset (int64);</item>
/// <item>checkpoint key: group (string), topic (string), partition (int32); value: version (int16, 0), upstream offset
/// (int64), downstream offset (int64), metadata (string).</item>
/// </list>
/// Decoding never throws: a record that is not in the format gives a reason. The encoders are the same formats the
/// other way, for tests that play MM2's part.
/// </summary>
public static class Mm2Records
{
    /// <summary>The name of MM2's source connector in a dedicated MM2 cluster (its class name).</summary>
    public const string SourceConnector = "MirrorSourceConnector";

    public const short CheckpointVersion = 0;

    /// <summary>
    /// A Connect source-offset record. False with a reason when it is not one; true with a null position when it is
    /// another connector's (MM2's checkpoint and heartbeat connectors keep theirs in the same topic).
    /// </summary>
    public static bool TryParseSourceOffset(byte[]? key, byte[]? value, out Mm2SourcePosition? position, out string reason)
    {
        position = null;
        reason = "";
        if (key is null) { reason = "a Connect offset record without a key"; return false; }
        JsonNode? parsedKey;
        try { parsedKey = JsonNode.Parse(key); }
        catch (JsonException e) { reason = $"key {Show(key)} is not JSON ({e.Message})"; return false; }
        if (parsedKey is not JsonArray { Count: 2 } pair || pair[0] is not JsonValue nameValue || !nameValue.TryGetValue<string>(out var connector))
        {
            reason = $"key {Show(key)} is not a Connect offset key ([\"<connector>\", {{...}}])";
            return false;
        }
        if (connector != SourceConnector) return true;
        if (pair[1] is not JsonObject partition
            || !TryString(partition, "cluster", out var cluster)
            || !TryString(partition, "topic", out var topic)
            || !TryInt(partition["partition"], out var number)
            || number < 0)
        {
            reason = $"key {Show(key)} should name the source partition as {{\"cluster\":\"<alias>\",\"partition\":<n>,\"topic\":\"<topic>\"}}";
            return false;
        }
        long? lastCopied = null;
        if (value is not null)
        {
            JsonNode? parsedValue;
            try { parsedValue = JsonNode.Parse(value); }
            catch (JsonException e) { reason = $"value {Show(value)} of {topic}/{number} is not JSON ({e.Message})"; return false; }
            if (parsedValue is not JsonObject offset || !TryLong(offset["offset"], out var copied) || copied < 0)
            {
                reason = $"value {Show(value)} of {topic}/{number} should be {{\"offset\":<last offset copied>}}";
                return false;
            }
            lastCopied = copied;
        }
        position = new Mm2SourcePosition(connector, cluster, topic, (int)number, lastCopied);
        return true;
    }

    public static byte[] EncodeSourceOffsetKey(string cluster, string topic, int partition) =>
        Encoding.UTF8.GetBytes(new JsonArray(SourceConnector, new JsonObject { ["cluster"] = cluster, ["partition"] = partition, ["topic"] = topic }).ToJsonString());

    public static byte[] EncodeSourceOffsetValue(long lastCopied) =>
        Encoding.UTF8.GetBytes(new JsonObject { ["offset"] = lastCopied }.ToJsonString());

    public static bool TryDecodeOffsetSync(byte[]? key, byte[]? value, out Mm2OffsetSync? sync, out string reason)
    {
        sync = null;
        var k = new Reader(key);
        var v = new Reader(value);
        if (!k.String(out var topic) || !k.Int32(out var partition) || !k.AtEnd || partition < 0)
        {
            reason = $"offset sync key {Show(key, binary: true)} is not topic (string), partition (int32)";
            return false;
        }
        if (!v.Int64(out var upstream) || !v.Int64(out var downstream) || !v.AtEnd)
        {
            reason = $"offset sync value of {topic}/{partition} {Show(value, binary: true)} is not upstream offset (int64), downstream offset (int64)";
            return false;
        }
        sync = new Mm2OffsetSync(topic, partition, upstream, downstream);
        reason = "";
        return true;
    }

    public static (byte[] Key, byte[] Value) EncodeOffsetSync(Mm2OffsetSync sync)
    {
        var key = new Writer();
        key.String(sync.Topic);
        key.Int32(sync.Partition);
        var value = new Writer();
        value.Int64(sync.UpstreamOffset);
        value.Int64(sync.DownstreamOffset);
        return (key.ToArray(), value.ToArray());
    }

    public static bool TryDecodeCheckpoint(byte[]? key, byte[]? value, out Mm2GroupCheckpoint? checkpoint, out string reason)
    {
        checkpoint = null;
        var k = new Reader(key);
        var v = new Reader(value);
        if (!k.String(out var group) || !k.String(out var topic) || !k.Int32(out var partition) || !k.AtEnd || partition < 0)
        {
            reason = $"checkpoint key {Show(key, binary: true)} is not group (string), topic (string), partition (int32)";
            return false;
        }
        if (!v.Int16(out var version))
        {
            reason = $"checkpoint value of group {group} {topic}/{partition} has no version";
            return false;
        }
        if (version != CheckpointVersion)
        {
            reason = $"checkpoint value of group {group} {topic}/{partition} is version {version}; this Mesh reads version {CheckpointVersion}";
            return false;
        }
        if (!v.Int64(out var upstream) || !v.Int64(out var downstream) || !v.String(out var metadata) || !v.AtEnd)
        {
            reason = $"checkpoint value of group {group} {topic}/{partition} {Show(value, binary: true)} is not version (int16), upstream offset (int64), downstream offset (int64), metadata (string)";
            return false;
        }
        checkpoint = new Mm2GroupCheckpoint(group, topic, partition, upstream, downstream, metadata);
        reason = "";
        return true;
    }

    public static (byte[] Key, byte[] Value) EncodeCheckpoint(Mm2GroupCheckpoint checkpoint)
    {
        var key = new Writer();
        key.String(checkpoint.Group);
        key.String(checkpoint.Topic);
        key.Int32(checkpoint.Partition);
        var value = new Writer();
        value.Int16(CheckpointVersion);
        value.Int64(checkpoint.UpstreamOffset);
        value.Int64(checkpoint.DownstreamOffset);
        value.String(checkpoint.Metadata);
        return (key.ToArray(), value.ToArray());
    }

    private static bool TryString(JsonObject o, string name, out string value)
    {
        value = "";
        if (o[name] is not JsonValue v || !v.TryGetValue<string>(out var s) || s.Length == 0) return false;
        value = s;
        return true;
    }

    private static bool TryLong(JsonNode? node, out long value)
    {
        value = 0;
        return node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out value);
    }

    private static bool TryInt(JsonNode? node, out long value) => TryLong(node, out value) && value <= int.MaxValue;

    private static string Show(byte[]? bytes, bool binary = false)
    {
        if (bytes is null) return "(null)";
        if (binary) return bytes.Length <= 48 ? $"0x{Convert.ToHexStringLower(bytes)}" : $"0x{Convert.ToHexStringLower(bytes.AsSpan(0, 48))}... ({bytes.Length} bytes)";
        var text = Encoding.UTF8.GetString(bytes);
        return "'" + (text.Length > 120 ? text[..120] + "..." : text) + "'";
    }

    private ref struct Reader(byte[]? bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _at;

        public readonly bool AtEnd => _at == _bytes.Length;

        public bool Int16(out short value)
        {
            value = 0;
            if (_bytes.Length - _at < 2) return false;
            value = BinaryPrimitives.ReadInt16BigEndian(_bytes[_at..]);
            _at += 2;
            return true;
        }

        public bool Int32(out int value)
        {
            value = 0;
            if (_bytes.Length - _at < 4) return false;
            value = BinaryPrimitives.ReadInt32BigEndian(_bytes[_at..]);
            _at += 4;
            return true;
        }

        public bool Int64(out long value)
        {
            value = 0;
            if (_bytes.Length - _at < 8) return false;
            value = BinaryPrimitives.ReadInt64BigEndian(_bytes[_at..]);
            _at += 8;
            return true;
        }

        public bool String(out string value)
        {
            value = "";
            if (!Int16(out var length) || length < 0 || _bytes.Length - _at < length) return false;
            try { value = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(_bytes.Slice(_at, length)); }
            catch (DecoderFallbackException) { return false; }
            _at += length;
            return true;
        }
    }

    private sealed class Writer
    {
        private readonly MemoryStream _stream = new();

        public void Int16(short value) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteInt16BigEndian(b, value); _stream.Write(b); }
        public void Int32(int value) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteInt32BigEndian(b, value); _stream.Write(b); }
        public void Int64(long value) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteInt64BigEndian(b, value); _stream.Write(b); }

        public void String(string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            if (bytes.Length > short.MaxValue) throw new ArgumentException($"a string of {bytes.Length} bytes does not fit Kafka's string type", nameof(value));
            Int16((short)bytes.Length);
            _stream.Write(bytes);
        }

        public byte[] ToArray() => _stream.ToArray();
    }
}
