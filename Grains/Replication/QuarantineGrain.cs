using System.Text;
using Mesh.Core.Replication;
using Mesh.Grains.Options;
using Mesh.Grains.Ports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Grains.Replication;

/// <summary>
/// A region's quarantine as the operator sees it: lists what its links could not take, and re-sends
/// chosen records to the topic and partition they were meant for once the cause is fixed. A replay
/// is marked in the quarantine topic, so a record is not re-sent twice unless forced.
/// </summary>
public sealed partial class QuarantineGrain(
    IQuarantineStore store,
    IDestinationLog destination,
    ISourceFeeds sources,
    IRegionIdentity identity,
    IOptions<ReplicationOptions> options,
    ILogger<QuarantineGrain> logger) : Grain, IQuarantineGrain
{
    public async Task<IReadOnlyList<QuarantinedRecordInfo>> ListAsync(QuarantineQuery query)
    {
        var stored = await store.ReadAllAsync(CancellationToken.None);
        return [.. stored
            .Where(s => (query.Topic is null || s.Entry.Topic == query.Topic)
                        && (query.Source is null || s.Entry.Source == query.Source)
                        && (query.IncludeReplayed || s.ReplayedAt is null))
            .Select(Describe)];
    }

    public async Task<IReadOnlyList<ReplayOutcome>> ReplayAsync(ReplayRequest request)
    {
        var region = this.GetPrimaryKeyString();
        var stored = await store.ReadAllAsync(CancellationToken.None);
        var byOffset = stored.ToDictionary(s => s.QuarantineOffset);
        IEnumerable<long> chosen = request.Offsets ?? stored
            .Where(s => (request.Topic is null || s.Entry.Topic == request.Topic) && (request.Force || s.ReplayedAt is null))
            .Select(s => s.QuarantineOffset);

        // A crash between quarantining a record and checkpointing past it quarantines it twice: each
        // source record is replayed once, whichever of its copies is asked for.
        var replayedSources = stored.Where(s => s.ReplayedAt is not null).Select(s => SourceOf(s.Entry)).ToHashSet();
        var outcomes = new List<ReplayOutcome>();
        foreach (var offset in chosen)
        {
            if (!byOffset.TryGetValue(offset, out var record))
            {
                outcomes.Add(new ReplayOutcome(offset, false, null, $"no quarantined record at offset {offset} of {region}'s quarantine"));
                continue;
            }
            if (request.Topic is not null && record.Entry.Topic != request.Topic)
            {
                outcomes.Add(new ReplayOutcome(offset, false, null, $"the record at offset {offset} is of topic '{record.Entry.Topic}', not '{request.Topic}'"));
                continue;
            }
            if (record.ReplayedAt is { } at && !request.Force)
            {
                outcomes.Add(new ReplayOutcome(offset, false, null, $"already replayed at {at:u}; use --force to send it again"));
                continue;
            }
            if (!request.Force && record.Entry.Kind == QuarantineKinds.UnverifiableProvenanceElsewhere)
            {
                outcomes.Add(new ReplayOutcome(offset, false, null, "taken at its word, its header says it reached this region another way, so a replay would " +
                    "likely write it twice; check the destination, and use --force if it is missing"));
                continue;
            }
            if (!request.Force && replayedSources.Contains(SourceOf(record.Entry)))
            {
                outcomes.Add(new ReplayOutcome(offset, false, null, "another copy of the same source record was replayed already; use --force to send it again"));
                continue;
            }
            var outcome = await ReplayOneAsync(region, record);
            if (outcome.Replayed) replayedSources.Add(SourceOf(record.Entry));
            outcomes.Add(outcome);
        }
        return outcomes;
    }

    private async Task<ReplayOutcome> ReplayOneAsync(string region, StoredQuarantineEntry record)
    {
        var entry = record.Entry;
        try
        {
            if (!entry.RecordKept)
            {
                if (await identity.IncarnationAsync(entry.Source, CancellationToken.None) != entry.SourceIncarnation)
                    return new ReplayOutcome(record.QuarantineOffset, false, null, $"the record was not kept in the quarantine (too large), and {entry.Source} has lost it since (its Kafka is a new cluster)");
                var fetched = await sources.ReadOneAsync(entry.Source, entry.Topic, entry.Partition, entry.SourceOffset, CancellationToken.None);
                if (fetched is null)
                    return new ReplayOutcome(record.QuarantineOffset, false, null, $"the record was not kept in the quarantine (too large), and {entry.Source} no longer holds {entry.Topic}/{entry.Partition} offset {entry.SourceOffset} (retention)");
                entry = entry with { Record = fetched, RecordKept = true };
            }
            using var replay = new QuarantineReplay(region, options.Value.PolicyFor(entry.Topic));
            var outbound = replay.ToOutbound(entry);
            var end = await destination.WriteAsync(entry.Topic, entry.Partition, [outbound], CancellationToken.None);
            await store.MarkReplayedAsync(record.QuarantineOffset, end - 1, CancellationToken.None);
            LogReplayed(record.QuarantineOffset, entry.Topic, entry.Partition, end - 1);
            return new ReplayOutcome(record.QuarantineOffset, true, end - 1, null);
        }
        // A write that fails for any reason leaves the record where it is; the operator sees why.
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var why = e switch
            {
                RecordRejectedException refused => $"{entry.Topic}/{entry.Partition} refused it again: {refused.Reason}",
                ArgumentException => $"it cannot be replayed: {e.Message}",
                _ => $"writing it to {entry.Topic}/{entry.Partition} failed: {e.Message}",
            };
            return new ReplayOutcome(record.QuarantineOffset, false, null, $"{why}; it stays in the quarantine");
        }
    }

    private static (string, string, string, int, long) SourceOf(QuarantineEntry entry) =>
        (entry.Source, entry.SourceIncarnation, entry.Topic, entry.Partition, entry.SourceOffset);

    private static QuarantinedRecordInfo Describe(StoredQuarantineEntry stored)
    {
        var entry = stored.Entry;
        return new QuarantinedRecordInfo(stored.QuarantineOffset, entry.Source, entry.Destination, entry.Topic, entry.Partition,
            entry.SourceOffset, entry.Kind, entry.Reason, DateTimeOffset.FromUnixTimeMilliseconds(entry.QuarantinedAtMs),
            entry.Record.Key?.Length ?? -1, entry.Record.Value?.Length ?? -1, stored.ReplayedAt, PrintableKey(entry.Record.Key));
    }

    // Shown to the operator only when it is short readable text; binary keys are described by size.
    private static string? PrintableKey(byte[]? key)
    {
        if (key is null || key.Length > 200) return null;
        try
        {
            var text = new UTF8Encoding(false, true).GetString(key);
            return text.All(c => !char.IsControl(c)) ? text : null;
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Quarantined record {QuarantineOffset} replayed to {Topic}/{Partition} at offset {Offset}")]
    private partial void LogReplayed(long quarantineOffset, string topic, int partition, long offset);
}
