using System.Reflection;
using Npgsql;

namespace Mesh.Silo.Hosting.Clustering;

/// <summary>
/// Puts the tables and queries Orleans' ADO.NET clustering reads (<c>PostgreSqlMembership.sql</c>,
/// embedded) into a region's PostgreSQL database. Silos apply it themselves before Orleans starts, so a
/// region needs nothing but an empty database; the script is idempotent and runs in one transaction
/// under an advisory lock, so silos that start together apply it one at a time.
/// </summary>
public static class MembershipSchema
{
    /// <summary>The advisory lock key ("mesh" as ASCII); any value works as long as every silo uses the same.</summary>
    private const long LockKey = 0x6d657368;

    /// <summary>Query keys the provider reads from OrleansQuery (Microsoft.Orleans.Clustering.AdoNet 10.4.2).</summary>
    public static readonly IReadOnlyList<string> QueryKeys =
    [
        "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "UpdateIAmAlivetimeKey",
        "MembershipReadRowKey", "MembershipReadAllKey", "DeleteMembershipTableEntriesKey", "GatewaysQueryKey",
        "CleanupDefunctSiloEntriesKey", "CleanupDefunctSiloEntryKey",
    ];

    public static string Script()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Mesh.Silo.Hosting.Clustering.PostgreSqlMembership.sql")
            ?? throw new InvalidOperationException("PostgreSqlMembership.sql is not embedded in Mesh.Silo");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Applies the schema; returns true when it had to create the membership tables (an empty database).</summary>
    public static async Task<bool> ApplyAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("key", LockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }
        bool created;
        await using (var exists = new NpgsqlCommand("SELECT to_regclass('orleansmembershiptable') IS NULL", connection, transaction))
            created = (bool)(await exists.ExecuteScalarAsync(cancellationToken))!;
        await using (var apply = new NpgsqlCommand(Script(), connection, transaction))
            await apply.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return created;
    }

    /// <summary>The query keys present in OrleansQuery (for checks and tests).</summary>
    public static async Task<IReadOnlyList<string>> InstalledQueryKeysAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT QueryKey FROM OrleansQuery ORDER BY QueryKey", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var keys = new List<string>();
        while (await reader.ReadAsync(cancellationToken)) keys.Add(reader.GetString(0));
        return keys;
    }

    /// <summary>Where a connection string points, for messages: host, port and database, never the password.</summary>
    public static string Describe(string connectionString)
    {
        try
        {
            var b = new NpgsqlConnectionStringBuilder(connectionString);
            return $"host {b.Host ?? "(none)"} port {b.Port} database {b.Database ?? "(default)"}{(string.IsNullOrEmpty(b.Username) ? "" : $" user {b.Username}")}";
        }
        catch (ArgumentException)
        {
            return "(a connection string that does not parse)";
        }
    }
}
