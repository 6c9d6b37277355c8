using System.Text;
using Mesh.Core.Replication;
using Mesh.Core.Tests.Topology;
using Mesh.Core.Topology;

namespace Mesh.Core.Tests.Replication;

/// <summary>
/// Regions in a full mesh or hub and spoke, one partition each. Producers and replication batches
/// interleave at random, with links lagging by random amounts; then one region loses its Kafka (its
/// log is gone and it comes back as a new incarnation) while traffic goes on. Its inbound links start
/// afresh (their checkpoints were in its Kafka), the one whose source holds the most of its past
/// writes that back, and its peers read its new log from the start. Once drained, every region must
/// hold exactly the same records, each once, in per-origin order, including every record of the
/// lost region that any survivor held when it was lost.
/// </summary>
public sealed class RegionLossSimulationTests
{
    private const string Topic = "orders";
    private const int Partition = 0;

    public static IEnumerable<object[]> Seeds => Enumerable.Range(0, 150).Select(s => new object[] { s });

    [Theory]
    [MemberData(nameof(Seeds))]
    public void A_lost_region_is_rebuilt_with_everything_any_survivor_held_and_every_region_ends_identical(int seed)
    {
        var topology = (seed % 3) switch
        {
            0 => TopologyBuilder.Build(TopologyPattern.HubSpoke, "r1,r2,r3,r4", hub: "r2"),
            1 => TopologyBuilder.Build(TopologyPattern.Mesh, "r1,r2,r3,r4"),
            _ => TopologyBuilder.Build(TopologyPattern.Mesh, "r1,r2,r3"),
        };
        var sim = new Simulation(seed, topology);
        sim.Run(steps: 150 + seed % 100);
        var lost = sim.Regions[seed % sim.Regions.Length];
        var heldAtLoss = sim.LoseKafka(lost);
        sim.Run(steps: 100 + seed % 80);
        sim.Drain();

        var identities = sim.Regions.ToDictionary(r => r, sim.Identities);
        foreach (var (region, held) in identities)
        {
            var duplicates = held.GroupBy(i => i).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            Assert.True(duplicates.Count == 0, $"seed {seed}: {region} holds {string.Join(", ", duplicates.Take(5))} more than once");
            foreach (var stream in held.GroupBy(i => (i.Origin, i.Incarnation)))
            {
                var offsets = stream.Select(i => i.Offset).ToList();
                Assert.True(offsets.SequenceEqual(offsets.Order()), $"seed {seed}: {region} holds {stream.Key} out of origin order");
            }
        }
        var reference = identities[sim.Regions[0]].ToHashSet();
        foreach (var (region, held) in identities)
            Assert.True(reference.SetEquals(held), $"seed {seed}: {region} differs from {sim.Regions[0]} " +
                $"(missing {string.Join(", ", reference.Except(held).Take(5))}; extra {string.Join(", ", held.Except(reference).Take(5))})");
        // The past that survived: every record of the lost region's earlier incarnation some survivor held.
        Assert.True(heldAtLoss.SetEquals(reference.Where(i => i.Origin == lost && i.Incarnation == sim.OldIncarnation)),
            $"seed {seed}: {lost}'s earlier records after the rebuild are not exactly those the survivors held");
        Assert.True(heldAtLoss.Count > 0 || sim.Produced(lost, sim.OldIncarnation) == 0, $"seed {seed}: no survivor held any of {lost}'s records");
    }

    private readonly record struct Identity(string Origin, string Incarnation, long Offset)
    {
        public override string ToString() => $"{Origin}@{Incarnation}:{Offset}";
    }

    private sealed class Link(LinkPlan plan)
    {
        public LinkPlan Plan { get; } = plan;
        public PartitionReplication Live { get; set; } = null!;
        public override string ToString() => Plan.Key;
    }

    private sealed class Simulation
    {
        private readonly Random _random;
        private readonly Mesh.Core.Topology.Topology _topology;
        private readonly Dictionary<string, List<SourceRecord>> _logs = [];
        private readonly Dictionary<string, string> _incarnations = [];
        private readonly Dictionary<string, int> _sequences = [];
        private readonly List<Link> _links;
        // Each link lags by its own amount: it is picked with its own weight.
        private readonly Dictionary<Link, int> _weights = [];
        private string? _lost;

        public Simulation(int seed, Mesh.Core.Topology.Topology topology)
        {
            _random = new Random(seed);
            _topology = topology;
            Regions = [.. topology.Regions.Select(r => r.Id).Order(StringComparer.Ordinal)];
            foreach (var region in Regions)
            {
                _logs[region] = [];
                _incarnations[region] = Incarnations.FromClusterId($"{region}-first");
            }
            _links = [.. Regions.SelectMany(r => RegionPlan.For(topology, r).Where(p => p.To == r)).Select(p => new Link(p))];
            foreach (var link in _links)
            {
                link.Live = Fresh(link);
                _weights[link] = 1 + _random.Next(6);
            }
        }

        public string[] Regions { get; }

        public string OldIncarnation { get; private set; } = "";

        public int Produced(string region, string incarnation) =>
            _logs.Values.SelectMany(l => l).Count(r => Encoding.UTF8.GetString(r.Value!).StartsWith($"{region}@{incarnation}:", StringComparison.Ordinal));

        public void Run(int steps)
        {
            for (var i = 0; i < steps; i++)
            {
                if (_random.Next(3) == 0) Produce(Regions[_random.Next(Regions.Length)]);
                else Replicate(PickLink(), _random.Next(1, 8));
            }
        }

        public void Drain()
        {
            for (var round = 0; round < 1000; round++)
                if (_links.Sum(l => Replicate(l, int.MaxValue)) == 0) return;
            Assert.Fail("the mesh did not quiesce");
        }

        /// <summary>The region's log and checkpoints are gone; returns what survivors held of its records.</summary>
        public HashSet<Identity> LoseKafka(string region)
        {
            _lost = region;
            OldIncarnation = _incarnations[region];
            var held = Regions.Where(r => r != region).SelectMany(Identities).Where(i => i.Origin == region && i.Incarnation == OldIncarnation).ToHashSet();
            _logs[region] = [];
            _incarnations[region] = Incarnations.FromClusterId($"{region}-second");
            foreach (var link in _links)
            {
                if (link.Plan.To == region)
                {
                    link.Live.Dispose();
                    link.Live = Fresh(link);
                }
                else if (link.Plan.From == region)
                {
                    // As the replicator does when its source came back as a new cluster: the new log from offset 0, the vector kept.
                    var checkpoint = link.Live.Checkpoint() with { NextSourceOffset = 0, SourceIncarnation = _incarnations[region] };
                    link.Live.Dispose();
                    link.Live = New(link, checkpoint.Carried!, checkpoint);
                }
            }
            return held;
        }

        /// <summary>Every record's identity: its trusted provenance, or the region's own record at its offset.</summary>
        public List<Identity> Identities(string region) =>
        [
            .. _logs[region].Select(record =>
                ProvenanceTrust.Read(record, region, Topic, Partition, signer: null, readFromIncarnation: _incarnations[region]).Trusted is { } p
                    ? new Identity(p.OriginRegion, p.OriginIncarnation, p.OriginOffset)
                    : new Identity(region, _incarnations[region], record.Offset)),
        ];

        private Link PickLink()
        {
            var total = _weights.Values.Sum();
            var pick = _random.Next(total);
            foreach (var (link, weight) in _weights)
            {
                if (pick < weight) return link;
                pick -= weight;
            }
            return _links[^1];
        }

        private void Produce(string region)
        {
            var log = _logs[region];
            var sequence = _sequences[region] = _sequences.GetValueOrDefault(region) + 1;
            var value = Encoding.UTF8.GetBytes($"{region}@{_incarnations[region]}:{sequence}");
            log.Add(new SourceRecord(log.Count, value, value, 1_700_000_000_000 + sequence, []));
        }

        /// <summary>A first start (or one after the destination lost its data): the whole destination read back, the past's carrier decided.</summary>
        private PartitionReplication Fresh(Link link)
        {
            var carried = OriginSet.Of(link.Plan.Origins);
            if (link.Plan.OwnPast && Carrier(link.Plan.To) == link.Plan.From) carried = carried.Union(OriginSet.Of([link.Plan.To]));
            var live = New(link, carried, ReplicationCheckpoint.Start(0, _incarnations[link.Plan.From], _incarnations[link.Plan.To], carried));
            foreach (var record in _logs[link.Plan.To]) live.Observe(record);
            live.ObservedUpTo(_logs[link.Plan.To].Count);
            return live;
        }

        private string? Carrier(string destination) =>
            OwnPast.Carrier(RegionPlan.OwnPastSources(_topology, destination).ToDictionary(source => source, source =>
                _logs[source].Select(r => OwnPast.OffsetOf(r, source, _incarnations[source], Topic, Partition, null, destination, _incarnations[destination]))
                    .OfType<long>().DefaultIfEmpty(-1).Max()));

        private PartitionReplication New(Link link, OriginSet carried, ReplicationCheckpoint start) =>
            new(link.Plan.From, link.Plan.To, Topic, Topic, Partition, NamingPolicy.Identity, carried, ReplicationPolicy.Default, start);

        private int Replicate(Link link, int maxBatch)
        {
            var source = _logs[link.Plan.From];
            var destination = _logs[link.Plan.To];
            var live = link.Live;
            var from = (int)live.NextSourceOffset;
            var count = Math.Min(maxBatch, source.Count - from);
            if (count <= 0) return 0;
            var plan = live.Plan(source.GetRange(from, count));
            Assert.Null(plan.Held);
            foreach (var outbound in plan.Outbound)
                destination.Add(new SourceRecord(destination.Count, outbound.Key, outbound.Value, outbound.TimestampMs, outbound.Headers));
            live.Commit(plan, plan.Outbound.Count > 0 ? destination.Count : live.DestinationEndOffset);
            return plan.Outbound.Count;
        }
    }
}
