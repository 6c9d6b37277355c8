using Mesh.Client.Local;
using Mesh.Security;

namespace Mesh.Client.Admin;

/// <summary>
/// The certificate an admin client presents to gateways of a deployed mesh: named by environment variables so that every
/// verb uses it without an option of its own, and so that no path to a key lands in shell history with a command.
/// </summary>
public static class ClientCredentials
{
    public const string CaVariable = "MESH_TLS_CA";
    public const string CertificateVariable = "MESH_TLS_CERT";
    public const string KeyVariable = "MESH_TLS_KEY";
    public const string CrlVariable = "MESH_TLS_CRL";

    /// <summary>The credentials the environment names, or null when it names none (plain-text regions).</summary>
    /// <exception cref="MeshCommandException">Only some are set, or the files do not load (exit code 2), naming the variable and file.</exception>
    public static MeshCredentials? FromEnvironment()
    {
        var ca = Environment.GetEnvironmentVariable(CaVariable);
        var certificate = Environment.GetEnvironmentVariable(CertificateVariable);
        var key = Environment.GetEnvironmentVariable(KeyVariable);
        var named = new[] { (CaVariable, ca), (CertificateVariable, certificate), (KeyVariable, key) };
        if (named.All(n => string.IsNullOrEmpty(n.Item2))) return null;
        if (named.FirstOrDefault(n => string.IsNullOrEmpty(n.Item2)) is { Item1: { } missing })
            throw new MeshCommandException($"{missing} is not set: mutual TLS needs {CaVariable} (the mesh's CA), {CertificateVariable} and {KeyVariable} " +
                                           "(your certificate and key from 'mesh certs issue'); set all three, or none for regions without TLS.", 2);
        return Load(new MeshTlsFiles(ca!, certificate!, key!, NullIfEmpty(Environment.GetEnvironmentVariable(CrlVariable))));
    }

    /// <exception cref="MeshCommandException">The files do not load (exit code 2).</exception>
    public static MeshCredentials Load(MeshTlsFiles files)
    {
        try
        {
            return MeshCredentials.Load(files, TimeProvider.System.GetUtcNow());
        }
        catch (MeshTlsException e)
        {
            throw new MeshCommandException($"this client's mesh certificate: {e.Message}.", 2);
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
