using Mesh.Core.Backup.Archiving;
using Mesh.Core.Replication;
using Mesh.Grains.Options;
using Mesh.Grains.Ports;
using Mesh.Grains.Tests.InMemory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.TestingHost;

namespace Mesh.Grains.Tests.Hosting;

/// <summary>
/// Gives each test silo the grains' ports over its cluster's <see cref="MeshWorld"/> (found through the
/// cluster's <see cref="WorldKey"/> property) and replication options tuned for quick tests.
/// </summary>
public sealed class MeshSiloConfigurator : ISiloConfigurator
{
    public const string WorldKey = "MeshTests:World";

    public void Configure(ISiloBuilder silo)
    {
        var world = MeshWorld.Find(silo.Configuration[WorldKey] ?? throw new InvalidOperationException($"the test cluster has no '{WorldKey}' property"));
        silo.Services.Configure<ReplicationOptions>(o =>
        {
            o.LocalRegion = world.LocalRegion;
            o.MaxBatchRecords = 25; // several batches per burst, so stops and starts land between them
            o.CheckpointInterval = TimeSpan.FromMilliseconds(200);
            o.DiscoveryInterval = TimeSpan.FromMilliseconds(300);
            o.TopicConfigCheckInterval = TimeSpan.FromMilliseconds(500);
            // In-memory writes land at once; a short W keeps a take-over after an unreleased claim quick (5 s).
            o.WriteTimeout = TimeSpan.FromSeconds(1);
        });
        silo.Services.AddSingleton(world);
        silo.Services.AddSingleton(TimeProvider.System);
        silo.Services.AddSingleton(sp => new BackupReadShare(sp.GetRequiredService<TimeProvider>()));
        silo.Services.AddSingleton<ReplicationMetrics>();
        silo.Services.AddSingleton<ITopologyStore, InMemoryTopologyStore>();
        silo.Services.AddSingleton<IRegionConnections, RecordingRegionConnections>();
        silo.Services.AddSingleton<IKafkaReachability, UnprobedKafka>();
        silo.Services.AddSingleton<ITopicCatalog, InMemoryTopicCatalog>();
        silo.Services.AddSingleton<ITopicDescriptions, InMemoryTopicDescriptions>();
        silo.Services.AddSingleton<ISourceFeeds, InMemorySourceFeeds>();
        silo.Services.AddSingleton<IDestinationLog, InMemoryDestinationLog>();
        silo.Services.AddSingleton<IDestinationLogs, InMemoryDestinationLogs>();
        silo.Services.AddSingleton<IDestinationTransactions, InMemoryTransactions>();
        silo.Services.AddSingleton<ICheckpointStore, InMemoryCheckpointStore>();
        silo.Services.AddSingleton<IQuarantineStore, InMemoryQuarantineStore>();
        silo.Services.AddSingleton<IRegionIdentity, InMemoryRegionIdentity>();
        silo.Services.AddSingleton<IReplicationReadiness, AlwaysReady>();
        silo.Services.AddLogging(logging => logging.AddProvider(new WorldLoggerProvider(world)));
    }
}

/// <summary>Keeps what the mesh's grains log in the world, so a failing test can say what they were doing.</summary>
internal sealed class WorldLoggerProvider(MeshWorld world) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new WorldLogger(world, categoryName);

    public void Dispose()
    {
    }

    private sealed class WorldLogger(MeshWorld world, string category) : ILogger
    {
        private readonly bool _mesh = category.StartsWith("Mesh.", StringComparison.Ordinal);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => _mesh && logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            world.Log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category[(category.LastIndexOf('.') + 1)..]}: {formatter(state, exception)}" +
                              (exception is null ? "" : $" ({exception.GetBaseException().Message})"));
        }
    }
}

/// <summary>In-memory regions have no brokers to probe: nothing is known, so no link waits on one.</summary>
internal sealed class UnprobedKafka : IKafkaReachability
{
    public Mesh.Core.Health.ClusterReachability? Of(string region) => null;

    public IReadOnlyList<Mesh.Core.Health.ClusterReachability> All => [];
}
