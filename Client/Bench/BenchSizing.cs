namespace Mesh.Client.Bench;

/// <summary>
/// Whether a bench's topics fit the embedded Kafka: librdkafka's mock cluster keeps about 5 MB or 100,000 produce batches per
/// partition and drops the oldest beyond that (like retention), and a replicated record also carries its provenance there.
/// </summary>
public static class BenchSizing
{
    /// <summary>What each destination partition holds once <paramref name="records"/> are replicated into it.</summary>
    public static long BytesPerPartition(long records, int partitions, int recordBytes) =>
        records * (recordBytes + BackupBenchOptions.ReplicatedOverheadBytes) / partitions;

    /// <summary>Each way <paramref name="records"/> of <paramref name="recordBytes"/> over <paramref name="partitions"/> overflow a partition, with the fix.</summary>
    public static IEnumerable<string> Problems(int records, int partitions, int recordBytes)
    {
        var bytesPerPartition = BytesPerPartition(records, partitions, recordBytes);
        if (bytesPerPartition > BackupBenchOptions.MaxBytesPerPartition)
            yield return $"{records} records of {recordBytes} bytes over {partitions} partitions put {Mb(bytesPerPartition)} in each replicated partition " +
                         $"(each record also carries about {BackupBenchOptions.ReplicatedOverheadBytes} bytes of provenance and framing there); the embedded Kafka " +
                         $"keeps about 5 MB per partition and drops the oldest beyond that, so the bench allows at most {Mb(BackupBenchOptions.MaxBytesPerPartition)}. " +
                         $"Fix: --partitions {Ceiling((long)records * (recordBytes + BackupBenchOptions.ReplicatedOverheadBytes), BackupBenchOptions.MaxBytesPerPartition)} " +
                         "or more, or fewer --records, or smaller --record-bytes";
        if (records / partitions > BackupBenchOptions.MaxRecordsPerPartition)
            yield return $"{records} records over {partitions} partitions put {records / partitions} in each partition; the embedded Kafka keeps at most " +
                         $"{BackupBenchOptions.MaxRecordsPerPartition} produce batches per partition. Fix: --partitions {Ceiling(records, BackupBenchOptions.MaxRecordsPerPartition)} or more, or fewer --records";
    }

    private static long Ceiling(long total, long per) => (total + per - 1) / per;

    private static string Mb(long bytes) => $"{bytes / 1024.0 / 1024.0:0.##} MB";
}
