using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mesh.Core.Security;

/// <summary>What a certificate issued by the mesh's CA lets its holder do (carried in the subject's OU).</summary>
public enum MeshRole
{
    /// <summary>A silo of one region (the certificate's CN names the region): silo-to-silo ports and every grain call.</summary>
    Silo,

    /// <summary>An operator: status and every change (apply, pause/resume, failover, rebuild, restore).</summary>
    Operator,

    /// <summary>A reader: status, ui, audit, backup status; no change.</summary>
    ReadOnly,
}

public static class MeshRoles
{
    public static string Name(MeshRole role) => role switch
    {
        MeshRole.Silo => "silo",
        MeshRole.Operator => "operator",
        MeshRole.ReadOnly => "read-only",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };

    public static bool TryParse(string? text, out MeshRole role)
    {
        foreach (var candidate in Enum.GetValues<MeshRole>())
        {
            if (string.Equals(Name(candidate), text, StringComparison.OrdinalIgnoreCase))
            {
                role = candidate;
                return true;
            }
        }
        role = default;
        return false;
    }

    /// <summary>The roles an operator may ask for on the command line, for messages.</summary>
    public static string Known => string.Join(", ", Enum.GetValues<MeshRole>().Select(Name));
}

/// <summary>Who a mesh certificate says its holder is: a role, a name (for silos, the region), and when it stops being valid.</summary>
public sealed record MeshIdentity(MeshRole Role, string Name, DateTimeOffset NotAfter, string Serial)
{
    /// <summary>The region a silo certificate belongs to; null for people.</summary>
    public string? Region => Role == MeshRole.Silo ? Name : null;

    public string Describe() => Role == MeshRole.Silo ? $"silo of region {Name}" : $"{MeshRoles.Name(Role)} '{Name}'";
}

/// <summary>
/// The mesh's own certificate authority: makes the CA, issues certificates whose subject carries the holder's role and
/// name, and checks a presented certificate against the CA without the operating system's trust store (a mesh trusts its
/// CA and nothing else). ECDSA P-256 throughout: small, fast handshakes, supported by every TLS 1.2/1.3 stack.
/// </summary>
public static class MeshCertificates
{
    /// <summary>The O of every subject the mesh issues, so a certificate from another CA that happens to use our OU values still reads as foreign.</summary>
    public const string Organization = "mesh";

    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    /// <summary>A self-signed CA valid from a minute before <paramref name="now"/> (clocks drift) for <paramref name="validity"/>.</summary>
    public static X509Certificate2 CreateAuthority(string name, TimeSpan validity, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(Subject(name, null), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request.CreateSelfSigned(now.AddMinutes(-1), now + validity);
    }

    /// <summary>
    /// A certificate for <paramref name="role"/>: a silo's CN is its region and it may serve and dial (server and client
    /// authentication); an operator's or reader's CN is the person's name and it may only dial. <paramref name="hosts"/> go in
    /// the subject alternative names (DNS names or IP addresses) for tools that check them; the mesh itself checks role and
    /// region, not host names, since silos come and go behind changing addresses.
    /// </summary>
    public static X509Certificate2 Issue(X509Certificate2 authority, MeshRole role, string name, IEnumerable<string> hosts, TimeSpan validity, DateTimeOffset now)
    {
        if (!authority.HasPrivateKey) throw new ArgumentException("the CA certificate was loaded without its key: issuing needs ca.key", nameof(authority));
        var notAfter = now + validity;
        if (notAfter > authority.NotAfter) notAfter = authority.NotAfter; // never outlive the CA
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(Subject(name, role), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            role == MeshRole.Silo ? [new Oid(ServerAuth), new Oid(ClientAuth)] : [new Oid(ClientAuth)], critical: false));
        var names = new SubjectAlternativeNameBuilder();
        var any = false;
        foreach (var host in hosts.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (System.Net.IPAddress.TryParse(host, out var ip)) names.AddIpAddress(ip);
            else names.AddDnsName(host);
            any = true;
        }
        if (any) request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // a positive serial, as RFC 5280 asks
        var notBefore = now.AddMinutes(-1);
        if (notBefore < authority.NotBefore) notBefore = authority.NotBefore; // nor predate it
        using var issued = request.Create(authority, notBefore, notAfter, serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>The role and name a certificate carries, or null when its subject is not one the mesh issues.</summary>
    public static MeshIdentity? Identify(X509Certificate2 certificate)
    {
        var subject = certificate.SubjectName;
        string? cn = null, ou = null, o = null;
        foreach (var rdn in subject.EnumerateRelativeDistinguishedNames())
        {
            var value = rdn.GetSingleElementValue();
            switch (rdn.GetSingleElementType().Value)
            {
                case "2.5.4.3": cn = value; break;
                case "2.5.4.11": ou = value; break;
                case "2.5.4.10": o = value; break;
            }
        }
        if (o != Organization || string.IsNullOrEmpty(cn) || !MeshRoles.TryParse(ou, out var role)) return null;
        return new MeshIdentity(role, cn, certificate.NotAfter, certificate.SerialNumber);
    }

    /// <summary>
    /// Checks that <paramref name="presented"/> was issued by <paramref name="authority"/> (and no other CA), is valid at
    /// <paramref name="now"/>, is not revoked, and carries a mesh identity. Returns the identity, or the reason it is refused
    /// in words an operator can act on.
    /// </summary>
    public static (MeshIdentity? Identity, string? Refusal) Verify(X509Certificate2 presented, X509Certificate2 authority, DateTimeOffset now, RevokedSerials? revoked = null)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        var built = chain.Build(presented);
        var root = chain.ChainElements.Count > 0 ? chain.ChainElements[^1].Certificate : null;
        if (!built || root is null || !root.RawDataMemory.Span.SequenceEqual(authority.RawDataMemory.Span))
        {
            var statuses = chain.ChainStatus.Select(s => s.Status).ToHashSet();
            if (statuses.Contains(X509ChainStatusFlags.NotTimeValid) && (root?.RawDataMemory.Span.SequenceEqual(authority.RawDataMemory.Span) ?? false))
            {
                return (null, presented.NotAfter.ToUniversalTime() < now.UtcDateTime
                    ? $"its certificate '{presented.Subject}' expired on {presented.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC; issue a new one with 'mesh certs issue'"
                    : $"its certificate '{presented.Subject}' is not valid before {presented.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm} UTC (check the clocks)");
            }
            return (null, $"its certificate '{presented.Subject}' (issuer '{presented.Issuer}') was not issued by this mesh's CA '{authority.Subject}' " +
                          $"({string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString()).Distinct())})");
        }
        if (revoked is not null && revoked.Contains(presented.SerialNumber))
            return (null, $"its certificate '{presented.Subject}' (serial {presented.SerialNumber}) is revoked by {revoked.Source}");
        var identity = Identify(presented);
        return identity is null
            ? (null, $"its certificate '{presented.Subject}' names no mesh role (OU {MeshRoles.Known}, O={Organization})")
            : (identity, null);
    }

    /// <summary>The certificate as a PEM block.</summary>
    public static string CertificatePem(X509Certificate2 certificate) => certificate.ExportCertificatePem();

    /// <summary>The private key as an unencrypted PKCS#8 PEM block (the file holding it is made readable by its owner only).</summary>
    public static string KeyPem(X509Certificate2 certificate) =>
        (certificate.GetECDsaPrivateKey() as AsymmetricAlgorithm ?? certificate.GetRSAPrivateKey()
            ?? throw new ArgumentException("the certificate holds no private key", nameof(certificate))).ExportPkcs8PrivateKeyPem();

    /// <summary>
    /// Loads a certificate and its key from PEM files. On Linux the loaded key serves TLS as it is; elsewhere the PKCS#12
    /// round trip makes it usable by the platform's TLS.
    /// </summary>
    public static X509Certificate2 LoadWithKey(string certificateFile, string keyFile)
    {
        var loaded = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        if (OperatingSystem.IsLinux()) return loaded;
        using (loaded) return X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Loads the first certificate of a PEM file (the CA).</summary>
    public static X509Certificate2 LoadCertificate(string file) => X509Certificate2.CreateFromPem(File.ReadAllText(file));

    /// <summary>Writes a certificate and, when <paramref name="keyFile"/> is given, its key (readable by the owner only).</summary>
    public static void Save(X509Certificate2 certificate, string certificateFile, string? keyFile)
    {
        File.WriteAllText(certificateFile, CertificatePem(certificate));
        if (keyFile is null) return;
        if (File.Exists(keyFile)) File.Delete(keyFile);
        using (var stream = new FileStream(keyFile, new FileStreamOptions
               {
                   Mode = FileMode.CreateNew, Access = FileAccess.Write,
                   UnixCreateMode = OperatingSystem.IsWindows() ? null : UnixFileMode.UserRead | UnixFileMode.UserWrite,
               }))
        using (var writer = new StreamWriter(stream))
            writer.Write(KeyPem(certificate));
    }

    private static X500DistinguishedName Subject(string name, MeshRole? role)
    {
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName(Organization);
        if (role is { } r) subject.AddOrganizationalUnitName(MeshRoles.Name(r));
        subject.AddCommonName(name);
        return subject.Build();
    }
}

/// <summary>The serial numbers a certificate revocation list names (read, not trusted for its own signature: the file comes from the operator).</summary>
public sealed class RevokedSerials
{
    private readonly HashSet<string> _serials;

    private RevokedSerials(HashSet<string> serials, string source)
    {
        _serials = serials;
        Source = source;
    }

    public string Source { get; }

    /// <summary>The serial numbers listed (hex, upper case, no leading zeros).</summary>
    public IReadOnlyCollection<string> Serials => _serials;

    public bool Contains(string serialHex) => _serials.Contains(serialHex.TrimStart('0').ToUpperInvariant() is { Length: > 0 } hex ? hex : "0");

    /// <summary>Reads a CRL file (PEM or DER) and checks it is signed by <paramref name="authority"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a CRL, or another CA signed it.</exception>
    public static RevokedSerials Load(string file, X509Certificate2 authority)
    {
        var bytes = File.ReadAllBytes(file);
        var text = System.Text.Encoding.ASCII.GetString(bytes);
        if (text.Contains("-----BEGIN X509 CRL-----", StringComparison.Ordinal))
        {
            var fields = PemEncoding.Find(text);
            bytes = Convert.FromBase64String(text[fields.Base64Data]);
        }
        var serials = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            var reader = new System.Formats.Asn1.AsnReader(bytes, System.Formats.Asn1.AsnEncodingRules.DER);
            var crl = reader.ReadSequence();
            var tbsBytes = crl.PeekEncodedValue().ToArray();
            var tbs = crl.ReadSequence();
            crl.ReadSequence(); // signatureAlgorithm
            var signature = crl.ReadBitString(out _);
            if (tbs.PeekTag().TagValue == (int)System.Formats.Asn1.UniversalTagNumber.Integer) tbs.ReadInteger(); // version
            tbs.ReadSequence(); // signature
            tbs.ReadSequence(); // issuer
            tbs.ReadEncodedValue(); // thisUpdate
            if (tbs.HasData && tbs.PeekTag().TagValue is (int)System.Formats.Asn1.UniversalTagNumber.UtcTime or (int)System.Formats.Asn1.UniversalTagNumber.GeneralizedTime)
                tbs.ReadEncodedValue(); // nextUpdate
            if (tbs.HasData && tbs.PeekTag().TagClass == System.Formats.Asn1.TagClass.Universal && tbs.PeekTag().TagValue == (int)System.Formats.Asn1.UniversalTagNumber.Sequence)
            {
                var entries = tbs.ReadSequence();
                while (entries.HasData)
                {
                    var entry = entries.ReadSequence();
                    serials.Add(Convert.ToHexString(entry.ReadIntegerBytes().Span).TrimStart('0') is { Length: > 0 } hex ? hex : "0");
                }
            }
            if (!SignedBy(tbsBytes, signature, authority))
                throw new InvalidDataException($"{file}: this certificate revocation list is not signed by the mesh's CA '{authority.Subject}'");
        }
        catch (System.Formats.Asn1.AsnContentException e)
        {
            throw new InvalidDataException($"{file}: not a certificate revocation list (PEM 'X509 CRL' or DER): {e.Message}", e);
        }
        return new RevokedSerials(serials, file);
    }

    private static bool SignedBy(byte[] tbs, byte[] signature, X509Certificate2 authority)
    {
        using var ec = authority.GetECDsaPublicKey();
        if (ec is not null) return ec.VerifyData(tbs, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)
                                   || ec.VerifyData(tbs, signature, HashAlgorithmName.SHA384, DSASignatureFormat.Rfc3279DerSequence);
        using var rsa = authority.GetRSAPublicKey();
        return rsa is not null && rsa.VerifyData(tbs, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }

    /// <summary>A CRL signed by <paramref name="authority"/> naming <paramref name="serials"/> (hex), for 'mesh certs revoke'.</summary>
    public static byte[] Build(X509Certificate2 authority, IEnumerable<string> serials, DateTimeOffset now, TimeSpan validity)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var serial in serials) builder.AddEntry(Convert.FromHexString(serial.Length % 2 == 1 ? "0" + serial : serial), now);
        // The CRL number grows with time, so a list written later supersedes an earlier one.
        return builder.Build(authority, new System.Numerics.BigInteger(now.ToUnixTimeSeconds()), now + validity, HashAlgorithmName.SHA256);
    }
}
