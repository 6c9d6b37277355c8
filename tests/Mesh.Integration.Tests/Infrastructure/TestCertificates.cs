using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>Certificates made in the test process, for tests that need a PEM file and not a TLS peer.</summary>
public static class TestCertificates
{
    /// <summary>A self-signed RSA certificate valid for a day, with its key (the caller disposes both).</summary>
    public static (X509Certificate2 Certificate, RSA Key) SelfSigned(string subject)
    {
        var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return (request.CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1)), key);
    }
}
