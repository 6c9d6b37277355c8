namespace Mesh.Grains;

/// <summary>What an admin client's call does: reads (any mesh certificate) or changes something (the operator role).</summary>
public enum ClientAccessLevel
{
    Read,
    Change,
}

/// <summary>
/// Marks the grain methods an admin client may call, and with which role. When a region runs mutual TLS, a client's call
/// to a method without this mark is refused (the rest are the silos' own), and a <see cref="ClientAccessLevel.Change"/>
/// needs the operator role, proven per call, and is written to the region's audit log.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ClientAccessAttribute(ClientAccessLevel level) : Attribute
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<System.Reflection.MethodInfo, ClientAccessLevel?> Levels = new();

    public ClientAccessLevel Level { get; } = level;

    /// <summary>The access a grain interface method is marked with, or null; read by reflection once per method, as every call asks.</summary>
    public static ClientAccessLevel? Of(System.Reflection.MethodInfo? method) =>
        method is null ? null : Levels.GetOrAdd(method, m =>
            m.GetCustomAttributes(typeof(ClientAccessAttribute), inherit: true).OfType<ClientAccessAttribute>().FirstOrDefault()?.Level);
}

/// <summary>One change an operator made: who (the certificate's name and role), what, when, and the topology version before and after.</summary>
[GenerateSerializer, Immutable, Alias("mesh.AuditEntry")]
public sealed record AuditEntry(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Region,
    [property: Id(2)] string Who,
    [property: Id(3)] string Role,
    [property: Id(4)] string What,
    [property: Id(5)] long VersionBefore,
    [property: Id(6)] long VersionAfter,
    [property: Id(7)] string Outcome);
