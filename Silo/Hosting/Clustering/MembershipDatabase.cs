using System.Net.Sockets;
using Npgsql;

namespace Mesh.Silo.Hosting.Clustering;

/// <summary>The silo's start-up step for adonet clustering: reach the region's database and apply the membership schema.</summary>
public static class MembershipDatabase
{
    /// <summary>
    /// Applies the schema, retrying a database that cannot be reached yet (one starting up, or restarting)
    /// for up to <paramref name="patience"/>. Returns the process exit code: 0 to go on, 2 for a database
    /// that refuses the login or does not exist (configuration), 3 for one that never answered.
    /// Messages name host, port and database, never the password.
    /// </summary>
    public static async Task<int> PrepareAsync(string connectionString, TimeSpan patience)
    {
        var where = MembershipSchema.Describe(connectionString);
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            try
            {
                var created = await MembershipSchema.ApplyAsync(connectionString);
                Console.WriteLine(created
                    ? $"Membership schema created in PostgreSQL ({where})."
                    : $"Membership schema in PostgreSQL ({where}) is in place.");
                return 0;
            }
            catch (PostgresException e) when (e.SqlState is "28P01" or "28000" or "3D000" or "42501")
            {
                // Wrong password, no such role or database, no permission: waiting does not fix these.
                Console.Error.WriteLine($"Mesh:Orleans:AdoNet:ConnectionString: PostgreSQL ({where}) refused: {e.MessageText} ({e.SqlState}). " +
                                        "Fix the connection string or create the database and role; the silo creates the tables itself.");
                return 2;
            }
            catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException)
            {
                if (DateTime.UtcNow > deadline)
                {
                    Console.Error.WriteLine($"Cannot reach the membership database: PostgreSQL ({where}) did not answer within {patience.TotalSeconds:0} s " +
                                            $"({e.GetBaseException().Message}). Start it, or fix Mesh:Orleans:AdoNet:ConnectionString.");
                    return 3;
                }
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
    }
}
