using Mesh.Client.Traffic;
using Mesh.Client.Local;
using Mesh.Integration.Tests.Infrastructure;
using Mesh.Silo.Hosting.Clustering;
using Mesh.Silo.Options;
using Npgsql;
using Xunit.Abstractions;

namespace Mesh.Integration.Tests;

/// <summary>
/// Regions whose silos keep their membership in PostgreSQL (<c>mesh local up --clustering postgres</c>):
/// any silo may die, the first included, and the survivors take over its partitions; a silo added to a
/// running region takes its share; the database may restart under a running mesh. Every case streams
/// records through the change and checks every region holds each record exactly once.
/// </summary>
[Collection(Alone.Name)] // three silos a region and PostgreSQL, 2000 records a second from each region
public sealed class PostgresClusteringTests(ITestOutputHelper output)
{
    private static readonly string[] Regions = ["us-east", "eu-west"];
    private const string Topic = "orders";
    private const int Partitions = 12;
    // Generous for two busy cores: the same steps take a few seconds on an idle machine.
    private static readonly TimeSpan TakeOverDeadline = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Three_silos_on_postgres_lose_the_first_silo_then_another_mid_stream_and_the_survivors_take_over_exactly()
    {
        await using var mesh = TestMesh.InNewFolder("pg-kill");
        mesh.WithShortTakeOver(Regions);
        await mesh.Local.UpAsync(Regions, brokers: 3, Partitions, [Topic], TimeSpan.FromMinutes(3), silosPerRegion: 3, clustering: LocalClustering.Postgres);
        var silos = mesh.Local.State.Region("eu-west").Silos.Select(SiloSpread.Endpoint).ToList();
        var start = await Eventually.WaitAsync("eu-west's replicators to spread evenly over its three silos", () => SiloSpread.OfAsync(mesh, "eu-west"),
            s => s.Placed == Partitions && s.PerSilo.Count == 3 && s.PerSilo.Values.Max() - s.PerSilo.Values.Min() <= 1, TakeOverDeadline);
        output.WriteLine($"eu-west at start: {start}");

        const int perRegion = 9000;
        var stream = mesh.StreamIntoAsync(Regions, Topic, perRegion, recordsPerSecond: 2000);
        var before = mesh.RecordCount("eu-west", Topic);
        await Eventually.WaitAsync("eu-west to take in part of the stream", () => Task.FromResult(mesh.RecordCount("eu-west", Topic)), n => n > before + 3000, TimeSpan.FromMinutes(1));

        // The first silo: under localhost clustering the one the others joined, here one like the others.
        var killedAt = DateTime.UtcNow;
        Assert.Single(await mesh.Local.KillAsync("eu-west", silo: true, kafka: false, instance: 1));
        var firstTakeOver = await SiloSpread.WaitForAllOnAsync(mesh, "eu-west", silos.Skip(1).ToList(), Partitions, TakeOverDeadline, killedAt);
        output.WriteLine($"take-over after killing silo 1: {firstTakeOver.TotalSeconds:0.0} s (kill to all {Partitions} partitions replicating on the survivors); {await SiloSpread.OfAsync(mesh, "eu-west")}");
        // Orleans re-placed the dead silo's replicators at random; the spread grain evens the survivors out.
        var afterFirst = await Eventually.WaitAsync("the two survivors to run 6 replicators each", () => SiloSpread.OfAsync(mesh, "eu-west"),
            s => s.Replicating == Partitions && s.Placed == Partitions && s.PerSilo.Count == 2 && !s.PerSilo.ContainsKey(silos[0])
                 && s.PerSilo.Values.Max() - s.PerSilo.Values.Min() <= 1, TakeOverDeadline);
        output.WriteLine($"{(DateTime.UtcNow - killedAt).TotalSeconds:0.0} s after the kill: {afterFirst}");
        await stream;

        // Another silo, in the middle of a second stream: the last survivor runs everything.
        stream = mesh.StreamIntoAsync(Regions, Topic, perRegion, recordsPerSecond: 2000, firstSequence: perRegion);
        before = mesh.RecordCount("eu-west", Topic);
        await Eventually.WaitAsync("eu-west to take in part of the second stream", () => Task.FromResult(mesh.RecordCount("eu-west", Topic)), n => n > before + 3000, TimeSpan.FromMinutes(1));
        killedAt = DateTime.UtcNow;
        Assert.Single(await mesh.Local.KillAsync("eu-west", silo: true, kafka: false, instance: 2));
        var secondTakeOver = await SiloSpread.WaitForAllOnAsync(mesh, "eu-west", [silos[2]], Partitions, TakeOverDeadline, killedAt);
        output.WriteLine($"take-over after killing silo 2: {secondTakeOver.TotalSeconds:0.0} s; {await SiloSpread.OfAsync(mesh, "eu-west")}");
        await stream;

        var produced = Regions.ToDictionary(r => r, _ => 2 * perRegion);
        var check = await mesh.WaitAndCheckAsync(Topic, produced, TimeSpan.FromMinutes(3));
        Assert.True(check.Ok, string.Join("\n", check.Problems));
        Assert.All(check.RecordsPerRegion.Values, n => Assert.Equal(2 * 2 * perRegion, n));
    }

    [Fact]
    public async Task Replication_carries_on_while_the_membership_database_restarts_and_a_silo_added_afterwards_takes_its_share()
    {
        await using var mesh = TestMesh.InNewFolder("pg-restart");
        await mesh.Local.UpAsync(Regions, brokers: 3, Partitions, [Topic], TimeSpan.FromMinutes(3), silosPerRegion: 2, clustering: LocalClustering.Postgres);
        const int perRegion = 9000;
        var stream = mesh.StreamIntoAsync(Regions, Topic, perRegion, recordsPerSecond: 1000);
        var before = mesh.RecordCount("eu-west", Topic);
        await Eventually.WaitAsync("eu-west to take in part of the stream", () => Task.FromResult(mesh.RecordCount("eu-west", Topic)), n => n > before + 1000, TimeSpan.FromMinutes(1));

        mesh.Local.StopPostgres();
        Assert.False(mesh.Local.PostgresServer.IsRunning());
        // Membership is only written when it changes (and I-am-alive times): records go on flowing without the database.
        var whileDown = mesh.RecordCount("eu-west", Topic);
        await Eventually.WaitAsync("eu-west to keep taking in records while PostgreSQL is down", () => Task.FromResult(mesh.RecordCount("eu-west", Topic)),
            n => n > whileDown + 2000, TimeSpan.FromMinutes(1));
        mesh.Local.StartPostgres();
        Assert.True(mesh.Local.PostgresServer.IsRunning());
        await stream;

        var produced = Regions.ToDictionary(r => r, _ => perRegion);
        var check = await mesh.WaitAndCheckAsync(Topic, produced, TimeSpan.FromMinutes(3));
        Assert.True(check.Ok, string.Join("\n", check.Problems));
        foreach (var region in Regions)
            foreach (var silo in mesh.Local.State.Region(region).Silos)
                Assert.True(mesh.Local.IsSiloRunning(region, silo.Instance), $"{region} silo {silo.Instance} stopped while PostgreSQL restarted");
        // And membership works again: a silo can still join, and it takes its share of the replicators.
        var added = await mesh.Local.AddSiloAsync("eu-west", TimeSpan.FromMinutes(2));
        var addedAt = DateTime.UtcNow;
        Assert.Equal(3, added.Instance);
        Assert.Equal(3, mesh.Local.State.Region("eu-west").Silos.Count);
        var share = await Eventually.WaitAsync($"the added silo {SiloSpread.Endpoint(added)} to take its share of eu-west's {Partitions} partitions",
            () => SiloSpread.OfAsync(mesh, "eu-west"),
            s => s.Replicating == Partitions && s.Placed == Partitions && s.PerSilo.GetValueOrDefault(SiloSpread.Endpoint(added)) >= Partitions / 3
                 && s.PerSilo.Values.Max() - s.PerSilo.Values.Min() <= 1,
            TakeOverDeadline);
        output.WriteLine($"after the restart, silo {added.Instance} joined eu-west and had its share {(DateTime.UtcNow - addedAt).TotalSeconds:0.0} s after it answered; {share}");

        // Records produced after the join are replicated exactly too, by whichever silo now runs them.
        await Task.WhenAll(Regions.Select(r => Task.Run(() => TestTraffic.ProduceAsync(mesh.Local.Bootstrap(r), r, Topic, 1000, keys: 64, firstSequence: perRegion))));
        var afterJoin = await mesh.WaitAndCheckAsync(Topic, Regions.ToDictionary(r => r, _ => perRegion + 1000), TimeSpan.FromMinutes(3));
        Assert.True(afterJoin.Ok, string.Join("\n", afterJoin.Problems));
    }

    [Fact]
    public async Task The_membership_schema_applies_to_an_empty_database_once_even_when_two_silos_start_together_and_again_changes_nothing()
    {
        using var postgres = new ScratchPostgres("pg-schema");
        var connection = postgres.NewDatabase("mesh_schema_test");

        var created = await Task.WhenAll(MembershipSchema.ApplyAsync(connection), MembershipSchema.ApplyAsync(connection));
        Assert.Equal(1, created.Count(c => c));
        Assert.False(await MembershipSchema.ApplyAsync(connection));

        Assert.Equal(MembershipSchema.QueryKeys.Order(StringComparer.Ordinal), (await MembershipSchema.InstalledQueryKeysAsync(connection)).Order(StringComparer.Ordinal));
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        foreach (var table in new[] { "orleansquery", "orleansmembershipversiontable", "orleansmembershiptable" })
        {
            await using var exists = new NpgsqlCommand($"SELECT to_regclass('{table}') IS NOT NULL", db);
            Assert.True((bool)(await exists.ExecuteScalarAsync())!, $"table {table} missing");
        }

        // The stored query text runs as the provider runs it: a cluster's version row is added once.
        string versionQuery;
        await using (var read = new NpgsqlCommand("SELECT QueryText FROM OrleansQuery WHERE QueryKey = 'InsertMembershipVersionKey'", db))
            versionQuery = (string)(await read.ExecuteScalarAsync())!;
        foreach (var expected in new[] { 1, 0 })
        {
            await using var insert = new NpgsqlCommand(versionQuery, db);
            insert.Parameters.AddWithValue("DeploymentId", "mesh-test");
            Assert.Equal(expected, Convert.ToInt32(await insert.ExecuteScalarAsync()));
        }
    }

    [Fact]
    public void Adonet_settings_are_checked_before_anything_starts_and_the_connection_string_is_never_quoted()
    {
        var region = new RegionOptions { Region = "us-east", Kafka = { BootstrapServers = "127.0.0.1:9092" } };
        region.Orleans.Clustering = "adonet";
        region.Orleans.AdoNet.Invariant = "MySql";
        var problems = RegionOptionsValidator.Validate(region);
        Assert.Contains(problems, p => p.StartsWith("Mesh:Orleans:AdoNet:Invariant", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Mesh:Orleans:AdoNet:ConnectionString", StringComparison.Ordinal) && p.Contains("is missing"));

        region.Orleans.AdoNet.Invariant = "Npgsql";
        region.Orleans.AdoNet.ConnectionString = "Database=mesh_us_east;Username=mesh;Password=marker-secret-4711";
        region.Orleans.AdvertisedAddress = "not-an-address";
        problems = RegionOptionsValidator.Validate(region);
        Assert.Contains(problems, p => p.StartsWith("Mesh:Orleans:AdoNet:ConnectionString", StringComparison.Ordinal) && p.Contains("no Host"));
        Assert.Contains(problems, p => p.StartsWith("Mesh:Orleans:AdvertisedAddress", StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.Contains("marker-secret-4711"));
        Assert.DoesNotContain("marker-secret-4711", MembershipSchema.Describe("Host=db;Database=mesh_us_east;Password=marker-secret-4711"));

        region.Orleans.AdoNet.ConnectionString = "Host=db;Port=5432;Database=mesh_us_east;Username=mesh";
        region.Orleans.AdvertisedAddress = "10.0.0.5";
        Assert.Empty(RegionOptionsValidator.Validate(region));
    }
}
