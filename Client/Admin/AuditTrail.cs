using System.Text.Json.Nodes;
using Mesh.Grains;
using Spectre.Console;

namespace Mesh.Client.Admin;

/// <summary>The operator changes regions recorded (their <c>__mesh_audit</c> logs), read through the silos for <c>mesh status --changes</c>.</summary>
public static class AuditTrail
{
    /// <summary>Each region's last <paramref name="count"/> changes, all in time order; a region that cannot answer is noted in its place.</summary>
    public static async Task<IReadOnlyList<(AuditEntry? Entry, string? Error, string Region)>> ReadAsync(IRegionGateways gateways, IEnumerable<string> regions, int count,
        CancellationToken cancellationToken)
    {
        await using var connections = await MeshConnections.OpenAsync(gateways, regions, cancellationToken);
        var read = await Task.WhenAll(connections.Open.Select(async c =>
        {
            try
            {
                return (c.Key, Entries: await c.Value.GetChangesAsync(count, MeshConnections.ReadTimeout, cancellationToken), Error: (string?)null);
            }
            catch (Exception e) when (MeshConnections.IsUnreachable(e, cancellationToken))
            {
                return (c.Key, Entries: (IReadOnlyList<AuditEntry>)[], Error: e.Message);
            }
        }));
        return
        [
            .. read.SelectMany(r => r.Entries.Select(e => ((AuditEntry?)e, (string?)null, r.Key))).OrderBy(e => e.Item1!.At),
            .. read.Where(r => r.Error is not null).Select(r => ((AuditEntry?)null, r.Error, r.Key)),
            .. connections.Unreachable.Select(u => ((AuditEntry?)null, (string?)u.Value, u.Key)),
        ];
    }

    public static JsonArray ToJson(IReadOnlyList<(AuditEntry? Entry, string? Error, string Region)> trail) =>
    [
        .. trail.Select(t => t.Entry is { } e
            ? new JsonObject
            {
                ["at"] = e.At, ["region"] = e.Region, ["who"] = e.Who, ["role"] = e.Role, ["what"] = e.What,
                ["versionBefore"] = e.VersionBefore, ["versionAfter"] = e.VersionAfter, ["outcome"] = e.Outcome,
            }
            : new JsonObject { ["region"] = t.Region, ["error"] = t.Error }),
    ];

    public static void Render(IReadOnlyList<(AuditEntry? Entry, string? Error, string Region)> trail)
    {
        var table = new Table { Title = new TableTitle("changes (audit log)") }.AddColumns("when (UTC)", "region", "who", "what", "versions", "outcome");
        foreach (var (entry, error, region) in trail)
        {
            if (entry is { } e)
                table.AddRow($"{e.At.UtcDateTime:yyyy-MM-dd HH:mm:ss}", Markup.Escape(e.Region), Markup.Escape($"{e.Who} ({e.Role})"), Markup.Escape(e.What),
                    e.VersionBefore == e.VersionAfter ? $"v{e.VersionAfter}" : $"v{e.VersionBefore} -> v{e.VersionAfter}", Markup.Escape(e.Outcome));
            else table.AddRow("-", Markup.Escape(region), "-", Markup.Escape($"could not read: {error}"), "-", "-");
        }
        if (trail.Count == 0) table.AddRow("-", "-", "-", "no change recorded (audit logs are kept where the silos run mutual TLS)", "-", "-");
        AnsiConsole.Write(table);
    }
}
