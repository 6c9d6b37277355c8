using Mesh.Core.Topology;
using Mesh.Grains.Ports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Kafka.Clients;

/// <summary>
/// Keeps this silo's <see cref="KafkaRegionsOptions"/> in step with the applied topology: each other
/// region's connection is its Mesh:Connections entry when the silo has one, else the document's
/// <c>kafka</c> settings with <c>${VAR}</c> references resolved from this silo's environment. This
/// region's own cluster is always the silo's Mesh:Kafka. A region's clients, once made, keep the
/// connection they were made with.
/// </summary>
public sealed partial class RegionConnections(
    IOptions<KafkaRegionsOptions> regions,
    IReadOnlyDictionary<string, KafkaClusterOptions> overrides,
    ILogger<RegionConnections> logger) : IRegionConnections
{
    private readonly Lock _gate = new();
    private long _version = -1;

    public void Update(Topology topology)
    {
        lock (_gate)
        {
            if (topology.Version == _version) return;
            _version = topology.Version;
        }
        var clusters = regions.Value.Clusters;
        foreach (var (region, cluster) in overrides) clusters[region] = cluster;
        foreach (var region in topology.Regions)
        {
            if (region.Id == regions.Value.LocalRegion || overrides.ContainsKey(region.Id)) continue;
            try
            {
                var settings = region.Kafka.Resolve(region.Id, Environment.GetEnvironmentVariable);
                if (!settings.TryGetValue("bootstrap.servers", out var bootstrap) || string.IsNullOrWhiteSpace(bootstrap))
                {
                    if (!clusters.ContainsKey(region.Id)) LogNoBootstrap(region.Id);
                    continue;
                }
                clusters[region.Id] = new KafkaClusterOptions
                {
                    BootstrapServers = bootstrap,
                    Settings = settings.Where(s => s.Key != "bootstrap.servers").ToDictionary(s => s.Key, s => s.Value),
                };
            }
            catch (UnresolvedSecretException e)
            {
                LogUnresolved(region.Id, e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Region {Region} has no 'kafka: bootstrap.servers' in the topology and no Mesh:Connections entry here: links from it cannot run")]
    private partial void LogNoBootstrap(string region);

    [LoggerMessage(Level = LogLevel.Error, Message = "Region {Region}'s Kafka settings cannot be used: {Reason}")]
    private partial void LogUnresolved(string region, string reason);
}
