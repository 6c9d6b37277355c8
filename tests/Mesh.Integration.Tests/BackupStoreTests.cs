using System.Diagnostics;
using System.Text;
using Mesh.Backup;
using Mesh.Core.Backup;
using Mesh.Integration.Tests.Infrastructure;

namespace Mesh.Integration.Tests;

/// <summary>
/// The store contract every backup store keeps (write once, exactly one winner of a race, no partial
/// object visible, ordered listing by prefix), run against a local directory and against Azurite.
/// </summary>
public abstract class BackupStoreContract
{
    protected static readonly CancellationToken None = CancellationToken.None;

    /// <summary>A new, empty store that exists (its directory or container made).</summary>
    protected abstract Task<IBackupStore> NewStoreAsync();

    [Fact]
    public async Task An_object_is_created_once_and_read_back()
    {
        var store = await NewStoreAsync();
        var first = "first"u8.ToArray();

        Assert.Null(await store.ReadAsync("a/b/object.json", None));
        Assert.True(await store.TryCreateAsync("a/b/object.json", first, None));
        Assert.False(await store.TryCreateAsync("a/b/object.json", "second"u8.ToArray(), None));

        Assert.Equal(first, await store.ReadAsync("a/b/object.json", None));
        Assert.True(await store.TryCreateAsync("empty", ReadOnlyMemory<byte>.Empty, None));
        Assert.Equal(Array.Empty<byte>(), await store.ReadAsync("empty", None));
    }

    [Fact]
    public async Task Of_racing_writers_exactly_one_wins_and_no_reader_sees_a_partial_object()
    {
        var store = await NewStoreAsync();
        const int writers = 12;
        var contents = Enumerable.Range(0, writers).Select(i => Enumerable.Repeat((byte)(i + 1), 512 * 1024).ToArray()).ToArray();
        using var stop = new CancellationTokenSource();
        var seen = 0;
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var bytes = await store.ReadAsync("race/object.bin", None);
                if (bytes is null) continue;
                seen++;
                Assert.True(contents.Any(c => c.AsSpan().SequenceEqual(bytes)), $"a reader saw {bytes.Length} bytes that are no writer's whole content");
            }
        });

        using var go = new ManualResetEventSlim();
        var attempts = contents.Select(content => Task.Run(async () =>
        {
            go.Wait();
            return await store.TryCreateAsync("race/object.bin", content, None);
        })).ToArray();
        go.Set();
        var won = await Task.WhenAll(attempts);
        await Task.Delay(50);
        await stop.CancelAsync();
        await reader;

        Assert.Equal(1, won.Count(w => w));
        var winner = contents[Array.IndexOf(won, true)];
        Assert.Equal(winner, await store.ReadAsync("race/object.bin", None));
        Assert.True(seen > 0, "the reader never saw the object");
        Assert.Equal(["race/object.bin"], (await store.ListAsync("race/", None)).Select(o => o.Name));
    }

    [Fact]
    public async Task Listing_is_by_prefix_in_ordinal_order_with_sizes()
    {
        var store = await NewStoreAsync();
        foreach (var name in new[] { "topics/b/1/x", "topics/a/10/x", "topics/a/2/x", "topics/ab/0/x", "groups/g/a/0/x", "topics/a/2/Y" })
            Assert.True(await store.TryCreateAsync(name, Encoding.UTF8.GetBytes(name), None));

        var underA = await store.ListAsync("topics/a/", None);
        var startingA = await store.ListAsync("topics/a", None);
        var all = await store.ListAsync("", None);

        Assert.Equal(["topics/a/10/x", "topics/a/2/Y", "topics/a/2/x"], underA.Select(o => o.Name));
        Assert.Equal(["topics/a/10/x", "topics/a/2/Y", "topics/a/2/x", "topics/ab/0/x"], startingA.Select(o => o.Name));
        Assert.Equal(6, all.Count);
        Assert.All(all, o => Assert.Equal(Encoding.UTF8.GetByteCount(o.Name), o.Size));
        Assert.Empty(await store.ListAsync("nothing/", None));
    }

    [Fact]
    public async Task Delete_removes_and_a_missing_object_is_no_error()
    {
        var store = await NewStoreAsync();
        Assert.True(await store.TryCreateAsync("d/one", "1"u8.ToArray(), None));
        await store.DeleteAsync("d/one", None);
        await store.DeleteAsync("d/one", None);
        await store.DeleteAsync("d/never", None);

        Assert.Null(await store.ReadAsync("d/one", None));
        Assert.Empty(await store.ListAsync("d/", None));
        Assert.True(await store.TryCreateAsync("d/one", "again"u8.ToArray(), None));
    }

    [Fact]
    public async Task A_stream_chain_and_its_catalog_work_over_the_store()
    {
        var store = await NewStoreAsync();
        var stream = new BackupStream("orders", 2, "eu", "0badcafe");
        await BackupCatalog.EnsureDescriptorAsync(store, null, TimeProvider.System, None);
        var a = await StreamChain.LoadAsync(store, stream, None);
        var b = await StreamChain.LoadAsync(store, stream, None);
        var records = Enumerable.Range(0, 20)
            .Select(i => new BackupRecord(i, 1_700_000_000_000 + i, false, [(byte)i], Encoding.UTF8.GetBytes($"v{i}"), []))
            .ToList();

        Assert.True((await a.AppendAsync(records[..10], null, "eu", null, TimeProvider.System, None)).Appended);
        var lost = await b.AppendAsync(records[..5], null, "us", null, TimeProvider.System, None);
        Assert.False(lost.Appended);
        Assert.True((await b.AppendAsync(records[10..], null, "us", null, TimeProvider.System, None)).Appended);

        var catalog = await BackupCatalog.LoadAsync(store, "orders", None);
        var entries = catalog.Topic("orders")!.Streams.Single().Entries;
        Assert.Equal([(0L, 9L, "eu"), (10L, 19L, "us")], entries.Select(e => (e.FirstOffset, e.LastOffset, e.Writer)));
        Assert.Empty(catalog.Orphans);
        var second = await BackupCatalog.ReadSegmentAsync(store, stream, entries[1], null, None);
        Assert.Equal("v19", Encoding.UTF8.GetString(second.Records[^1].Value!));
    }
}

public sealed class LocalDirectoryStoreTests : BackupStoreContract, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mesh-tests", $"store-{Guid.NewGuid():N}"[..14]);

    protected override Task<IBackupStore> NewStoreAsync()
    {
        var root = Path.Combine(_root, Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        return Task.FromResult<IBackupStore>(new LocalDirectoryStore(root));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    [Fact]
    public async Task Names_are_files_under_the_root_and_temporary_files_are_not_listed()
    {
        var store = (LocalDirectoryStore)await NewStoreAsync();
        await store.TryCreateAsync("topics/t/0/eu@00000001/manifest/0000000000.json", "{}"u8.ToArray(), None);
        File.WriteAllText(Path.Combine(store.Root, "topics", "t", "0", "eu@00000001", "manifest", ".tmp-0000000001.json.1234.partial"), "half");

        Assert.True(File.Exists(Path.Combine(store.Root, "topics", "t", "0", "eu@00000001", "manifest", "0000000000.json")));
        Assert.Equal(["topics/t/0/eu@00000001/manifest/0000000000.json"], (await store.ListAsync("topics/", None)).Select(o => o.Name));
        foreach (var bad in new[] { "../escape", "/absolute", "a//b", "a/./b", "a\\b", "" })
            await Assert.ThrowsAsync<ArgumentException>(() => store.TryCreateAsync(bad, "x"u8.ToArray(), None));
    }

    [Fact]
    public async Task A_missing_root_is_reported_on_reading_and_made_on_writing()
    {
        var root = Path.Combine(_root, "not-yet");
        var store = new LocalDirectoryStore(root);

        var read = await Assert.ThrowsAsync<BackupStoreException>(() => store.ReadAsync("mesh-backup.json", None));
        var list = await Assert.ThrowsAsync<BackupStoreException>(() => store.ListAsync("topics/", None));

        Assert.Equal($"backup directory {root} does not exist: check the store path (nothing has been backed up there yet, or it is not mounted)", read.Message);
        Assert.Equal(read.Message, list.Message);
        await BackupCatalog.EnsureDescriptorAsync(store, null, TimeProvider.System, None);
        Assert.True(File.Exists(Path.Combine(root, BackupLayout.DescriptorName)));
    }

    [Fact]
    public async Task An_unwritable_root_names_the_path_and_the_operating_system_error()
    {
        Directory.CreateDirectory(_root);
        var file = Path.Combine(_root, "a-file");
        File.WriteAllText(file, "not a directory");
        // Under a regular file (as root, permission bits would not stop us) and under /proc (no new folders there).
        foreach (var root in new[] { Path.Combine(file, "store"), "/proc/mesh-backup-test" })
        {
            var store = new LocalDirectoryStore(root);
            var e = await Assert.ThrowsAsync<BackupStoreException>(() => store.TryCreateAsync("mesh-backup.json", "{}"u8.ToArray(), None));
            Assert.StartsWith($"backup directory {root}: cannot write mesh-backup.json: ", e.Message);
            Assert.True(e.InnerException is IOException or UnauthorizedAccessException, $"inner: {e.InnerException}");
            Assert.True(e.Message.Length > $"backup directory {root}: cannot write mesh-backup.json: ".Length + 5, e.Message);
        }
        var onFile = await Assert.ThrowsAsync<BackupStoreException>(() => new LocalDirectoryStore(file).ListAsync("", None));
        Assert.Contains($"{file} is a file, not a directory", onFile.Message);
    }
}

public sealed class AzureBlobStoreTests : BackupStoreContract, IClassFixture<AzureBlobStoreTests.Emulator>
{
    private readonly Emulator _emulator;

    public AzureBlobStoreTests(Emulator emulator) => _emulator = emulator;

    /// <summary>One Azurite for the class; each test gets its own container.</summary>
    public sealed class Emulator : IDisposable
    {
        public Azurite Azurite { get; } = new();

        public void Dispose() => Azurite.Dispose();
    }

    protected override async Task<IBackupStore> NewStoreAsync()
    {
        // The first write creates the container.
        var store = _emulator.Azurite.OpenStore($"c{Guid.NewGuid():N}"[..20]);
        Assert.True(await store.TryCreateAsync("probe", "x"u8.ToArray(), None));
        await store.DeleteAsync("probe", None);
        return store;
    }

    [Fact]
    public async Task Open_reads_the_connection_string_from_the_named_variable()
    {
        var variable = $"MESH_TEST_AZURE_{Guid.NewGuid():N}"[..28];
        _emulator.Azurite.ExportConnection(variable);
        var container = $"c{Guid.NewGuid():N}"[..12];

        var store = BackupStores.Open($"azure://{container}?connection-env={variable}");

        Assert.Equal($"Azure container {container} at {_emulator.Azurite.BlobEndpoint}/{container}", store.Description);
        Assert.True(await store.TryCreateAsync("x", "1"u8.ToArray(), None));
        Assert.Equal("1"u8.ToArray(), await _emulator.Azurite.OpenStore(container).ReadAsync("x", None));
    }

    [Fact]
    public async Task Reading_a_container_that_does_not_exist_says_so()
    {
        var store = _emulator.Azurite.OpenStore("never-written");
        var e = await Assert.ThrowsAsync<BackupStoreException>(() => store.ListAsync("topics/", None));
        Assert.Contains("the container does not exist", e.Message);
        Assert.StartsWith(store.Description, e.Message);
    }

    [Fact]
    public async Task An_unreachable_endpoint_fails_in_seconds_naming_endpoint_and_container_never_the_key()
    {
        var port = Mesh.Client.Local.LocalMesh.FreePort();
        var connection = $"DefaultEndpointsProtocol=http;AccountName={Azurite.AccountName};AccountKey={Azurite.AccountKey};BlobEndpoint=http://127.0.0.1:{port}/{Azurite.AccountName};";
        var store = new AzureBlobStore(connection, "nowhere");
        var clock = Stopwatch.StartNew();

        var write = await Assert.ThrowsAsync<BackupStoreException>(() => store.TryCreateAsync("mesh-backup.json", "{}"u8.ToArray(), None));
        var read = await Assert.ThrowsAsync<BackupStoreException>(() => store.ReadAsync("mesh-backup.json", None));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        foreach (var e in new[] { write, read })
        {
            Assert.StartsWith($"Azure container nowhere at http://127.0.0.1:{port}/{Azurite.AccountName}/nowhere: ", e.Message);
            Assert.DoesNotContain(Azurite.AccountKey, e.ToString());
            Assert.DoesNotContain(Azurite.AccountKey[..20], e.ToString());
        }
        Assert.Contains("cannot create the container", write.Message);
        Assert.Contains("cannot read mesh-backup.json", read.Message);
    }

    [Fact]
    public async Task A_wrong_account_key_is_reported_as_refused()
    {
        var wrongKey = Convert.ToBase64String(new byte[64]);
        var connection = $"DefaultEndpointsProtocol=http;AccountName={Azurite.AccountName};AccountKey={wrongKey};BlobEndpoint={_emulator.Azurite.BlobEndpoint};";
        var store = new AzureBlobStore(connection, "refused", Azurite.TestOptions);
        var e = await Assert.ThrowsAsync<BackupStoreException>(() => store.TryCreateAsync("x", "1"u8.ToArray(), None));
        Assert.Contains("HTTP 403", e.Message);
        Assert.DoesNotContain(wrongKey, e.ToString());
    }
}

public sealed class BackupStoreSpecTests
{
    [Fact]
    public void Paths_and_file_uris_open_directories()
    {
        Assert.Equal("/var/backups/mesh", ((LocalDirectoryStore)BackupStores.Open("/var/backups/mesh")).Root);
        Assert.Equal("/srv/mesh/backups", ((LocalDirectoryStore)BackupStores.Open("backups", "/srv/mesh")).Root);
        Assert.Equal("/var/backups/my mesh", ((LocalDirectoryStore)BackupStores.Open("file:///var/backups/my%20mesh")).Root);
    }

    [Theory]
    [InlineData("", "no backup store given")]
    [InlineData("s3://bucket", "unknown scheme \"s3://\"")]
    [InlineData("file://host/path", "is not a local file URI: write \"file:///absolute/path\"")]
    [InlineData("azure://", "names no container")]
    [InlineData("azure://a/b", "names no container")]
    [InlineData("azure://mesh?region=x", "unknown option \"region\"")]
    [InlineData("azure://mesh?connection-env=", "connection-env needs an environment variable name")]
    [InlineData("azure://mesh?connection-env=MESH_TEST_SURELY_UNSET_VARIABLE", "the environment variable MESH_TEST_SURELY_UNSET_VARIABLE holds no Azure Storage connection string")]
    public void Bad_specs_say_how_to_write_one(string spec, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => BackupStores.Open(spec));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_bad_container_name_or_connection_string_is_explained_without_the_string()
    {
        var variable = $"MESH_TEST_AZURE_{Guid.NewGuid():N}"[..28];
        try
        {
            Environment.SetEnvironmentVariable(variable, $"UseDevelopmentStorage=true");
            var name = Assert.Throws<ArgumentException>(() => BackupStores.Open($"azure://Bad_Name?connection-env={variable}"));
            Assert.Contains("\"Bad_Name\" is not an Azure container name", name.Message);

            Environment.SetEnvironmentVariable(variable, "AccountName=x;AccountKey=secret-not-base64;Nonsense");
            var connection = Assert.Throws<ArgumentException>(() => BackupStores.Open($"azure://mesh?connection-env={variable}"));
            Assert.Contains($"(connection string from {variable}): the Azure Storage connection string is not valid", connection.Message);
            Assert.DoesNotContain("secret", connection.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }
}
