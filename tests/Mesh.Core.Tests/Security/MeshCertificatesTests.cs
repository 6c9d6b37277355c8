using System.Security.Cryptography.X509Certificates;
using Mesh.Core.Security;

namespace Mesh.Core.Tests.Security;

/// <summary>
/// The mesh's CA: what it issues carries the holder's role and name, and a presented certificate is accepted only when
/// this CA issued it, it is valid at the moment checked and not revoked; each refusal says why in words an operator can use.
/// </summary>
public sealed class MeshCertificatesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(MeshRole.Silo, "us-east", "silo of region us-east")]
    [InlineData(MeshRole.Operator, "alice", "operator 'alice'")]
    [InlineData(MeshRole.ReadOnly, "bob, on call", "read-only 'bob, on call'")]
    public void An_issued_certificate_carries_role_and_name(MeshRole role, string name, string described)
    {
        using var ca = MeshCertificates.CreateAuthority("test CA", TimeSpan.FromDays(365), Now);
        using var issued = MeshCertificates.Issue(ca, role, name, ["localhost", "127.0.0.1"], TimeSpan.FromDays(30), Now);

        var (identity, refusal) = MeshCertificates.Verify(issued, ca, Now);

        Assert.Null(refusal);
        Assert.Equal(role, identity!.Role);
        Assert.Equal(name, identity.Name);
        Assert.Equal(role == MeshRole.Silo ? name : null, identity.Region);
        Assert.Equal(described, identity.Describe());
        Assert.True(issued.HasPrivateKey);
    }

    [Fact]
    public void A_certificate_of_another_CA_is_refused_even_with_the_same_subject()
    {
        using var ours = MeshCertificates.CreateAuthority("test CA", TimeSpan.FromDays(365), Now);
        using var theirs = MeshCertificates.CreateAuthority("test CA", TimeSpan.FromDays(365), Now);
        using var foreign = MeshCertificates.Issue(theirs, MeshRole.Operator, "mallory", [], TimeSpan.FromDays(30), Now);

        var (identity, refusal) = MeshCertificates.Verify(foreign, ours, Now);

        Assert.Null(identity);
        Assert.Contains("was not issued by this mesh's CA", refusal);
    }

    [Fact]
    public void An_expired_or_not_yet_valid_certificate_is_refused_with_its_date()
    {
        using var ca = MeshCertificates.CreateAuthority("test CA", TimeSpan.FromDays(365), Now);
        using var issued = MeshCertificates.Issue(ca, MeshRole.Silo, "eu-west", [], TimeSpan.FromDays(10), Now);

        var (expired, after) = MeshCertificates.Verify(issued, ca, Now.AddDays(11));
        var (early, before) = MeshCertificates.Verify(issued, ca, Now.AddDays(-1));

        Assert.Null(expired);
        Assert.Contains($"expired on {Now.AddDays(10):yyyy-MM-dd}", after);
        Assert.Contains("mesh certs issue", after);
        Assert.Null(early);
        Assert.Contains("is not valid before", before);
    }

    [Fact]
    public void A_certificate_never_outlives_its_CA()
    {
        using var ca = MeshCertificates.CreateAuthority("test CA", TimeSpan.FromDays(20), Now);
        using var issued = MeshCertificates.Issue(ca, MeshRole.Operator, "alice", [], TimeSpan.FromDays(365), Now);

        Assert.Equal(ca.NotAfter, issued.NotAfter);
    }

    [Fact]
    public void A_certificate_without_a_mesh_role_is_refused()
    {
        using var ca = MeshCertificates.CreateAuthority("test CA", TimeSpan.FromDays(365), Now);
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new CertificateRequest("CN=someone, O=mesh", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var plain = request.Create(ca, Now.AddMinutes(-1), Now.AddDays(1), [1, 2, 3]);

        var (identity, refusal) = MeshCertificates.Verify(plain, ca, Now);

        Assert.Null(identity);
        Assert.Contains("names no mesh role", refusal);
    }

    [Fact]
    public void A_revoked_certificate_is_refused_and_the_others_are_not()
    {
        using var ca = MeshCertificates.CreateAuthority("test CA", TimeSpan.FromDays(365), Now);
        using var lost = MeshCertificates.Issue(ca, MeshRole.Operator, "lost laptop", [], TimeSpan.FromDays(30), Now);
        using var kept = MeshCertificates.Issue(ca, MeshRole.Operator, "alice", [], TimeSpan.FromDays(30), Now);
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(file, RevokedSerials.Build(ca, [lost.SerialNumber], Now, TimeSpan.FromDays(7)));
            var revoked = RevokedSerials.Load(file, ca);

            var (refusedIdentity, refusal) = MeshCertificates.Verify(lost, ca, Now, revoked);
            var (keptIdentity, none) = MeshCertificates.Verify(kept, ca, Now, revoked);

            Assert.Null(refusedIdentity);
            Assert.Contains($"serial {lost.SerialNumber}) is revoked by {file}", refusal);
            Assert.Null(none);
            Assert.Equal("alice", keptIdentity!.Name);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_revocation_list_signed_by_another_CA_or_not_a_list_at_all_is_rejected()
    {
        using var ours = MeshCertificates.CreateAuthority("test CA", TimeSpan.FromDays(365), Now);
        using var theirs = MeshCertificates.CreateAuthority("other CA", TimeSpan.FromDays(365), Now);
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(file, RevokedSerials.Build(theirs, ["0A"], Now, TimeSpan.FromDays(7)));
            Assert.Contains("is not signed by the mesh's CA", Assert.Throws<InvalidDataException>(() => RevokedSerials.Load(file, ours)).Message);

            File.WriteAllText(file, "not a revocation list");
            Assert.Contains("not a certificate revocation list", Assert.Throws<InvalidDataException>(() => RevokedSerials.Load(file, ours)).Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Saved_files_load_back_with_the_key_readable_by_the_owner_only()
    {
        using var ca = MeshCertificates.CreateAuthority("test CA", TimeSpan.FromDays(365), Now);
        using var issued = MeshCertificates.Issue(ca, MeshRole.Silo, "ap-south", ["silo-1.ap-south.internal"], TimeSpan.FromDays(30), Now);
        var dir = Directory.CreateTempSubdirectory("mesh-certs-").FullName;
        try
        {
            MeshCertificates.Save(issued, Path.Combine(dir, "s.crt"), Path.Combine(dir, "s.key"));

            using var loaded = MeshCertificates.LoadWithKey(Path.Combine(dir, "s.crt"), Path.Combine(dir, "s.key"));

            Assert.Equal(issued.Thumbprint, loaded.Thumbprint);
            Assert.True(loaded.HasPrivateKey);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "s.key")));
            Assert.Equal("ap-south", MeshCertificates.Identify(loaded)!.Region);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
