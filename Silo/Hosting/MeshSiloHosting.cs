using System.Net;
using Mesh.Core.Replication;
using Mesh.Grains.Options;
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
            o.WriteTimeout = TimeSpan.FromMilliseconds(region.Replication.WriteTimeoutMs);
        });
        services.Configure<KafkaRegionsOptions>(o =>
        {
            o.LocalRegion = region.Region;
            o.WriteTimeout = TimeSpan.FromMilliseconds(region.Replication.WriteTimeoutMs);
            o.Clusters[region.Region] = region.Kafka;
            foreach (var (peer, cluster) in region.Connections) o.Clusters[peer] = cluster;
        });
        services.Configure<ProducerCompressionOptions>(o =>
        {
            o.Default = region.Replication.Compression;
            o.Topics = [.. region.TopicPolicies.Select(p => new TopicCompression(p.Topics, p.Compression))];
        });
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ReplicationReadiness>();
        services.TryAddSingleton<IReplicationReadiness>(sp => sp.GetRequiredService<ReplicationReadiness>());
        services.TryAddSingleton<RegionWriter>();
        services.TryAddSingleton<KafkaCheckpointStore>();
        services.TryAddSingleton<ICheckpointStore>(sp => sp.GetRequiredService<KafkaCheckpointStore>());
        services.TryAddSingleton<KafkaDestinationLogs>();
        services.TryAddSingleton<IDestinationLogs>(sp => sp.GetRequiredService<KafkaDestinationLogs>());
        services.TryAddSingleton(sp => sp.GetRequiredService<KafkaDestinationLogs>().For(region.Region));
        services.TryAddSingleton<ISourceFeeds, KafkaSourceFeeds>();
        services.TryAddSingleton<ITopicCatalog, KafkaTopicCatalog>();
        services.TryAddSingleton<IQuarantineStore, KafkaQuarantineStore>();
        services.TryAddSingleton<IRegionIdentity, KafkaRegionIdentity>();
        services.TryAddSingleton<ITopologyStore, KafkaTopologyStore>();
        services.TryAddSingleton<IRegionConnections>(sp => new RegionConnections(
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<KafkaRegionsOptions>>(),
            region.Connections.Where(c => c.Key != region.Region).ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<RegionConnections>>()));
        services.AddSingleton(new TopologyStartup(region.Topology.File));
        services.AddHostedService<ReplicationSupervisor>();
        services.TryAddSingleton(sp => new OffsetSync(
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<KafkaRegionsOptions>>(),
            sp.GetRequiredService<IRegionIdentity>(),
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<ReplicationOptions>>().Value.Keys,
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<OffsetSync>>()));
        services.AddHostedService<OffsetSyncService>();
        return services;
    }

    /// <summary>The topology file this silo was started with (Mesh:Topology:File), or none.</summary>
    public sealed record TopologyStartup(string File);

    /// <summary>
    /// Each region is its own Orleans cluster. <c>localhost</c> runs its silos on this machine;
    /// <c>adonet</c> is the seam for PostgreSQL membership, which a later release fills in.
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
                throw new NotSupportedException(
                    "Mesh:Orleans:Clustering \"adonet\" is not available in this build yet; use \"localhost\".");
            default:
                throw new ArgumentException($"Unknown clustering '{orleans.Clustering}'.");
        }
        silo.Configure<ClusterOptions>(o => { o.ClusterId = clusterId; o.ServiceId = orleans.ServiceId; });
        return silo;
    }
}
