using System.Net.Http.Json;

namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>
/// The topic configs an embedded region remembers (its region host's control surface: the mock Kafka
/// itself has no DescribeConfigs), waited for until the topic is there.
/// </summary>
public static class RegionHostTopics
{
    public static async Task<Dictionary<string, string>> ConfigsAsync(HttpClient http, string control, string region, string topic)
    {
        var described = await Eventually.WaitAsync($"{region}'s region host to report topic {topic}",
            async () =>
            {
                using var response = await http.GetAsync($"{control}/topics/{topic}");
                return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<HostTopic>() : null;
            },
            t => t is not null, TimeSpan.FromMinutes(1), _ => "404");
        return described!.Configs ?? [];
    }

    private sealed record HostTopic(string Name, int Partitions, Dictionary<string, string>? Configs);
}
