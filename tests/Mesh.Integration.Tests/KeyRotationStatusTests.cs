using System.Text;
using System.Text.Json;
using Mesh.Client.Local;
using Mesh.Core.Replication;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// A provenance key rotation as an operator runs it, seen in <c>mesh status</c>: every region first accepts the new key,
/// then region a signs with it. A record produced in b is written into a by a's silos, signed with a's key, and b's link
/// from a reads it back and verifies that signature before it skips it as b's own: so b's count of records verified per
/// key shows which key a signs with, and status says which key each region signs with.
/// </summary>
public sealed class KeyRotationStatusTests
{
    private const string Topic = "orders";
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Status_shows_the_signing_key_and_the_records_each_key_verified_through_a_rotation()
    {
        await using var mesh = TestMesh.InNewFolder("keyrot");
        await mesh.Local.UpAsync(["a", "b"], brokers: 1, partitions: 2, [Topic], Wait);
        var oldKey = mesh.Local.EnsureMeshKey();
        var newKey = MeshKeys.Generate();
        var oldId = ProvenanceSigner.KeyIdOf(Encoding.UTF8.GetBytes(oldKey));
        var newId = ProvenanceSigner.KeyIdOf(Encoding.UTF8.GetBytes(newKey));

        await Kcat.ProduceAsync(mesh.Local.Bootstrap("b"), Topic, 0, Enumerable.Range(0, 10).Select(i => $"old{i}:v{i}"));
        await Eventually.WaitAsync("a to hold b's 10 records", () => Task.FromResult(mesh.RecordCount("a", Topic)), n => n == 10, Wait);
        var before = await Eventually.WaitAsync("b to verify its 10 records coming back from a under the old key", () => KeysAsync(mesh),
            k => k["b"].GetProperty("verified").TryGetProperty(oldId, out var n) && n.GetInt64() == 10, Wait, k => JsonSerializer.Serialize(k));
        Assert.Equal(oldId, before["a"].GetProperty("signing").GetString());

        // Step 1: every region accepts the new key. Step 2: a signs with it (and still accepts the old one).
        foreach (var region in new[] { "a", "b" })
        {
            mesh.Local.SiloEnvironment[region] = new() { ["MESH_Mesh__Provenance__AdditionalKey"] = newKey };
            await mesh.Local.StopSilosAsync(region);
            await mesh.Local.StartAsync(region);
        }
        mesh.Local.SiloEnvironment["a"] = new() { [LocalMesh.MeshKeyVariable] = newKey, ["MESH_Mesh__Provenance__AdditionalKey"] = oldKey };
        await mesh.Local.StopSilosAsync("a");
        await mesh.Local.StartAsync("a");

        await Kcat.ProduceAsync(mesh.Local.Bootstrap("b"), Topic, 1, Enumerable.Range(0, 7).Select(i => $"new{i}:v{i}"));
        await Eventually.WaitAsync("a to hold all 17 records", () => Task.FromResult(mesh.RecordCount("a", Topic)), n => n == 17, Wait);
        var after = await Eventually.WaitAsync("b's status to count the 7 records verified under the new key", () => KeysAsync(mesh),
            k => k["b"].GetProperty("verified").TryGetProperty(newId, out var n) && n.GetInt64() == 7, Wait, k => JsonSerializer.Serialize(k));

        Assert.Equal(newId, after["a"].GetProperty("signing").GetString());
        Assert.Equal([newId, oldId], after["a"].GetProperty("accepted").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(oldId, after["b"].GetProperty("signing").GetString());
        Assert.Equal([oldId, newId], after["b"].GetProperty("accepted").EnumerateArray().Select(e => e.GetString()));
        // b's replicators restarted with the new key accepted: since then, nothing arrived under the old key.
        Assert.False(after["b"].GetProperty("verified").TryGetProperty(oldId, out var stale) && stale.GetInt64() > 0, JsonSerializer.Serialize(after));
        foreach (var file in Directory.EnumerateFiles(mesh.Dir, "*.log", SearchOption.AllDirectories))
            Assert.DoesNotContain(newKey, await File.ReadAllTextAsync(file));
    }

    private static async Task<Dictionary<string, JsonElement>> KeysAsync(TestMesh mesh)
    {
        var status = await MeshProcesses.MeshAsync(Wait, "status", "--json", "--dir", mesh.Dir);
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.DoesNotContain(mesh.Local.EnsureMeshKey(), status.Stdout);
        return JsonDocument.Parse(status.Stdout).RootElement.GetProperty("regions").EnumerateArray()
            .ToDictionary(r => r.GetProperty("region").GetString()!, r => r.GetProperty("provenanceKeys").Clone());
    }
}
