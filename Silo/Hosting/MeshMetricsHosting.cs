using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Mesh.Core.Replication;
using Mesh.Kafka.Clients;
using Mesh.Silo.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Mesh.Silo.Hosting;

public static class MeshMetricsHosting
{
    /// <summary>Orleans' own meter (grain calls, activations, messaging).</summary>
    public const string OrleansMeter = "Microsoft.Orleans";

    /// <summary>
    /// When <see cref="MetricsOptions.Port"/> is set, serves the silo's meters for Prometheus at
    /// <c>http://Host:Port/metrics</c> through OpenTelemetry, and has the shared Kafka clients report librdkafka's statistics. Without a port nothing listens to the meters, and
    /// recording into them costs next to nothing.
    /// </summary>
    /// <summary>Why the metrics endpoint cannot listen where it is set to (its port taken), or null when it can or is off.</summary>
    public static string? PortTaken(MetricsOptions options)
    {
        if (options.Port == 0 || !IPAddress.TryParse(options.Host, out var address)) return null;
        try
        {
            using var probe = new TcpListener(address, options.Port);
            probe.Start();
            return null;
        }
        catch (SocketException e)
        {
            return $"Mesh:Metrics:Port (env MESH_Mesh__Metrics__Port): {options.Host}:{options.Port} cannot be listened on ({e.SocketErrorCode}: " +
                   "another process, perhaps another silo on this host, has it). Give each silo a port of its own, or 0 for no metrics endpoint.";
        }
    }

    public static IServiceCollection AddMeshMetrics(this IServiceCollection services, RegionOptions region)
    {
        var options = region.Metrics;
        if (options.Port == 0) return services;
        if (options.KafkaStatisticsIntervalMs > 0)
        {
            services.TryAddSingleton(sp => new KafkaClientStatistics(options.KafkaStatisticsIntervalMs, sp.GetRequiredService<TimeProvider>(),
                sp.GetService<IMeterFactory>()));
            services.AddOptions<KafkaRegionsOptions>().Configure<KafkaClientStatistics>((o, statistics) => o.Statistics = statistics);
        }
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("mesh-silo").AddAttributes([new("mesh.region", region.Region)]))
            .WithMetrics(metrics => metrics
                .AddMeter(ReplicationMetrics.MeterName, KafkaClientStatistics.MeterName, OrleansMeter)
                .AddPrometheusHttpListener(o =>
                {
                    o.Host = options.Host;
                    o.Port = options.Port;
                }));
        return services;
    }
}
