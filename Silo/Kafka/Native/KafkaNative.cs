using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace Mesh.Kafka.Native;

/// <summary>
/// Loads the native librdkafka explicitly. On Debian the default <c>librdkafka.so</c> shipped by
/// librdkafka.redist links against <c>libsasl2.so.3</c>, which Debian does not have; the
/// <c>centos8-</c> build beside it has no such dependency. Both Confluent.Kafka and our own
/// P/Invoke calls (the mock cluster) must use the same loaded copy.
/// </summary>
public static class KafkaNative
{
    /// <summary>The name our own <c>DllImport</c>s use; resolved to the loaded librdkafka.</summary>
    public const string LibraryName = "librdkafka";

    private static readonly object Gate = new();
    private static string? _loadedPath;
    private static IntPtr _handle;

    /// <summary>Full path of the librdkafka that was loaded.</summary>
    public static string LoadedPath => _loadedPath ?? throw new InvalidOperationException("librdkafka is not loaded; call KafkaNative.EnsureLoaded() first.");

    /// <summary>Handle of the loaded librdkafka, for resolving our own DllImports.</summary>
    public static IntPtr Handle { get { EnsureLoaded(); return _handle; } }

    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loadedPath is not null) return;
            var path = FindLibrary();
            _handle = NativeLibrary.Load(path);
            AssemblyLoadContext.Default.ResolvingUnmanagedDll += ResolveWhereProbingFailed;
            Confluent.Kafka.Library.Load(path);
            _loadedPath = path;
            // This assembly's own imports (ClusterId) bind to the same copy.
            NativeLibrary.SetDllImportResolver(typeof(KafkaNative).Assembly, (name, _, _) => name == LibraryName ? _handle : IntPtr.Zero);
        }
    }

    /// <summary>Lets an assembly's <c>[DllImport("librdkafka")]</c> bind to the same copy Confluent.Kafka uses.</summary>
    public static void ResolveImportsFor(Assembly assembly) =>
        NativeLibrary.SetDllImportResolver(assembly, (name, _, _) =>
            name == LibraryName ? Handle : IntPtr.Zero);

    // Confluent.Kafka.Library.Load on Linux (a) P/Invokes a bare "libdl", but glibc 2.34+ ships only
    // libdl.so.2, and (b) binds its own [DllImport("librdkafka")] by ordinary probing, which finds the
    // default librdkafka.so that needs libsasl2.so.3. This event fires only after probing failed, so
    // it changes nothing where the defaults work.
    private static IntPtr ResolveWhereProbingFailed(Assembly assembly, string name)
    {
        if (name == "libdl")
            return NativeLibrary.TryLoad("libdl.so.2", out var libdl) ? libdl : IntPtr.Zero;
        return name == LibraryName && _handle != IntPtr.Zero ? _handle : IntPtr.Zero;
    }

    private static string FindLibrary()
    {
        var overridePath = Environment.GetEnvironmentVariable("MESH_LIBRDKAFKA_PATH");
        if (!string.IsNullOrWhiteSpace(overridePath))
        {
            if (!File.Exists(overridePath))
                throw new FileNotFoundException($"MESH_LIBRDKAFKA_PATH points at '{overridePath}', which does not exist. Unset it or point it at a librdkafka shared library.");
            return overridePath;
        }

        var baseDir = AppContext.BaseDirectory;
        string[] candidates = RuntimeInformation.IsOSPlatform(OSPlatform.Linux)
            ? RuntimeInformation.OSArchitecture == Architecture.Arm64
                ? ["runtimes/linux-arm64/native/librdkafka.so"]
                : ["runtimes/linux-x64/native/centos8-librdkafka.so", "runtimes/linux-x64/native/librdkafka.so"]
            : RuntimeInformation.IsOSPlatform(OSPlatform.OSX)
                ? ["runtimes/osx-arm64/native/librdkafka.dylib", "runtimes/osx-x64/native/librdkafka.dylib"]
                : ["runtimes/win-x64/native/librdkafka.dll"];
        foreach (var relative in candidates)
        {
            var full = Path.Combine(baseDir, relative);
            if (File.Exists(full)) return full;
        }
        throw new FileNotFoundException(
            $"No librdkafka found under {baseDir}runtimes/ (looked for {string.Join(", ", candidates)}). " +
            "Rebuild so the librdkafka.redist package's native files are copied, or set MESH_LIBRDKAFKA_PATH.");
    }
}
