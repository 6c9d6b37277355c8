using System.Text.Json;
using System.Text.Json.Nodes;
using Mesh.Client.Commands;

namespace Mesh.Client.Ui;

/// <summary>
/// Reads the mesh's status every <see cref="Interval"/> (the collection <c>mesh status</c> uses) and keeps
/// what the page shows: the latest <c>mesh status --json</c>, the view derived from it (states, rates,
/// links that went silent) and a few minutes of per-link throughput and lag for the charts.
/// </summary>
internal sealed class MeshMonitor(Func<CancellationToken, Task<IReadOnlyList<StatusCommand.RegionReport>>> collect, string description, TimeSpan interval,
    TimeProvider? time = null)
{
    /// <summary>Five minutes of samples at the default interval.</summary>
    public const int HistoryLength = 150;

    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(2);

    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly SeriesRing<Sample> _history = new(HistoryLength);
    // Every link seen since the page started, with the region whose silos run (and report) it.
    private readonly SortedDictionary<string, (string Source, string Destination, bool Push)> _links = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private string? _statusJson;
    private string? _viewJson;

    /// <summary>One poll: when, and per link (<c>src->dst</c>) the records replicated so far, the records per second since the poll before and the lag.</summary>
    public sealed record Sample(DateTimeOffset At, IReadOnlyDictionary<string, LinkPoint> Links);

    public sealed record LinkPoint(long Replicated, double? RecordsPerSecond, long? Lag);

    public string Description => description;

    public TimeSpan Interval => interval;

    /// <summary>The latest <c>mesh status --json</c>, exactly; null before the first collection.</summary>
    public string? StatusJson { get { lock (_lock) return _statusJson; } }

    /// <summary>What the page renders (see <see cref="Record"/>); null before the first collection.</summary>
    public string? ViewJson { get { lock (_lock) return _viewJson; } }

    public IReadOnlyList<Sample> History { get { lock (_lock) return _history.ToList(); } }

    /// <summary>Collects once: the reports, or null (with the reason in the view) when the collection itself failed.</summary>
    public async Task<IReadOnlyList<StatusCommand.RegionReport>?> PollAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        try
        {
            var reports = await collect(cancellationToken);
            Record(StatusCommand.ToJson(reports), _time.GetUtcNow(), _time.GetElapsedTime(started));
            return reports;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            lock (_lock)
            {
                var view = _viewJson is null ? new JsonObject { ["source"] = description, ["regions"] = new JsonArray(), ["links"] = new JsonArray() } : JsonNode.Parse(_viewJson)!.AsObject();
                view["pollError"] = $"{e.GetType().Name}: {e.Message}";
                view["pollErrorAt"] = _time.GetUtcNow();
                _viewJson = view.ToJsonString(Compact);
            }
            return null;
        }
    }

    /// <summary>Polls until cancelled, one collection every <see cref="Interval"/> (a slow collection delays the next).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken)) await PollAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
    }

    /// <summary>
    /// Takes one collection (the <c>mesh status --json</c> text): keeps it, adds a sample to the
    /// history and derives the view: each region's state, each link's state, records per second and lag
    /// (a link seen before whose region no longer reports it is <see cref="MeshStates.Unknown"/>), the
    /// history as chart series, and notes on what status does not have.
    /// </summary>
    public void Record(string statusJson, DateTimeOffset at, TimeSpan took)
    {
        var status = JsonNode.Parse(statusJson)!.AsObject();
        var regions = status["regions"]!.AsArray().Select(r => r!.AsObject()).ToList();
        lock (_lock)
        {
            var previous = _history.Latest;
            var reported = new Dictionary<string, (JsonObject Link, bool Push)>(StringComparer.Ordinal);
            foreach (var region in regions)
            {
                foreach (var link in region["links"]?.AsArray() ?? []) reported[Key(link!)] = (link!.AsObject(), false);
                foreach (var link in region["pushLinks"]?.AsArray() ?? []) reported[Key(link!)] = (link!.AsObject(), true);
            }
            foreach (var (key, (link, push)) in reported)
                _links[key] = (link["source"]!.GetValue<string>(), link["destination"]!.GetValue<string>(), push);

            var points = new Dictionary<string, LinkPoint>(StringComparer.Ordinal);
            foreach (var (key, (link, _)) in reported)
            {
                var replicated = link["recordsReplicated"]?.GetValue<long>() ?? 0;
                var lags = (link["topics"]?.AsArray() ?? []).Select(t => t?["lagRecords"]?.GetValue<long?>()).Where(l => l is not null).ToList();
                double? rate = null;
                if (previous?.Links.GetValueOrDefault(key) is { } before && at > previous.At)
                    // A replicator that restarted counts from zero again: no negative rates.
                    rate = Math.Max(0, (replicated - before.Replicated) / (at - previous.At).TotalSeconds);
                points[key] = new LinkPoint(replicated, rate, lags.Count == 0 ? null : lags.Sum());
            }
            _history.Add(new Sample(at, points));
            _statusJson = statusJson;
            _viewJson = View(status, regions, reported, points, at, took).ToJsonString(Compact);
        }
    }

    private JsonObject View(JsonObject status, List<JsonObject> regions, Dictionary<string, (JsonObject Link, bool Push)> reported,
        Dictionary<string, LinkPoint> points, DateTimeOffset at, TimeSpan took)
    {
        var states = regions.ToDictionary(r => r["region"]!.GetValue<string>(), MeshStates.Region, StringComparer.Ordinal);
        var links = new JsonArray();
        foreach (var (key, (source, destination, push)) in _links)
        {
            var runner = push ? source : destination;
            if (reported.TryGetValue(key, out var found))
            {
                var point = points[key];
                links.Add(new JsonObject
                {
                    ["link"] = key, ["source"] = source, ["destination"] = destination, ["push"] = push, ["runBy"] = runner,
                    ["state"] = MeshStates.Link(found.Link),
                    ["recordsPerSecond"] = point.RecordsPerSecond, ["lagRecords"] = point.Lag,
                    ["recordsReplicated"] = point.Replicated,
                    ["recordsQuarantined"] = found.Link["recordsQuarantined"]?.DeepClone(),
                    ["recordsExpiredBeforeReplication"] = found.Link["recordsExpiredBeforeReplication"]?.DeepClone(),
                    ["error"] = found.Link["error"]?.DeepClone(),
                    ["topics"] = found.Link["topics"]?.DeepClone() ?? new JsonArray(),
                });
            }
            else
            {
                links.Add(new JsonObject
                {
                    ["link"] = key, ["source"] = source, ["destination"] = destination, ["push"] = push, ["runBy"] = runner,
                    ["state"] = MeshStates.Unknown,
                    ["error"] = $"not reported: {runner}'s silos run this link and {runner} is {states.GetValueOrDefault(runner, "not in the status")}",
                    ["topics"] = new JsonArray(),
                });
            }
        }

        var anyPercentiles = links.Any(l => l!["topics"]!.AsArray().Any(t => t?["latencyP50Ms"] is not null || t?["latencyP99Ms"] is not null));
        var history = _history.ToList();
        var series = new JsonObject();
        foreach (var key in _links.Keys)
            series[key] = new JsonObject
            {
                ["recordsPerSecond"] = new JsonArray([.. history.Select(s => (JsonNode?)JsonValue.Create(s.Links.GetValueOrDefault(key)?.RecordsPerSecond))]),
                ["lagRecords"] = new JsonArray([.. history.Select(s => (JsonNode?)JsonValue.Create(s.Links.GetValueOrDefault(key)?.Lag))]),
            };

        return new JsonObject
        {
            ["source"] = description,
            ["collectedAt"] = at,
            ["collectionMs"] = Math.Round(took.TotalMilliseconds),
            ["intervalSeconds"] = interval.TotalSeconds,
            ["newestTopologyVersion"] = status["newestTopologyVersion"]?.DeepClone(),
            ["regions"] = new JsonArray([.. regions.Select(r => (JsonNode)new JsonObject
            {
                ["region"] = r["region"]?.DeepClone(),
                ["state"] = states[r["region"]!.GetValue<string>()],
                ["kafka"] = MeshStates.Kafka(r), ["silo"] = r["silo"]?.DeepClone(),
                ["silosUp"] = r["silosUp"]?.DeepClone(), ["silos"] = r["silos"]?.DeepClone(),
                ["reachable"] = r["reachable"]?.DeepClone(), ["error"] = r["error"]?.DeepClone(),
                ["topologyVersion"] = r["topologyVersion"]?.DeepClone(), ["topologyName"] = r["topologyName"]?.DeepClone(),
                ["topologyNote"] = r["topologyNote"]?.DeepClone(),
            })]),
            ["links"] = links,
            ["history"] = new JsonObject
            {
                ["at"] = new JsonArray([.. history.Select(s => (JsonNode?)JsonValue.Create(s.At.ToUnixTimeMilliseconds()))]),
                ["links"] = series,
            },
            ["hasPercentiles"] = anyPercentiles,
            ["notes"] = new JsonObject
            {
                ["latency"] = anyPercentiles
                    ? "latency is p50 / p99 of the records each topic wrote in the last 30-60 s (the latest record's where none were written)"
                    : "latency is the latest end-to-end latency each topic reports (no records written in the last minute)",
                ["auditAndDrill"] = "no results to show: 'mesh audit' and 'mesh drill' print their reports and keep none",
            },
        };
    }

    private static string Key(JsonNode link) => $"{link["source"]!.GetValue<string>()}->{link["destination"]!.GetValue<string>()}";
}
