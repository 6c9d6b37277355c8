using Confluent.Kafka;
using Mesh.Core.Replication;

namespace Mesh.Kafka.Replication;

/// <summary>Kafka's consumed records as the core's plain values.</summary>
internal static class SourceRecords
{
    public static SourceRecord From(ConsumeResult<byte[]?, byte[]?> result)
    {
        var message = result.Message;
        var headers = message.Headers is { Count: > 0 } h
            ? h.Select(x => new Mesh.Core.Replication.RecordHeader(x.Key, x.GetValueBytes())).ToArray()
            : [];
        return new SourceRecord(result.Offset.Value, message.Key, message.Value, message.Timestamp.UnixTimestampMs, headers,
            message.Timestamp.Type == TimestampType.LogAppendTime);
    }

    public static Headers ToHeaders(IEnumerable<Mesh.Core.Replication.RecordHeader> headers)
    {
        var kafka = new Headers();
        foreach (var header in headers) kafka.Add(header.Name, header.Value);
        return kafka;
    }
}
