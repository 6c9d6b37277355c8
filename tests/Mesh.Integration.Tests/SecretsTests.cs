using System.Text;
using Mesh.Client.Local;
using Mesh.Core.Replication;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// Secrets never shown: a mesh key given through <c>MESH_KEY</c> signs the mesh's records and appears in no log, no
/// file of the mesh's folder but its own key file, and no output of the command line, also when the key is refused.
/// </summary>
public sealed class SecretsTests
{
    private static readonly string[] Regions = ["r1", "r2"];
    private const string Topic = "orders";
    private static readonly TimeSpan Cli = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_mesh_key_from_MESH_KEY_signs_the_records_and_is_in_no_log_file_or_output()
    {
        var marker = $"MARKER-mesh-key-{Guid.NewGuid():N}";
        var environment = new Dictionary<string, string> { [LocalMesh.OperatorKeyVariable] = marker };
        await using var mesh = TestMesh.InNewFolder("secrets");
        var outputs = new List<MeshProcesses.Result>();

        var up = await MeshProcesses.MeshAsync(TimeSpan.FromMinutes(4), environment,
            "local", "up", "--regions", string.Join(",", Regions), "--partitions", "2", "--topics", Topic, "--dir", mesh.Dir);
        outputs.Add(up);
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Equal(marker, (await File.ReadAllTextAsync(mesh.Local.Paths.MeshKeyFile)).Trim());

        await Kcat.ProduceAsync(mesh.Local.Bootstrap("r1"), Topic, 0, Enumerable.Range(0, 20).Select(i => $"k{i}:v{i}"));
        await Eventually.WaitAsync("r2 to hold the 20 records", () => Task.FromResult(mesh.RecordCount("r2", Topic)), n => n == 20, Cli);
        // Signed with the key MESH_KEY gave: each replicated record's provenance names that key's id.
        var keyId = ProvenanceSigner.KeyIdOf(Encoding.UTF8.GetBytes(marker));
        var replicated = await Kcat.ReadAllAsync(mesh.Local.Bootstrap("r2"), Topic);
        Assert.Equal(20, replicated.Count);
        Assert.All(replicated, line => Assert.Contains($"{ProvenanceCodec.HeaderName}=", line));
        Assert.All(replicated, line => Assert.Contains(keyId, line));

        // The command line's views of the mesh say nothing of the key.
        foreach (var args in new[] { new[] { "status" }, ["status", "--json"], ["topology", "get"], ["audit", "--topic", Topic] })
        {
            var result = await MeshProcesses.MeshAsync(Cli, [.. args, "--dir", mesh.Dir]);
            Assert.True(result.ExitCode == 0, $"mesh {string.Join(' ', args)}: {result}");
            outputs.Add(result);
        }
        var down = await MeshProcesses.MeshAsync(Cli, "local", "down", "--dir", mesh.Dir);
        outputs.Add(down);

        foreach (var output in outputs) Assert.DoesNotContain(marker, output.ToString());
        var files = Directory.EnumerateFiles(mesh.Dir, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFullPath(f) != Path.GetFullPath(mesh.Local.Paths.MeshKeyFile)).ToList();
        Assert.Contains(files, f => f.EndsWith("silo-1.log", StringComparison.Ordinal));
        foreach (var file in files)
            Assert.False((await File.ReadAllTextAsync(file)).Contains(marker, StringComparison.Ordinal), $"{file} holds the mesh key");

        // The TLS private keys local up made (the CA's, the silos', the operators') are in their own files only, readable by their owner.
        var keyFiles = Directory.GetFiles(mesh.Local.Paths.CertificatesDir, "*.key");
        Assert.Equal(2 + Regions.Length + 1, keyFiles.Length); // ca, one per region, operator and read-only
        foreach (var keyFile in keyFiles)
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            var body = (await File.ReadAllLinesAsync(keyFile)).Where(l => !l.StartsWith("-----", StringComparison.Ordinal)).First();
            foreach (var output in outputs) Assert.DoesNotContain(body, output.ToString());
            foreach (var file in files.Where(f => !f.EndsWith(".key", StringComparison.Ordinal)))
                Assert.False((await File.ReadAllTextAsync(file)).Contains(body, StringComparison.Ordinal), $"{file} holds the private key of {keyFile}");
        }
    }

    [Fact]
    public async Task A_MESH_KEY_that_cannot_be_used_is_refused_without_repeating_it_and_starts_nothing()
    {
        await using var mesh = TestMesh.InNewFolder("badkey");
        var tooShort = "MARKER-short";
        var refused = await MeshProcesses.MeshAsync(Cli, new Dictionary<string, string> { [LocalMesh.OperatorKeyVariable] = tooShort },
            "local", "up", "--regions", "r1,r2", "--topics", Topic, "--dir", mesh.Dir);
        Assert.True(refused.ExitCode == 2, refused.ToString());
        Assert.Contains("MESH_KEY is 12 characters long", refused.Stderr + refused.Stdout);
        Assert.DoesNotContain(tooShort, refused.ToString());
        Assert.Null(LocalMeshState.TryLoad(mesh.Dir));

        // A folder whose mesh was made with another key: using MESH_KEY's would leave its regions unable to verify each other.
        Directory.CreateDirectory(mesh.Dir);
        var made = $"MARKER-made-with-{Guid.NewGuid():N}";
        await File.WriteAllTextAsync(mesh.Local.Paths.MeshKeyFile, made + "\n");
        var other = $"MARKER-other-{Guid.NewGuid():N}";
        var mismatch = await MeshProcesses.MeshAsync(Cli, new Dictionary<string, string> { [LocalMesh.OperatorKeyVariable] = other },
            "local", "up", "--regions", "r1,r2", "--topics", Topic, "--dir", mesh.Dir);
        Assert.True(mismatch.ExitCode == 2, mismatch.ToString());
        Assert.Contains("MESH_KEY is not the key this mesh was made with", mismatch.ToString());
        Assert.DoesNotContain(made, mismatch.ToString());
        Assert.DoesNotContain(other, mismatch.ToString());
        Assert.Null(LocalMeshState.TryLoad(mesh.Dir));
    }
}
