using Mesh.Client.Local;
using Mesh.Kafka.Replication;

namespace Mesh.Client.Bench;

/// <summary>
/// What <c>mesh bench</c> (the replication bench) measures with: the backlog each catch-up drains, its partitions and
/// record size, the round-trip time of the WAN measure, and the partitions of the one-silo scale measure.
/// </summary>
public sealed record ReplicationBenchOptions
{
    public const int DefaultRecords = 200_000;
    public const int DefaultPartitions = 16;
    public const int DefaultRecordBytes = 200;
    public const int DefaultRttMs = 70;
    public const int DefaultScalePartitions = 10_000;
    public const int DefaultSampleSeconds = 10;
    public const int DefaultScaleBrokers = 1;
    public const int MaxScaleBrokers = 5;
    public static readonly int DefaultColdAfterSeconds = (int)SourceReaderLanes.CoolAfter.TotalSeconds;

    /// <summary>The smallest record: its key and its two headers (sequence, and the send time of the steady measures) take about this much.</summary>
    public const int MinRecordBytes = BenchRecords.Overhead + LatencyProbe.SentHeaderBytes + 8;

    /// <summary>The most partitions the scale measure asks of one embedded Kafka and one silo.</summary>
    public const int MaxScalePartitions = 20_000;

    /// <summary>Records of each backlog (the bare pipe's, the mesh's, the WAN measure's); the steady measures send at most as many.</summary>
    public int Records { get; init; } = DefaultRecords;

    public int Partitions { get; init; } = DefaultPartitions;

    /// <summary>Raw bytes of one record: key, value and header names and values together.</summary>
    public int RecordBytes { get; init; } = DefaultRecordBytes;

    /// <summary>Round-trip time added to the source region's brokers for the WAN measure; 0 skips it.</summary>
    public int RttMs { get; init; } = DefaultRttMs;

    /// <summary>Partitions of the topic one silo replicates in the scale measure; 0 skips it.</summary>
    public int ScalePartitions { get; init; } = DefaultScalePartitions;

    /// <summary>
    /// Brokers of each embedded Kafka of the scale measure, the partitions' leaders spread over them. librdkafka serves every
    /// partition a broker leads on each turn of that broker's thread and sends one partition per produce request, so one
    /// broker leading 10,000 partitions costs the mesh's clients more than the same partitions over several brokers would.
    /// </summary>
    public int ScaleBrokers { get; init; } = DefaultScaleBrokers;

    /// <summary>How long the scale measure samples the idle silo's CPU, and how long its load lasts at least.</summary>
    public int SampleSeconds { get; init; } = DefaultSampleSeconds;

    /// <summary>How long the scale measure's silo keeps an idle partition on its reader's hot lane before its cold lane.</summary>
    public int ColdAfterSeconds { get; init; } = DefaultColdAfterSeconds;

    /// <summary>Run the bench's regions without mutual TLS on their Orleans ports, to measure what TLS costs.</summary>
    public bool PlainText { get; init; }

    /// <summary>What each destination partition holds once a backlog is replicated (records with their provenance).</summary>
    public long BytesPerPartition => BenchSizing.BytesPerPartition(Records, Partitions, RecordBytes);

    /// <summary>Every problem with the options at once.</summary>
    /// <exception cref="MeshCommandException">The options cannot make a bench (exit code 2).</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (Records is < 1_000 or > 10_000_000) problems.Add($"--records must be from 1000 to 10000000, not {Records}");
        if (Partitions is < 1 or > 256) problems.Add($"--partitions must be from 1 to 256, not {Partitions}");
        if (RecordBytes is < MinRecordBytes or > 100_000)
            problems.Add($"--record-bytes must be from {MinRecordBytes} (the key and headers alone take {MinRecordBytes - 8}) to 100000, not {RecordBytes}");
        if (RttMs is < 0 or > 1_000) problems.Add($"--rtt-ms must be from 0 (no WAN measure) to 1000, not {RttMs}");
        if (ScalePartitions is < 0 or > MaxScalePartitions) problems.Add($"--scale-partitions must be from 0 (no scale measure) to {MaxScalePartitions}, not {ScalePartitions}");
        if (ScaleBrokers is < 1 or > MaxScaleBrokers) problems.Add($"--scale-brokers must be from 1 to {MaxScaleBrokers}, not {ScaleBrokers}");
        if (SampleSeconds is < 1 or > 300) problems.Add($"--sample-seconds must be from 1 to 300, not {SampleSeconds}");
        if (ColdAfterSeconds is < 1 or > 3_600) problems.Add($"--cold-after-seconds must be from 1 to 3600, not {ColdAfterSeconds}");
        if (problems.Count == 0) problems.AddRange(BenchSizing.Problems(Records, Partitions, RecordBytes));
        if (problems.Count > 0) throw new MeshCommandException(string.Join("; ", problems) + ".", 2);
    }
}
