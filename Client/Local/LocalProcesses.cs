using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Mesh.Client.Local;

/// <summary>
/// Starts the mesh's background processes detached (own session, output to a log file) and finds
/// them again by pid file. A pid is trusted only while its command line still names our binary,
/// so a recycled pid is never signalled.
/// </summary>
public static partial class LocalProcesses
{
    private const int SigKill = 9;
    private const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

    /// <param name="environment">Extra environment variables (secrets go here, never on the command line or in a file others read).</param>
    public static int StartDetached(string dll, IEnumerable<string> args, string logFile, string pidFile,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
        File.Delete(pidFile);
        var start = new ProcessStartInfo("setsid") { UseShellExecute = false };
        // setsid --fork: a new session, so Ctrl-C at the terminal never reaches the regions. The
        // shell records its own pid, which stays the pid of the program it then becomes (exec).
        start.ArgumentList.Add("--fork");
        // bash, not dash: dash drops environment variables whose names are not shell identifiers, and
        // librdkafka settings passed as MESH_Mesh__Kafka__Settings__message.max.bytes have dots.
        start.ArgumentList.Add("/bin/bash");
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("echo $$ >\"$MESH_PID_FILE.tmp\" && mv \"$MESH_PID_FILE.tmp\" \"$MESH_PID_FILE\" && exec \"$0\" \"$@\" >>\"$MESH_LOG_FILE\" 2>&1 </dev/null");
        start.ArgumentList.Add(DotnetHost());
        start.ArgumentList.Add(dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        start.Environment["MESH_LOG_FILE"] = logFile;
        start.Environment["MESH_PID_FILE"] = pidFile;
        using (var launcher = Process.Start(start) ?? throw new MeshCommandException($"Could not start {dll}."))
            launcher.WaitForExit();

        for (var i = 0; i < 500; i++)
        {
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid)) return pid;
            Thread.Sleep(10);
        }
        throw new MeshCommandException($"{Path.GetFileName(dll)} did not start (no pid in {pidFile} after 5 s); see {logFile}.");
    }

    /// <summary>The running pid recorded in <paramref name="pidFile"/>, if that process is still ours.</summary>
    public static int? Running(string pidFile, string binaryName)
    {
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid)) return null;
        return IsOurs(pid, binaryName) ? pid : null;
    }

    public static bool IsOurs(int pid, string binaryName)
    {
        // While a process is in the middle of exec (our launcher's shell becoming dotnet), the kernel
        // can show an empty command line, for longer on a loaded machine; look again, and while it
        // stays empty count a live process as ours: a recycled pid shows its own command line.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
                if (state is "Z" or "X") return false;
                var cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
                if (cmdline.Length > 0) return cmdline.Contains(binaryName, StringComparison.Ordinal);
                if (attempt >= 10) return true;
            }
            catch (IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
            Thread.Sleep(20);
        }
    }

    public static void Kill(int pid) => SysKill(pid, SigKill);

    /// <summary>SIGTERM, then SIGKILL if the process has not exited within <paramref name="grace"/>.</summary>
    public static async Task StopAsync(int pid, string binaryName, TimeSpan grace)
    {
        SysKill(pid, SigTerm);
        var deadline = DateTime.UtcNow + grace;
        while (DateTime.UtcNow < deadline)
        {
            if (!IsOurs(pid, binaryName)) return;
            await Task.Delay(100);
        }
        SysKill(pid, SigKill);
        for (var i = 0; i < 50 && IsOurs(pid, binaryName); i++) await Task.Delay(100);
    }

    public static async Task WaitForExitAsync(int pid, string binaryName, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (IsOurs(pid, binaryName) && DateTime.UtcNow < deadline) await Task.Delay(50);
    }

    private static string DotnetHost()
    {
        var host = Environment.ProcessPath;
        if (host is not null && Path.GetFileNameWithoutExtension(host) == "dotnet") return host;
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (root is not null && File.Exists(Path.Combine(root, "dotnet"))) return Path.Combine(root, "dotnet");
        return "dotnet";
    }
}
