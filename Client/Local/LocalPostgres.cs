using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Mesh.Client.Local;

/// <summary>
/// The one PostgreSQL server a local mesh runs for its regions' membership (<c>--clustering
/// postgres</c>): Debian's server binaries, a data folder under <c>&lt;dir&gt;/postgres/data</c>, its own
/// port on 127.0.0.1 and its unix socket inside <c>&lt;dir&gt;/postgres</c>; one database per region.
/// Authentication is <c>trust</c>, and the server listens on 127.0.0.1 only: a local dev mesh keeps no
/// secret in its folder, and only processes of this machine can connect (a deployed region uses a
/// password or certificates through its connection string). PostgreSQL refuses to run as root, so
/// under root the server runs as the <c>postgres</c> user, which must be able to reach the folder.
/// </summary>
public sealed partial class LocalPostgres(string root)
{
    public const string SuperUser = "mesh";

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    public static bool IsRoot => GetEuid() == 0;

    public string Dir { get; } = Path.Combine(Path.GetFullPath(root), "postgres");
    public string DataDir => Path.Combine(Dir, "data");
    public string Log => Path.Combine(Dir, "postgres.log");

    /// <summary>The connection string of one database of this server (no password: trust on loopback).</summary>
    public static string ConnectionString(int port, string database) =>
        $"Host=127.0.0.1;Port={port};Database={database};Username={SuperUser};Timeout=5;Command Timeout=15";

    /// <summary>The region's database: <c>mesh_</c> and the region id with '-' and '.' as '_'.</summary>
    public static string DatabaseOf(string region) => "mesh_" + region.Replace('-', '_').Replace('.', '_');

    /// <summary>The folder of initdb, pg_ctl and postgres: the newest of /usr/lib/postgresql/*/bin, else pg_config's; installed with apt-get when missing and root.</summary>
    public static string BinDir()
    {
        if (Find() is { } found) return found;
        if (!IsRoot)
            throw new MeshCommandException("--clustering postgres needs the PostgreSQL server (initdb, pg_ctl, postgres), which is not installed. " +
                                           "Install it with 'sudo apt-get install postgresql' (Debian/Ubuntu), then run the command again.", 2);
        Run("/bin/sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql"], asPostgres: false, TimeSpan.FromMinutes(10),
            "installing PostgreSQL with apt-get");
        return Find() ?? throw new MeshCommandException("apt-get installed postgresql, but initdb is still not under /usr/lib/postgresql/*/bin.");

        static string? Find()
        {
            var versions = Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").Where(d => File.Exists(Path.Combine(d, "bin", "initdb")))
                    .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0).Select(d => Path.Combine(d, "bin")).ToList()
                : [];
            if (versions.Count > 0) return versions[0];
            try
            {
                var bindir = Capture("pg_config", ["--bindir"]);
                return bindir is not null && File.Exists(Path.Combine(bindir, "initdb")) ? bindir : null;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return null;
            }
        }
    }

    /// <summary>Creates the data folder (once) and starts the server on <paramref name="port"/>; waits until it accepts connections.</summary>
    public void Start(int port)
    {
        var bin = BinDir();
        Directory.CreateDirectory(Dir);
        if (IsRoot) GrantToPostgresUser();
        if (!File.Exists(Path.Combine(DataDir, "PG_VERSION")))
            Run(Path.Combine(bin, "initdb"), ["-D", DataDir, "-U", SuperUser, "-A", "trust", "-E", "UTF8", "--no-instructions"], IsRoot,
                TimeSpan.FromMinutes(2), "initdb");
        Run(Path.Combine(bin, "pg_ctl"), ["-D", DataDir, "-l", Log, "-w", "-t", "60", "-o", $"-p {port} -k {Dir} -c listen_addresses=127.0.0.1", "start"],
            IsRoot, TimeSpan.FromSeconds(90), $"starting PostgreSQL on 127.0.0.1:{port}");
    }

    /// <summary>Fast shutdown (open transactions are rolled back, clients disconnected); nothing when it is not running.</summary>
    public void Stop()
    {
        if (!IsRunning()) return;
        Run(Path.Combine(BinDir(), "pg_ctl"), ["-D", DataDir, "-w", "-t", "60", "-m", "fast", "stop"], IsRoot, TimeSpan.FromSeconds(90), "stopping PostgreSQL");
    }

    public bool IsRunning()
    {
        if (!File.Exists(Path.Combine(DataDir, "postmaster.pid"))) return false;
        var pidLine = File.ReadLines(Path.Combine(DataDir, "postmaster.pid")).FirstOrDefault();
        return int.TryParse(pidLine, out var pid) && File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ");
    }

    /// <summary>Creates a region's database unless it exists.</summary>
    public void CreateDatabase(int port, string database)
    {
        var psql = Path.Combine(BinDir(), "psql");
        var exists = Capture(psql, ["-h", "127.0.0.1", "-p", port.ToString(), "-U", SuperUser, "-d", "postgres", "-tAc",
            $"SELECT 1 FROM pg_database WHERE datname = '{database}'"]);
        if (exists == "1") return;
        Run(Path.Combine(BinDir(), "createdb"), ["-h", "127.0.0.1", "-p", port.ToString(), "-U", SuperUser, database], asPostgres: false,
            TimeSpan.FromSeconds(60), $"creating database {database}");
    }

    // Root: the server runs as 'postgres', which must own its folder and reach it through every parent.
    private void GrantToPostgresUser()
    {
        Run("chown", ["-R", "postgres:postgres", Dir], asPostgres: false, TimeSpan.FromSeconds(30), $"giving {Dir} to the postgres user");
        for (var dir = new DirectoryInfo(Dir); dir is not null; dir = dir.Parent)
        {
            if (RunQuietly("runuser", ["-u", "postgres", "--", "test", "-x", dir.FullName])) continue;
            throw new MeshCommandException(
                $"PostgreSQL refuses to run as root, so the mesh runs it as the 'postgres' user, which cannot enter {dir.FullName}. " +
                $"Use a --dir that user can reach (e.g. under /tmp or /var/tmp), or let it through: chmod o+x {dir.FullName}", 2);
        }
    }

    private static void Run(string exe, IReadOnlyList<string> args, bool asPostgres, TimeSpan timeout, string what)
    {
        var (code, output) = Execute(exe, args, asPostgres, timeout);
        if (code != 0)
            throw new MeshCommandException($"{what} failed (exit {code}): {output.Trim()}");
    }

    private static bool RunQuietly(string exe, IReadOnlyList<string> args) => Execute(exe, args, asPostgres: false, TimeSpan.FromSeconds(30)).Code == 0;

    private static string? Capture(string exe, IReadOnlyList<string> args)
    {
        var (code, output) = Execute(exe, args, asPostgres: false, TimeSpan.FromSeconds(30), stdoutOnly: true);
        return code == 0 ? output.Trim() : null;
    }

    // Under root the tool runs as 'postgres' (runuser). Always through setsid: the server pg_ctl starts
    // lives in a session of its own, so a Ctrl-C at a terminal never reaches it.
    private static (int Code, string Output) Execute(string exe, IReadOnlyList<string> args, bool asPostgres, TimeSpan timeout, bool stdoutOnly = false)
    {
        var start = new ProcessStartInfo("setsid") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--wait");
        if (asPostgres)
            foreach (var a in new[] { "runuser", "-u", "postgres", "--" }) start.ArgumentList.Add(a);
        start.ArgumentList.Add(exe);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new MeshCommandException($"Could not start {exe}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new MeshCommandException($"{Path.GetFileName(exe)} did not finish within {timeout.TotalSeconds:0} s.");
        }
        return (process.ExitCode, stdoutOnly ? stdout.Result : stdout.Result + stderr.Result);
    }
}
