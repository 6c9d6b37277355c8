namespace Mesh.Grains.Tests.Infrastructure;

/// <summary>Grain answers in one line, lists by content, so an assertion on them reads plainly when it fails.</summary>
internal static class Lines
{
    public static string Line(this ApplyResult r) =>
        $"{r.Region}: {r.Outcome} {r.VersionBefore}->{r.VersionAfter}; added [{string.Join(", ", r.LinksAdded)}]; removed [{string.Join(", ", r.LinksRemoved)}]; " +
        $"changed [{string.Join(", ", r.LinksChanged)}]; restarted {r.PartitionsRestarted}; error {r.Error ?? "none"}";

    public static string Line(this LinkAssignment a) =>
        $"{a.Source}->{a.Destination} v{a.TopologyVersion}: origins [{string.Join(", ", a.Origins)}]; paused [{string.Join(", ", a.Paused)}]";

    public static string Line(this PauseResult r) =>
        $"{r.Region} {r.Link} {r.Topic ?? "*"}: paused {r.Paused}, changed {r.Changed}; error {r.Error ?? "none"}";

    public static string Line(this PartitionStatus s) =>
        $"{s.Topic}/{s.Partition}: {s.State}, replicated {s.RecordsReplicated}, version {s.TopologyVersion}, assigned at {s.AssignedAt:HH:mm:ss.fffffff}; error {s.Error ?? "none"}";
}
