using System.Diagnostics.Metrics;
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
