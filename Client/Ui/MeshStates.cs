using System.Text.Json.Nodes;

namespace Mesh.Client.Ui;

/// <summary>
/// What the page shows a region or a link as, read from the <c>mesh status --json</c> shape. The one
/// place to change when that shape changes: a region's <c>kafka</c> that is already a state
/// (<c>degraded</c>, <c>unreachable</c>, ...) is shown as it is; strings the page has no style for get a
/// neutral one.
/// </summary>
public static class MeshStates
{
    /// <summary>A link whose replicators run in a region that does not answer: nothing is known of it.</summary>
    public const string Unknown = "unknown";

    /// <summary>
    /// <c>up</c>, <c>degraded</c>, <c>unreachable</c> or <c>down</c> (or whatever other state the region's
    /// <c>kafka</c> carries). Down: its Kafka host, or every one of its silos, is not running. Unreachable:
    /// its silos should answer and do not. Degraded: some of its silos are not running.
    /// </summary>
    public static string Region(JsonNode region)
    {
        var kafka = region["kafka"]?.GetValue<string>() ?? "up";
        var silosUp = region["silosUp"]?.GetValue<int>() ?? 0;
        var silos = region["silos"]?.GetValue<int>() ?? 0;
        var reachable = region["reachable"]?.GetValue<bool>() ?? false;
        if (kafka == "down") return "down";
        // The region's own silos saw their brokers (state strings beyond up/down): that is the truth about its Kafka.
        if (kafka != "up") return kafka;
        // Silos counted 0 of a known number: none runs (a local mesh knows); 0 of 0: not known, so only unreachable.
        if (silos > 0 && silosUp == 0) return "down";
        if (!reachable) return "unreachable";
        return silosUp < silos ? "degraded" : "up";
    }

    /// <summary>
    /// The region's <c>kafka</c> as status has it, except for a region that did not answer and whose
    /// silos could not be counted (reached through gateways): then nothing is known of its Kafka.
    /// </summary>
    public static string Kafka(JsonNode region) =>
        region["reachable"]?.GetValue<bool>() == false && (region["silos"]?.GetValue<int>() ?? 0) == 0
            ? NotKnown
            : region["kafka"]?.GetValue<string>() ?? NotKnown;

    public const string NotKnown = "not known";

    // Worst first: the link shows its worst topic. A state not named here ranks between waiting and starting.
    private static readonly string[] LinkSeverity = ["stopped", "waiting", "starting", "paused", "replicating"];
    private const int UnnamedRank = 2;

    /// <summary>
    /// A link's state from its topics' states: the worst of them (stopped, waiting, unnamed states,
    /// starting, paused, replicating); with no topics, stopped when it has an error, else starting.
    /// </summary>
    public static string Link(JsonNode link)
    {
        var states = (link["topics"]?.AsArray() ?? []).Select(t => t?["state"]?.GetValue<string>() ?? Unknown).ToList();
        if (states.Count == 0) return link["error"]?.GetValue<string>() is null ? "starting" : "stopped";
        return states.MinBy(Rank)!;
    }

    private static int Rank(string state)
    {
        var index = Array.IndexOf(LinkSeverity, state);
        return index < 0 ? UnnamedRank : index < UnnamedRank ? index : index + 1;
    }
}
