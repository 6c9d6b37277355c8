namespace Mesh.RegionHost;

/// <summary>
/// Diagnostics go to stderr so stdout carries only the <c>bootstrap=</c> and <c>control=</c>
/// lines that launchers parse.
/// </summary>
internal static class Log
{
    public static void Info(string region, string message) =>
        Console.Error.WriteLine($"regionhost[{region}] {message}");
}
