using Mesh.Core.Replication;
using Mesh.Silo.Options;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace Mesh.Silo.Hosting;

public static class MeshMetricsHosting
{
    /// <summary>Orleans' own meter (grain calls, activations, messaging).</summary>
    public const string OrleansMeter = "Microsoft.Orleans";

    /// <summary>
    /// When <see cref="MetricsOptions.Port"/> is set, serves the silo's meters for Prometheus at
    /// <c>http://Host:Port/metrics</c> through OpenTelemetry. Without a port nothing listens to the meters, and
    /// recording into them costs next to nothing.
    /// </summary>
    public static IServiceCollection AddMeshMetrics(this IServiceCollection services, MetricsOptions options)
    {
        if (options.Port == 0) return services;
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(ReplicationMetrics.MeterName, OrleansMeter)
            .AddPrometheusHttpListener(o =>
            {
                o.Host = options.Host == "*" ? "+" : options.Host; // HttpListener's "every interface"
                o.Port = options.Port;
            }));
        return services;
    }
}
