namespace Mesh.Grains.Tests.Infrastructure;

/// <summary>Topology documents as an operator writes them (YAML), small enough to read in a test.</summary>
internal static class Documents
{
    public static string Mesh(long version, params string[] regions) => Of(version, "mesh", regions);

    public static string HubSpoke(long version, string hub, params string[] regions) => Of(version, "hub-spoke", regions, hub: hub);

    /// <param name="extra">YAML appended as it is (a <c>topics:</c> section, say).</param>
    public static string Of(long version, string pattern, IEnumerable<string> regions, string? hub = null, string naming = "identity",
        string name = "grain-tests", string extra = "") =>
        $"name: {name}\nversion: {version}\nnaming: {naming}\npattern: {pattern}\n" + (hub is null ? "" : $"hub: {hub}\n") +
        "regions:\n" + string.Concat(regions.Select(r => $"  {r}: {{}}\n")) + extra;
}
