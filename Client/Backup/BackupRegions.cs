using Confluent.Kafka;
using Mesh.Client.Audit;
using Mesh.Client.Local;
using Mesh.Core.Replication;
using Mesh.Grains.Ports;
using Mesh.Kafka.Clients;
using Mesh.Kafka.Native;
using Mesh.Kafka.Replication;
using Microsoft.Extensions.Options;

namespace Mesh.Client.Backup;

/// <summary>One region's Kafka as the backup verbs reach it; <paramref name="EmbeddedControl"/> is set for a local mesh's embedded Kafka.</summary>
public sealed record BackupRegion(string Id, IReadOnlyDictionary<string, string> Kafka, string? EmbeddedControl)
{
    public string Bootstrap => Kafka.GetValueOrDefault("bootstrap.servers") ?? "";
}

/// <summary>
/// The regions a backup verb writes to or compares with: a local mesh's (<c>--dir</c>) or deployed ones
/// (<c>--bootstrap region=servers,...</c>), and the mesh key restored records are signed with.
/// </summary>
public sealed class BackupRegions : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);
    private readonly KafkaTopicCatalog _catalog;

    private BackupRegions(IReadOnlyList<BackupRegion> regions, string description, string? meshKey)
    {
        Regions = regions;
        Description = description;
        MeshKey = meshKey;
        var options = new KafkaRegionsOptions { LocalRegion = regions[0].Id };
        foreach (var region in regions)
        {
            var cluster = new KafkaClusterOptions { BootstrapServers = region.Bootstrap, EmbeddedControl = region.EmbeddedControl };
            foreach (var (key, value) in region.Kafka.Where(e => e.Key != "bootstrap.servers")) cluster.Settings[key] = value;
            options.Clusters[region.Id] = cluster;
        }
        _catalog = new KafkaTopicCatalog(Options.Create(options));
    }

    public IReadOnlyList<BackupRegion> Regions { get; }

    /// <summary>Where the regions come from, for messages.</summary>
    public string Description { get; }

    /// <summary>The mesh's signing key (text), or null when the mesh runs unsigned.</summary>
    public string? MeshKey { get; }

    public BackupRegion Region(string id) => Regions.FirstOrDefault(r => r.Id == id)
        ?? throw new MeshCommandException($"{id} is not a region of {Description} (its regions: {string.Join(", ", Regions.Select(r => r.Id))}).", 2);

    /// <param name="keyEnv">The environment variable holding the mesh key when the regions are not a local mesh (or to override its key file).</param>
    public static BackupRegions Open(string? dir, string? bootstrap, string? keyEnv)
    {
        if (dir is not null && bootstrap is not null)
            throw new MeshCommandException("--dir and --bootstrap exclude each other: give the local mesh's folder or the regions' Kafka.", 2);
        string? key = null;
        if (keyEnv is not null)
        {
            key = Environment.GetEnvironmentVariable(keyEnv);
            if (string.IsNullOrEmpty(key)) throw new MeshCommandException($"--key-env {keyEnv}: the environment variable is not set or empty; export the mesh key in it.", 2);
            if (!MeshKeys.IsValidKey(key, out var reason)) throw new MeshCommandException($"--key-env {keyEnv}: the key {reason}.", 2);
        }
        if (bootstrap is not null)
        {
            var servers = AuditTargets.ParseBootstrap(bootstrap);
            return new BackupRegions([.. servers.Select(s => new BackupRegion(s.Key, new Dictionary<string, string> { ["bootstrap.servers"] = s.Value }, null))],
                "the regions given with --bootstrap", key);
        }
        var root = dir ?? ".mesh";
        if (LocalMeshState.TryLoad(root) is not { } state)
            throw new MeshCommandException($"No local mesh in '{root}' (no {LocalMeshState.FileName}). Give the folder of a local mesh with --dir, " +
                "or the regions' Kafka with --bootstrap region=host:port,...", 2);
        var mesh = new LocalMesh(root);
        var regions = new List<BackupRegion>();
        foreach (var region in state.Regions)
        {
            if (!mesh.IsKafkaRunning(region.Id) || !File.Exists(mesh.Paths.BootstrapFile(region.Id)) || !File.Exists(mesh.Paths.KafkaControlFile(region.Id)))
                throw new MeshCommandException($"The Kafka of {region.Id} in the local mesh at {mesh.Paths.Root} is not running " +
                    $"(start it with 'mesh local start {region.Id} --dir {mesh.Paths.Root}'). Nothing changed.", 3);
            regions.Add(new BackupRegion(region.Id, new Dictionary<string, string> { ["bootstrap.servers"] = mesh.Bootstrap(region.Id) },
                File.ReadAllText(mesh.Paths.KafkaControlFile(region.Id)).Trim()));
        }
        if (key is null && File.Exists(mesh.Paths.MeshKeyFile)) key = File.ReadAllText(mesh.Paths.MeshKeyFile).Trim();
        return new BackupRegions(regions, $"the local mesh at {mesh.Paths.Root}", key);
    }

    /// <summary>The region's incarnation (from its cluster id) and topics with their partition counts.</summary>
    /// <exception cref="MeshCommandException">Exit 3: the region cannot be reached.</exception>
    public (string Incarnation, IReadOnlyDictionary<string, int> Topics) Describe(BackupRegion region)
    {
        try
        {
            var config = new Dictionary<string, string>(region.Kafka) { ["log_level"] = "0" };
            var incarnation = Incarnations.FromClusterId(ClusterId.Read(config, RequestTimeout));
            using var admin = new AdminClientBuilder(region.Kafka).SetLogHandler((_, _) => { }).Build();
            var topics = admin.GetMetadata(RequestTimeout).Topics
                .Where(t => t.Error.Code == Confluent.Kafka.ErrorCode.NoError)
                .ToDictionary(t => t.Topic, t => t.Partitions.Count, StringComparer.Ordinal);
            return (incarnation, topics);
        }
        catch (Exception e) when (e is TimeoutException or KafkaException or InvalidOperationException or ArgumentException)
        {
            throw new MeshCommandException($"{region.Id}'s Kafka at {region.Bootstrap} cannot be reached: {e.Message}. Nothing changed.", 3);
        }
    }

    /// <summary>Creates <paramref name="topic"/> with the backed-up partition count and configs (the embedded Kafka through its control surface).</summary>
    public async Task CreateTopicAsync(BackupRegion region, string topic, int partitions, IReadOnlyDictionary<string, string> configs, CancellationToken cancellationToken)
    {
        try
        {
            await _catalog.CreateTopicAsync(region.Id, topic, partitions, configs, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or KafkaException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new MeshCommandException($"Creating topic '{topic}' in {region.Id} failed: {e.Message}. Nothing was written.", 3);
        }
        catch (ReplicationFailedException e)
        {
            throw new MeshCommandException($"Creating topic '{topic}' in {region.Id} was refused: {e.Message}. Nothing was written.", 2);
        }
    }

    public void Dispose() => _catalog.Dispose();
}
