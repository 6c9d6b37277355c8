using System.Security.Cryptography.X509Certificates;
using Mesh.Core.Security;
using Mesh.Grains.Ports;
using Microsoft.Extensions.Logging;

namespace Mesh.Grains.Security;

/// <summary>The mesh's CA and revocation list, which a silo running mutual TLS checks callers' proofs against.</summary>
public sealed record CallerTrust(X509Certificate2 Authority, RevokedSerials? Revoked);

/// <summary>
/// Roles on grain calls, in a region that runs mutual TLS (TLS has already kept out anyone without a mesh certificate):
/// an admin client may call only the methods marked <see cref="ClientAccessAttribute"/> (the others are the silos' own),
/// and a <see cref="ClientAccessLevel.Change"/> needs a proof signed by an operator certificate, whoever the caller is.
/// Every change that passes is written to the region's audit log with who made it and the topology version before and
/// after; every refusal is logged and changes nothing.
/// </summary>
public sealed partial class ClientAccessFilter(CallerTrust trust, IAuditLog audit, TimeProvider time, ILogger<ClientAccessFilter> logger) : IIncomingGrainCallFilter
{
    private static readonly TimeSpan AuditTimeout = TimeSpan.FromSeconds(15);

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        var access = ClientAccessAttribute.Of(context.InterfaceMethod);
        if (access != ClientAccessLevel.Change)
        {
            if (access is null && FromClient(context) && !ReadableByClients(context))
                Refuse(Call(context), $"admin clients may not call it (it is the silos' own; caller {context.SourceId})", null);
            await context.Invoke();
            return;
        }

        var call = Call(context);
        var proof = RequestContext.Get(CallerProof.ContextKey) as string;
        var (identity, refusal) = CallerProof.Verify(proof, call, trust.Authority, trust.Revoked, time.GetUtcNow());
        if (identity is null) Refuse(call, refusal!, null);
        if (identity!.Role != MeshRole.Operator)
            Refuse(call, $"it changes the mesh and needs the {MeshRoles.Name(MeshRole.Operator)} role; the caller is the {identity.Describe()}", identity);

        var region = context.TargetId.Key.ToString();
        var before = (context.Grain as IAuditedVersion)?.AuditedVersion ?? 0;
        var outcome = "failed";
        try
        {
            await context.Invoke();
            outcome = Outcome(context.Result);
        }
        catch (Exception e)
        {
            outcome = $"failed: {e.Message}";
            throw;
        }
        finally
        {
            await AppendAsync(new AuditEntry(time.GetUtcNow(), region, identity.Name, MeshRoles.Name(identity.Role), Describe(context), before,
                (context.Grain as IAuditedVersion)?.AuditedVersion ?? before, outcome));
        }
    }

    /// <summary>The name a proof is signed for: the same on the client (<c>IOutgoingGrainCallContext</c>) and here.</summary>
    private static string Call(IGrainCallContext context) => $"{context.InterfaceName}.{context.MethodName}";

    /// <summary>
    /// An admin client's call, as opposed to the silo's own code outside grains (its hosted services call through the silo's
    /// hosted client, whose id starts with "hosted-"). The id is the client's to choose, so this check is a second fence for
    /// the silos' own methods; the roles on changes rest on the signed proof alone.
    /// </summary>
    private static bool FromClient(IIncomingGrainCallContext context) =>
        context.SourceId is { } source && GrainTypePrefix.IsClient(source) && !source.Key.ToString()!.StartsWith("hosted-", StringComparison.Ordinal);

    /// <summary>Orleans' own interfaces stay open to clients except the management grain's commands (its Get* queries, such as the hosts, are reads).</summary>
    private static bool ReadableByClients(IIncomingGrainCallContext context) =>
        context.InterfaceMethod?.DeclaringType is { } type && type.Assembly != typeof(ITopologyGrain).Assembly
        && (type != typeof(IManagementGrain) || context.MethodName.StartsWith("Get", StringComparison.Ordinal));

    private void Refuse(string call, string why, MeshIdentity? who)
    {
        LogRefused(call, who?.Describe() ?? "an unproven caller", why);
        throw new UnauthorizedAccessException($"refused {call}: {why}; nothing was changed");
    }

    private async Task AppendAsync(AuditEntry entry)
    {
        try
        {
            using var deadline = new CancellationTokenSource(AuditTimeout);
            await audit.AppendAsync(entry, deadline.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogAuditFailed(entry.Who, entry.What, e.Message);
        }
    }

    /// <summary>The call and its arguments, short: an apply names the version asked for, never the document (it may name secrets' variables).</summary>
    private static string Describe(IIncomingGrainCallContext context)
    {
        var arguments = new List<string>();
        for (var i = 0; i < context.Request.GetArgumentCount(); i++)
        {
            arguments.Add(context.Request.GetArgument(i) switch
            {
                null => "null",
                ApplyRequest apply => $"expected version {apply.ExpectedVersion?.ToString() ?? "any"}{(apply.DryRun ? ", dry run" : "")}",
                ReplayRequest replay => "replay request",
                string s => $"'{s}'",
                bool b => b ? "true" : "false",
                var other when other.GetType().IsPrimitive => other.ToString()!,
                var other => other.GetType().Name,
            });
        }
        return $"{context.MethodName}({string.Join(", ", arguments)})";
    }

    private static string Outcome(object? result) => result is ApplyResult apply ? apply.Outcome.ToString().ToLowerInvariant() : "done";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Call} from {Caller}: {Why}")]
    private partial void LogRefused(string call, string caller, string why);

    [LoggerMessage(Level = LogLevel.Error, Message = "The audit log could not record {Who}'s {What}: {Error}")]
    private partial void LogAuditFailed(string who, string what, string error);
}
