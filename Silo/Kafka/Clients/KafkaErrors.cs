using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Mesh.Kafka.Clients;

public static class KafkaErrors
{
    /// <summary>Errors about a record itself (too large, invalid): sending it again would fail the same way.</summary>
    public static bool IsRecordRefusal(ErrorCode code) =>
        code is ErrorCode.MsgSizeTooLarge or ErrorCode.InvalidRecord or ErrorCode.InvalidTimestamp
            or ErrorCode.PolicyViolation or ErrorCode.InvalidMsg;
}
