namespace Mesh.Client.Local;

// Each region's embedded Kafka: the region host process, and topics created through its control surface.
public sealed partial class LocalMesh
{
    private async Task StartKafkaAsync(LocalMeshState state, string region, CancellationToken cancellationToken)
    {
        var kafkaDir = Paths.KafkaDir(region);
        Directory.CreateDirectory(kafkaDir);
        File.Delete(Paths.KafkaControlFile(region));
        LocalProcesses.StartDetached(LocalMeshPaths.Binary(LocalMeshPaths.RegionHostBinary),
            ["--dir", kafkaDir, "--brokers", state.Brokers.ToString(), "--region", region],
            Paths.KafkaLog(region), Paths.KafkaPidFile(region));
        _progress($"{region}: starting Kafka ({state.Brokers} brokers)");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!File.Exists(Paths.KafkaControlFile(region)))
        {
            if (!IsKafkaRunning(region))
                throw new MeshCommandException($"{region}'s Kafka host exited during start; see {Paths.KafkaLog(region)}:\n{Tail(Paths.KafkaLog(region))}");
            if (DateTime.UtcNow > deadline)
                throw new MeshCommandException($"{region}'s Kafka host did not become ready within 60 s; see {Paths.KafkaLog(region)}.");
            await Task.Delay(100, cancellationToken);
        }
        var bootstrap = File.ReadAllText(Paths.KafkaBootstrapFile(region)).Trim();
        File.WriteAllText(Paths.BootstrapFile(region), bootstrap + Environment.NewLine);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        foreach (var topic in state.Topics)
            await CreateTopicAsync(http, region, topic, state.Partitions, cancellationToken);
    }

    /// <summary>Creates a topic in one region through its Kafka host (the embedded Kafka has no CreateTopics).</summary>
    public async Task CreateTopicAsync(string region, string topic, int partitions, CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await CreateTopicAsync(http, region, topic, partitions, cancellationToken);
    }

    private async Task CreateTopicAsync(HttpClient http, string region, string topic, int partitions, CancellationToken cancellationToken)
    {
        using var response = await http.PutAsync($"{Control(region)}/topics/{Uri.EscapeDataString(topic)}?partitions={partitions}", null, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new MeshCommandException($"Creating topic '{topic}' in {region} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
    }

    /// <summary>Adds <paramref name="milliseconds"/> of round-trip time to every broker of a region's embedded Kafka (0 removes it), as a WAN would.</summary>
    public async Task SetBrokerRttAsync(string region, int milliseconds, CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.PostAsync($"{Control(region)}/brokers/all/rtt?ms={milliseconds}", null, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new MeshCommandException($"Setting {region}'s brokers' round-trip time to {milliseconds} ms failed: {(int)response.StatusCode} " +
                                           $"{await response.Content.ReadAsStringAsync(cancellationToken)}");
    }
}
