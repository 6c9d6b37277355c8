using Mesh.Core.Security;
using Mesh.Security;

namespace Mesh.Client.Local;

// The local mesh's own CA and the certificates of its silos and of the two local operators (operator, read-only): made
// once per mesh folder, so that mutual TLS is on without anyone running 'mesh certs'.
public sealed partial class LocalMesh
{
    /// <summary>The local CA lives as long as a mesh folder is likely to; certificates are renewed at start when they near expiry.</summary>
    public static readonly TimeSpan LocalAuthorityValidity = TimeSpan.FromDays(3650);
    public static readonly TimeSpan LocalCertificateValidity = TimeSpan.FromDays(825);
    private static readonly TimeSpan RenewWithin = TimeSpan.FromDays(30);

    /// <summary>The holder names of the local operators' certificates, one per client role.</summary>
    public const string OperatorHolder = "operator";
    public const string ReadOnlyHolder = "read-only";

    public static string SiloHolder(string region) => $"silo-{region}";

    /// <summary>The files of a holder's certificate in this mesh's folder.</summary>
    public MeshTlsFiles CertificateFiles(string holder) => MeshTlsFiles.InFolder(Paths.CertificatesDir, holder);

    /// <summary>Makes the CA and the certificates the mesh needs when they are missing or near expiry: one per region's silos, and the operators'.</summary>
    public void EnsureCertificates(IEnumerable<string> regions)
    {
        Directory.CreateDirectory(Paths.CertificatesDir);
        var now = TimeProvider.System.GetUtcNow();
        var caFile = Path.Combine(Paths.CertificatesDir, MeshTlsFiles.CaCertificateFileName);
        var caKey = Path.Combine(Paths.CertificatesDir, MeshTlsFiles.CaKeyFileName);
        var existing = File.Exists(caFile) && File.Exists(caKey);
        using var authority = existing
            ? MeshCertificates.LoadWithKey(caFile, caKey)
            : MeshCertificates.CreateAuthority($"Mesh local CA {Path.GetFileName(Paths.Root)}", LocalAuthorityValidity, now);
        if (!existing) MeshCertificates.Save(authority, caFile, caKey);
        Ensure(OperatorHolder, MeshRole.Operator, "operator", []);
        Ensure(ReadOnlyHolder, MeshRole.ReadOnly, "read-only", []);
        foreach (var region in regions) Ensure(SiloHolder(region), MeshRole.Silo, region, ["localhost", "127.0.0.1"]);

        void Ensure(string holder, MeshRole role, string name, string[] hosts)
        {
            var files = CertificateFiles(holder);
            if (File.Exists(files.CertificateFile) && File.Exists(files.KeyFile))
            {
                using var current = MeshCertificates.LoadCertificate(files.CertificateFile);
                var (identity, _) = MeshCertificates.Verify(current, authority, now + RenewWithin);
                if (identity is not null) return;
            }
            using var issued = MeshCertificates.Issue(authority, role, name, hosts, LocalCertificateValidity, now);
            MeshCertificates.Save(issued, files.CertificateFile, files.KeyFile);
        }
    }

    private MeshCredentials? _operator;

    /// <summary>The credentials admin verbs present to this mesh's gateways (the local operator's), or null for a mesh without TLS.</summary>
    public MeshCredentials? OperatorCredentials()
    {
        if (State.PlainTextOrleans) return null;
        return _operator ??= LoadLocal(CertificateFiles(Environment.GetEnvironmentVariable(LocalRoleVariable) is { Length: > 0 } holder ? holder : OperatorHolder));
    }

    /// <summary>Run a verb against a local mesh as another of its holders (e.g. <c>read-only</c>), to see what that role may do.</summary>
    public const string LocalRoleVariable = "MESH_LOCAL_AS";

    private static MeshCredentials LoadLocal(MeshTlsFiles files)
    {
        try
        {
            return MeshCredentials.Load(files, TimeProvider.System.GetUtcNow());
        }
        catch (MeshTlsException e)
        {
            throw new MeshCommandException($"the local mesh's certificate: {e.Message} ('mesh local up' on this folder makes new ones).", 2);
        }
    }
}
