using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Mesh.Core.Security;

/// <summary>
/// How an admin client proves, on each call that changes something, which mesh certificate it holds: it signs the call's
/// name and the time with the certificate's key and sends the certificate, the time and the signature with the call. The
/// silo checks the certificate against the mesh's CA, the signature against the certificate, and the time against its
/// clock. TLS already keeps strangers out; this carries the role of the holder (operator or read-only) to the grain call,
/// which the TLS connection alone cannot, and cannot be made by a holder without the key.
/// </summary>
public static class CallerProof
{
    /// <summary>The request context key the proof travels under.</summary>
    public const string ContextKey = "mesh.caller";

    /// <summary>How far the caller's clock and the silo's may disagree.</summary>
    public static readonly TimeSpan AllowedSkew = TimeSpan.FromMinutes(5);

    /// <summary>A proof that the holder of <paramref name="certificate"/> (with its key) calls <paramref name="call"/> at <paramref name="now"/>.</summary>
    public static string Create(X509Certificate2 certificate, string call, DateTimeOffset now)
    {
        var seconds = now.ToUnixTimeSeconds();
        var content = Content(call, seconds);
        byte[] signature;
        using (var ec = certificate.GetECDsaPrivateKey())
        {
            if (ec is not null) signature = ec.SignData(content, HashAlgorithmName.SHA256);
            else
            {
                using var rsa = certificate.GetRSAPrivateKey() ?? throw new ArgumentException("the certificate holds no private key", nameof(certificate));
                signature = rsa.SignData(content, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            }
        }
        return $"{Convert.ToBase64String(certificate.RawData)}.{seconds}.{Convert.ToBase64String(signature)}";
    }

    /// <summary>
    /// Who made <paramref name="proof"/> for <paramref name="call"/>, or why it proves nothing: missing, malformed, out of
    /// time, signed for another call or by another key, or a certificate the mesh does not accept.
    /// </summary>
    public static (MeshIdentity? Identity, string? Refusal) Verify(string? proof, string call, X509Certificate2 authority, RevokedSerials? revoked, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(proof)) return (null, "the call carries no proof of the caller's certificate (a client of a mesh version without roles, or not the mesh's client)");
        var parts = proof.Split('.');
        if (parts.Length != 3 || !long.TryParse(parts[1], out var seconds)) return (null, "the caller's proof is malformed");
        X509Certificate2 certificate;
        byte[] signature;
        try
        {
            certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(parts[0]));
            signature = Convert.FromBase64String(parts[2]);
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            return (null, "the caller's proof is malformed");
        }
        using (certificate)
        {
            var at = DateTimeOffset.FromUnixTimeSeconds(seconds);
            if ((now - at).Duration() > AllowedSkew)
                return (null, $"the caller's proof was made at {at:yyyy-MM-dd HH:mm:ss} UTC, more than {AllowedSkew.TotalMinutes:0} minutes from this silo's clock (check the clocks)");
            var content = Content(call, seconds);
            bool signed;
            using (var ec = certificate.GetECDsaPublicKey())
            using (var rsa = ec is null ? certificate.GetRSAPublicKey() : null)
            {
                signed = ec?.VerifyData(content, signature, HashAlgorithmName.SHA256)
                         ?? rsa?.VerifyData(content, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1) ?? false;
            }
            if (!signed) return (null, "the caller's proof is not signed by its certificate's key for this call");
            return MeshCertificates.Verify(certificate, authority, now, revoked);
        }
    }

    private static byte[] Content(string call, long seconds) => Encoding.UTF8.GetBytes($"mesh-call|{call}|{seconds}");
}
