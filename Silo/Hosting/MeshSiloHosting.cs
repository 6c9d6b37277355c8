using System.Net;
using Mesh.Core.Backup.Archiving;
using Mesh.Core.Replication;
using Mesh.Grains.Backup;
using Mesh.Grains.Options;
using Mesh.Kafka.Backup;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Mesh.Kafka.Offsets;
using Mesh.Kafka.Replication;
using Mesh.Silo.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;

namespace Mesh.Silo.Hosting;

public static class MeshSiloHosting
{
    /// <summary>Registers replication: the Kafka clients shared by this silo's grains and the supervisor that keeps links running.</summary>
    public static IServiceCollection AddMeshReplication(this IServiceCollection services, RegionOptions region)
    {
        services.Configure<ReplicationOptions>(o =>
        {
            o.LocalRegion = region.Region;
            o.MaxBatchRecords = region.Replication.MaxBatchRecords;
            o.CheckpointInterval = TimeSpan.FromMilliseconds(region.Replication.CheckpointIntervalMs);
            o.DiscoveryInterval = TimeSpan.FromMilliseconds(region.Replication.DiscoveryIntervalMs);
            o.MinimumSilos = region.Replication.MinimumSilos;
            o.Keys = MeshKeys.Create(region.Provenance.Key, region.Provenance.AdditionalKey);
            o.StrictProvenance = region.Provenance.Untrusted.Equals("strict", StringComparison.OrdinalIgnoreCase);
            o.KeepUntrustedHeader = !region.Provenance.UntrustedHeader.Equals("strip", StringComparison.OrdinalIgnoreCase);
            o.OnBadRecord = BadRecordActions.Parse(region.Replication.OnBadRecord);
            o.BadRecordRules = [.. region.TopicPolicies
                .Where(p => p.OnBadRecord is not null)
                .Select(p => (new TopicFilter([p.Topics], []), BadRecordActions.Parse(p.OnBadRecord!)))];
            o.StartupGrace = TimeSpan.FromMilliseconds(region.Replication.StartupGraceMs);
            o.TopicConfigCheckInterval = TimeSpan.FromMilliseconds(region.Replication.TopicConfigCheckIntervalMs);
            o.WriteTimeout = TimeSpan.FromMilliseconds(region.Replication.WriteTimeoutMs);
        });
        services.Configure<KafkaRegionsOptions>(o =>
        {
            o.LocalRegion = region.Region;
            o.WriteTimeout = TimeSpan.FromMilliseconds(region.Replication.WriteTimeoutMs);
            o.ColdAfter = TimeSpan.FromMilliseconds(region.Replication.ColdAfterMs);
            o.Clusters[region.Region] = region.Kafka;
            foreach (var (peer, cluster) in region.Connections) o.Clusters[peer] = cluster;
        });
        services.Configure<ProducerCompressionOptions>(o =>
        {
            o.Default = region.Replication.Compression;
            o.Topics = [.. region.TopicPolicies.Select(p => new TopicCompression(p.Topics, p.Compression))];
        });
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ReplicationMetrics>();
        services.TryAddSingleton<ReplicationReadiness>();
        services.TryAddSingleton<IReplicationReadiness>(sp => sp.GetRequiredService<ReplicationReadiness>());
        services.TryAddSingleton<RegionWriter>();
        services.TryAddSingleton<KafkaCheckpointStore>();
        services.TryAddSingleton<ICheckpointStore>(sp => sp.GetRequiredService<KafkaCheckpointStore>());
        services.TryAddSingleton<KafkaDestinationLogs>();
        services.TryAddSingleton<IDestinationLogs>(sp => sp.GetRequiredService<KafkaDestinationLogs>());
        services.TryAddSingleton(sp => sp.GetRequiredService<KafkaDestinationLogs>().For(region.Region));
        services.TryAddSingleton<IDestinationTransactions, KafkaDestinationTransactions>();
        services.TryAddSingleton<ISourceFeeds, KafkaSourceFeeds>();
        services.TryAddSingleton<KafkaTopicCatalog>();
        services.TryAddSingleton<ITopicCatalog>(sp => sp.GetRequiredService<KafkaTopicCatalog>());
        services.TryAddSingleton<ITopicDescriptions>(sp => sp.GetRequiredService<KafkaTopicCatalog>());
        services.TryAddSingleton(new InternalTopicDurability(region.Replication.InternalTopics.ReplicationFactor, region.Replication.InternalTopics.MinInsyncReplicas));
        services.TryAddSingleton<IQuarantineStore, KafkaQuarantineStore>();
        services.TryAddSingleton<IRegionIdentity, KafkaRegionIdentity>();
        services.TryAddSingleton<ITopologyStore, KafkaTopologyStore>();
        services.TryAddSingleton<IRegionConnections>(sp => new RegionConnections(
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<KafkaRegionsOptions>>(),
            region.Connections.Where(c => c.Key != region.Region).ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<RegionConnections>>()));
        services.AddSingleton(new TopologyStartup(region.Topology.File));
        services.AddHostedService<ReplicationSupervisor>();
        services.TryAddSingleton<KafkaReachabilityProbe>();
        services.TryAddSingleton<IKafkaReachability>(sp => sp.GetRequiredService<KafkaReachabilityProbe>());
        services.AddHostedService(sp => sp.GetRequiredService<KafkaReachabilityProbe>());
        services.TryAddSingleton(sp => new OffsetSync(
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<KafkaRegionsOptions>>(),
            sp.GetRequiredService<IRegionIdentity>(),
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<ReplicationOptions>>().Value.Keys,
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<OffsetSync>>()));
        services.AddHostedService<OffsetSyncService>();
        services.AddMeshBackup();
        return services;
    }

    /// <summary>
    /// Registers what the backup's grains need: the silo's own reader of the region's partitions, the archivers'
    /// checkpoints, group positions and the stores. What is backed up comes from the applied topology.
    /// </summary>
    public static IServiceCollection AddMeshBackup(this IServiceCollection services)
    {
        services.TryAddSingleton<IBackupFeeds, KafkaBackupFeeds>();
        // One per silo: the silo's replicators say when they are behind, its archivers then read at a floor.
        services.TryAddSingleton(sp => new BackupReadShare(sp.GetRequiredService<TimeProvider>(), startGrace: BackupReadShare.SiloStartGrace));
        services.TryAddSingleton<IBackupCheckpoints, KafkaBackupCheckpoints>();
        services.TryAddSingleton<IGroupPositions, KafkaGroupPositions>();
        services.TryAddSingleton<IBackupStores, BackupStoreCache>();
        return services;
    }

    /// <summary>The topology file this silo was started with (Mesh:Topology:File), or none.</summary>
    public sealed record TopologyStartup(string File);

    /// <summary>
    /// Each region is its own Orleans cluster. <c>localhost</c> runs its silos on this machine, every
    /// silo after the first joining the first (the primary), so the first silo cannot die without taking
    /// the cluster with it. <c>adonet</c> keeps membership in a PostgreSQL database (the schema comes from
    /// <see cref="Clustering.MembershipSchema"/>, applied before Orleans starts): any silo can die,
    /// the first included, and silos join and leave freely.
    /// </summary>
    public static ISiloBuilder UseMeshClustering(this ISiloBuilder silo, RegionOptions region)
    {
        var orleans = region.Orleans;
        var clusterId = orleans.ClusterId ?? $"mesh-{region.Region}";
        switch (orleans.Clustering.ToLowerInvariant())
        {
            case "localhost":
                var primary = orleans.PrimarySiloPort is int port ? new IPEndPoint(IPAddress.Loopback, port) : null;
                silo.UseLocalhostClustering(orleans.SiloPort, orleans.GatewayPort, primary, orleans.ServiceId, clusterId);
                break;
            case "adonet":
                silo.UseAdoNetClustering(o =>
                {
                    o.Invariant = orleans.AdoNet.Invariant;
                    o.ConnectionString = orleans.AdoNet.ConnectionString;
                });
                var advertised = IPAddress.Parse(orleans.AdvertisedAddress);
                // Loopback advertises and listens on loopback only; any other address listens on every interface.
                silo.ConfigureEndpoints(advertised, orleans.SiloPort, orleans.GatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(advertised));
                silo.Configure<ClusterMembershipOptions>(FastFailureDetection);
                break;
            default:
                throw new ArgumentException($"Unknown clustering '{orleans.Clustering}'.");
        }
        silo.Configure<ClusterOptions>(o => { o.ClusterId = clusterId; o.ServiceId = orleans.ServiceId; });
        return silo;
    }

    /// <summary>
    /// Membership tuned so that a region of a few silos notices a dead one within seconds, not the
    /// defaults' tens of seconds: each silo probes up to two others every ProbeTimeout (2 s) and
    /// suspects one after 2 missed probes (about 4 s; a SIGKILLed silo refuses connections at once, so
    /// probes fail fast); 2 votes declare it dead (Orleans asks for fewer when fewer silos are left, so
    /// the last survivor of three still evicts the second death alone); votes expire after 20 s. Each
    /// silo writes its I-am-alive time every 5 s (a silo nobody probes is judged on it) and re-reads the
    /// table every 5 s besides gossip. Dead silos' rows are removed after an hour, checked every 10
    /// minutes. Measured on two busy cores: a SIGKILLed silo is declared dead in about 5 to 8 s.
    /// </summary>
    private static void FastFailureDetection(ClusterMembershipOptions o)
    {
        o.ProbeTimeout = TimeSpan.FromSeconds(2);
        o.NumMissedProbesLimit = 2;
        o.NumProbedSilos = 2;
        o.NumVotesForDeathDeclaration = 2;
        o.DeathVoteExpirationTimeout = TimeSpan.FromSeconds(20);
        o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);
        o.TableRefreshTimeout = TimeSpan.FromSeconds(5);
        o.DefunctSiloExpiration = TimeSpan.FromHours(1);
        o.DefunctSiloCleanupPeriod = TimeSpan.FromMinutes(10);
    }
}
