using Mesh.Client.Local;

namespace Mesh.Client.Bench;

/// <summary>What <c>mesh bench backup</c> measures with: how many records, over how many partitions, how big.</summary>
public sealed record BackupBenchOptions
{
    public const int DefaultRecords = 200_000;
    public const int DefaultPartitions = 16;
    public const int DefaultRecordBytes = 200;

    // librdkafka's mock cluster keeps about 5 MB (or 100,000 produce batches) per partition and drops the
    // oldest beyond that; a measured topic must fit in the destination too, where each record also carries its provenance.
    public const long MaxBytesPerPartition = 4L * 1024 * 1024;

    /// <summary>
    /// What a replicated record takes in the embedded Kafka beyond its own bytes (provenance header, record framing),
    /// rounded up: a 100-byte bench record measured about 214 bytes in the destination's log.
    /// </summary>
    public const int ReplicatedOverheadBytes = 128;
    public const int MaxRecordsPerPartition = 100_000;

    /// <summary>The smallest record: its key and header alone take about this much.</summary>
    public const int MinRecordBytes = BenchRecords.Overhead + 8;

    public int Records { get; init; } = DefaultRecords;

    public int Partitions { get; init; } = DefaultPartitions;

    /// <summary>Raw bytes of one record: key, value and header names and values together.</summary>
    public int RecordBytes { get; init; } = DefaultRecordBytes;

    /// <summary>Also restore the backup into the second region under a new name and time it.</summary>
    public bool Restore { get; init; }

    public const int DefaultPairs = 1;
    public const int MaxPairs = 5;

    /// <summary>
    /// Replication measured this many times without and with the backup, alternately (the backup switched off and on
    /// between them): the slowdown is the median of the pairs', so one noisy measure on a shared machine does not decide it.
    /// </summary>
    public int Pairs { get; init; } = DefaultPairs;

    /// <summary>What the destination's partitions each hold once the records are replicated.</summary>
    public long BytesPerPartition => BenchSizing.BytesPerPartition(Records, Partitions, RecordBytes);

    /// <summary>Every problem with the options at once.</summary>
    /// <exception cref="MeshCommandException">The options cannot make a bench (exit code 2).</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (Records is < 1_000 or > 10_000_000) problems.Add($"--records must be from 1000 to 10000000, not {Records}");
        if (Partitions is < 1 or > 256) problems.Add($"--partitions must be from 1 to 256, not {Partitions}");
        if (Pairs is < 1 or > MaxPairs) problems.Add($"--pairs must be from 1 to {MaxPairs}, not {Pairs}");
        if (RecordBytes is < MinRecordBytes or > 100_000)
            problems.Add($"--record-bytes must be from {MinRecordBytes} (the key and header alone take {BenchRecords.Overhead}) to 100000, not {RecordBytes}");
        if (problems.Count == 0) problems.AddRange(BenchSizing.Problems(Records, Partitions, RecordBytes));
        if (problems.Count > 0) throw new MeshCommandException(string.Join("; ", problems) + ".", 2);
    }
}
