using Mesh.Grains.Ports;
using Mesh.Grains.Security;
using Mesh.Kafka.Replication;
using Mesh.Security;
using Mesh.Silo.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mesh.Silo.Hosting;

public static class MeshTlsHosting
{
    /// <summary>
    /// Mutual TLS on the silo's Orleans ports when the region names its certificate files (the validator has checked them
    /// already, so a failure here is a file changed in between, and the silo stops rather than start in plain text).
    /// Without them the ports speak plain text, and the silo says so at start.
    /// </summary>
    public static ISiloBuilder UseMeshTls(this ISiloBuilder silo, RegionOptions region)
    {
        var tls = region.Orleans.Tls;
        if (!tls.Enabled)
        {
            silo.Services.AddHostedService(sp => new PlainTextWarning(sp.GetRequiredService<ILogger<PlainTextWarning>>()));
            return silo;
        }
        var credentials = MeshCredentials.Load(new MeshTlsFiles(tls.CaFile!, tls.CertificateFile!, tls.KeyFile!, string.IsNullOrEmpty(tls.CrlFile) ? null : tls.CrlFile),
            TimeProvider.System.GetUtcNow());
        silo.Services.AddSingleton(credentials);
        // Roles on grain calls and the audit log of operator changes: both need the callers' certificates.
        silo.Services.AddSingleton(new CallerTrust(credentials.Authority, credentials.Revoked));
        silo.Services.TryAddSingleton<IAuditLog, KafkaAuditLog>();
        silo.AddIncomingGrainCallFilter<ClientAccessFilter>();
        silo.Services.AddHostedService(sp => new CertificateExpiryWatch(credentials, TimeSpan.FromDays(tls.ExpiryWarningDays),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<CertificateExpiryWatch>>()));
        return silo.UseMeshTls(credentials, region.Region, TimeProvider.System);
    }

    private sealed class PlainTextWarning(ILogger<PlainTextWarning> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            logger.LogWarning("The silo and gateway ports speak plain text and accept any client that reaches them: set Mesh:Orleans:Tls " +
                              "(CaFile, CertificateFile, KeyFile; 'mesh certs init' and 'mesh certs issue' make them) for mutual TLS");
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Warns at start and twice a day once the silo's certificate or the CA is within the warning window of expiring.</summary>
    internal sealed class CertificateExpiryWatch(MeshCredentials credentials, TimeSpan window, TimeProvider time, ILogger<CertificateExpiryWatch> logger) : BackgroundService
    {
        public static readonly TimeSpan CheckEvery = TimeSpan.FromHours(12);

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var (what, when) = credentials.FirstExpiry;
                var left = when - time.GetUtcNow();
                if (left <= window)
                    logger.LogWarning("The {What} expires on {When:yyyy-MM-dd HH:mm} UTC ({Days:0.#} days from now): issue a new one with 'mesh certs issue' " +
                                      "and restart the silo before then, or its peers and clients will refuse it", what, when, left.TotalDays);
                try
                {
                    await Task.Delay(CheckEvery, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
