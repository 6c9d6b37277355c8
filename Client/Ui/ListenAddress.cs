using System.Net;
using Mesh.Client.Local;

namespace Mesh.Client.Ui;

/// <summary>Where <c>mesh ui</c> listens: <c>host:port</c>, where host is an IP address, <c>[v6]</c> or <c>localhost</c>; port 0 picks a free one.</summary>
public sealed record ListenAddress(IPEndPoint EndPoint)
{
    public const string Default = "127.0.0.1:8080";

    /// <summary>Only this machine can connect: no token needed.</summary>
    public bool IsLoopback => IPAddress.IsLoopback(EndPoint.Address);

    /// <exception cref="MeshCommandException">Not host:port (exit code 2).</exception>
    public static ListenAddress Parse(string value)
    {
        var colon = value.LastIndexOf(':');
        var host = colon <= 0 ? "" : value[..colon].Trim('[', ']');
        if (colon <= 0 || !int.TryParse(value[(colon + 1)..], out var port) || port is < 0 or > 65535)
            throw new MeshCommandException($"--listen: '{value}' is not host:port (e.g. --listen 127.0.0.1:8080, or 0.0.0.0:8080 with --token).", 2);
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return new(new IPEndPoint(IPAddress.Loopback, port));
        // Host names other than localhost would need a resolver's choice among addresses; an address says what it means.
        if (!IPAddress.TryParse(host, out var address))
            throw new MeshCommandException($"--listen: '{host}' is not an IP address (give one of this machine's addresses, 127.0.0.1, 0.0.0.0 or [::]).", 2);
        return new(new IPEndPoint(address, port));
    }

    public override string ToString() => EndPoint.ToString();
}
