using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mesh.RegionHost;

/// <summary>
/// The loopback HTTP surface that supplies what the mock cluster lacks (topic creation, topic
/// configs) and exposes its fault injection. Bound to 127.0.0.1 only: it is unauthenticated.
/// <list type="bullet">
/// <item><c>PUT /topics/{name}?partitions=N[&amp;replicationFactor=R][&amp;config.KEY=VALUE...]</c> creates a topic
/// with topic configs (e.g. <c>config.cleanup.policy=compact</c>); an existing topic keeps its configs.</item>
/// <item><c>GET /topics</c> and <c>GET /topics/{name}</c> report partitions and configs (404: unknown topic).</item>
/// <item><c>PATCH /topics/{name}/configs?config.KEY=VALUE...</c> alters a topic's configs (an empty value removes one), as
/// IncrementalAlterConfigs would; the configs are remembered, not applied.</item>
/// </list>
/// </summary>
public sealed partial class ControlServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly MockCluster _cluster;
    private readonly string _region;

    public ControlServer(MockCluster cluster, string region)
    {
        _cluster = cluster;
        _region = region;

        // No command-line args: ours (--dir, --brokers) are not ASP.NET configuration.
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console => console.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // The host's own SIGTERM handling must finish quickly enough for callers waiting on exit.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));
        _app = builder.Build();
        MapRoutes(_app);
    }

    /// <summary>Base URL such as <c>http://127.0.0.1:43123</c>; valid after <see cref="StartAsync"/>.</summary>
    public string BaseUrl { get; private set; } = "";

    public async Task StartAsync()
    {
        await _app.StartAsync();
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        BaseUrl = addresses?.FirstOrDefault()?.TrimEnd('/')
            ?? throw new InvalidOperationException("Kestrel started but reported no listening address.");
    }

    /// <summary>Completes after SIGTERM/SIGINT or <c>POST /shutdown</c>, once in-flight requests finished.</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private void MapRoutes(WebApplication app)
    {
        app.MapGet("/health", () => Results.Json(new
        {
            region = _region,
            bootstrap = _cluster.Bootstrap,
            brokers = _cluster.Brokers,
            topics = _cluster.Topics,
        }));

        app.MapPut("/topics/{name}", (string name, HttpRequest request) => PutTopic(name, request.Query));
        app.MapPatch("/topics/{name}/configs", (string name, HttpRequest request) =>
        {
            if (!TryParseConfigs(request.Query, out var changes, out var error) || changes.Count == 0)
                return Error(StatusCodes.Status400BadRequest, (error.Length > 0 ? error + " " : "") + "Usage: PATCH /topics/{name}/configs?config.KEY=VALUE[&config.KEY2=...] (an empty VALUE removes the config)");
            if (_cluster.AlterTopicConfigs(name, changes) is not { } altered)
                return Error(StatusCodes.Status404NotFound, $"no topic '{name}' in region {_region} (created here or found by a PUT)");
            Log.Info(_region, $"topic '{name}' configs altered: {string.Join(", ", changes.Select(c => $"{c.Key}={c.Value}"))}");
            return Results.Json(Describe(altered));
        });
        app.MapGet("/topics", () => Results.Json(new { topics = _cluster.Topics.Select(Describe) }));
        app.MapGet("/topics/{name}", (string name) => _cluster.Topic(name) is { } topic
            ? Results.Json(Describe(topic))
            : Error(StatusCodes.Status404NotFound, $"no topic '{name}' in region {_region} (created here or found by a PUT)"));

        app.MapPost("/brokers/{id}/down", (string id) => ForBrokers(id, broker => _cluster.SetBrokerUp(broker, false)));
        app.MapPost("/brokers/{id}/up", (string id) => ForBrokers(id, broker => _cluster.SetBrokerUp(broker, true)));
        app.MapPost("/brokers/{id}/rtt", (string id, HttpRequest request) =>
        {
            if (!TryParseInt(request.Query, "ms", min: 0, out var ms, out var error))
                return Error(StatusCodes.Status400BadRequest, error + " Usage: POST /brokers/{id}/rtt?ms=N");
            return ForBrokers(id, broker => _cluster.SetBrokerRtt(broker, ms));
        });

        app.MapPost("/shutdown", (HttpContext context, IHostApplicationLifetime lifetime) =>
        {
            Log.Info(_region, "shutdown requested over HTTP");
            // Stop only after the response went out, so the caller sees its 200.
            context.Response.OnCompleted(() =>
            {
                lifetime.StopApplication();
                return Task.CompletedTask;
            });
            return Results.Json(new { shuttingDown = true });
        });
    }

    private IResult PutTopic(string name, IQueryCollection query)
    {
        if (!IsValidTopicName(name))
            return Error(StatusCodes.Status400BadRequest,
                $"invalid topic name '{name}': use 1-249 characters from [a-zA-Z0-9._-], not '.' or '..'");
        if (!TryParseInt(query, "partitions", min: 1, out var partitions, out var error))
            return Error(StatusCodes.Status400BadRequest, error + " Usage: PUT /topics/{name}?partitions=N[&replicationFactor=R][&config.KEY=VALUE...]");

        var replicationFactor = Math.Min(3, _cluster.BrokerCount);
        if (query.ContainsKey("replicationFactor")
            && !TryParseInt(query, "replicationFactor", min: 1, out replicationFactor, out error))
            return Error(StatusCodes.Status400BadRequest, error);
        if (replicationFactor > _cluster.BrokerCount)
            return Error(StatusCodes.Status400BadRequest,
                $"replicationFactor {replicationFactor} exceeds the {_cluster.BrokerCount} brokers of this region");

        if (!TryParseConfigs(query, out var configs, out error))
            return Error(StatusCodes.Status400BadRequest, error);

        TopicCreateResult result;
        try
        {
            result = _cluster.CreateTopic(name, partitions, replicationFactor, configs);
        }
        catch (MockClusterException e)
        {
            return Error(StatusCodes.Status503ServiceUnavailable, e.Message);
        }

        switch (result.Outcome)
        {
            case TopicOutcome.Created:
                Log.Info(_region, $"topic '{name}' created: {partitions} partitions, replication factor {replicationFactor}"
                    + (configs.Count == 0 ? "" : ", " + string.Join(", ", configs.Select(c => $"{c.Key}={c.Value}"))));
                return Results.Json(new { name, partitions, created = true, configs = result.Configs }, statusCode: StatusCodes.Status201Created);
            case TopicOutcome.AlreadyExists:
                // Like Kafka's CreateTopics, a second creation changes nothing; the caller sees the
                // configs the topic really has and decides whether they will do.
                return Results.Json(new { name, partitions, created = false, configs = result.Configs });
            default:
                return Error(StatusCodes.Status409Conflict,
                    $"topic '{name}' exists with {result.Partitions} partitions, requested {partitions}");
        }
    }

    private IResult ForBrokers(string id, Func<int, BrokerState> change)
    {
        try
        {
            if (id == "all")
            {
                var changed = Enumerable.Range(1, _cluster.BrokerCount).Select(change).ToArray();
                Log.Info(_region, $"all brokers now: {string.Join(", ", changed.Select(Describe))}");
                return Results.Json(new { brokers = changed });
            }
            if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var brokerId) || !_cluster.HasBroker(brokerId))
                return Error(StatusCodes.Status404NotFound,
                    $"no broker '{id}' in region {_region}: use 1..{_cluster.BrokerCount} or 'all'");
            var state = change(brokerId);
            Log.Info(_region, $"broker {Describe(state)}");
            return Results.Json(state);
        }
        catch (MockClusterException e)
        {
            return Error(StatusCodes.Status500InternalServerError, e.Message);
        }
    }

    private static object Describe(TopicInfo t) => new { name = t.Name, partitions = t.Partitions, configs = t.Configs };

    /// <summary>Topic configs from <c>config.KEY=VALUE</c> query parameters.</summary>
    private static bool TryParseConfigs(IQueryCollection query, out Dictionary<string, string> configs, out string error)
    {
        configs = new Dictionary<string, string>(StringComparer.Ordinal);
        error = "";
        foreach (var (key, values) in query)
        {
            if (!key.StartsWith(ConfigPrefix, StringComparison.Ordinal)) continue;
            var name = key[ConfigPrefix.Length..];
            if (name.Length == 0 || values.Count != 1)
            {
                error = $"query parameter '{key}' must be 'config.<topic config>=<value>', given once.";
                return false;
            }
            configs[name] = values.ToString();
        }
        return true;
    }

    private const string ConfigPrefix = "config.";

    private static string Describe(BrokerState b) => $"{b.Id} {(b.Up ? "up" : "down")} rtt={b.RttMs}ms";

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);

    private static bool TryParseInt(IQueryCollection query, string key, int min, out int value, out string error)
    {
        var raw = query[key].ToString();
        if (int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min)
        {
            error = "";
            return true;
        }
        error = raw.Length == 0
            ? $"query parameter '{key}' is required (an integer >= {min})."
            : $"query parameter '{key}' must be an integer >= {min}, got '{raw}'.";
        return false;
    }

    // Kafka's own rule for topic names.
    private static bool IsValidTopicName(string name) => name is not ("." or "..") && TopicName().IsMatch(name);

    [GeneratedRegex(@"^[a-zA-Z0-9._-]{1,249}\z")]
    private static partial Regex TopicName();
}
