using Mesh.Grains.Tests.InMemory;
using Mesh.Grains.Tests.Infrastructure;

namespace Mesh.Grains.Tests;

/// <summary>
/// The harness of the route-change tests stands in for link a -> h by copying each record of a into h as it
/// produces it. The tests step from two threads at once (a burst while records flow), and h must still hold
/// a's records in a's order, as a real link a -> h writes them: out of order, h -> c would (rightly) skip the
/// record that came second as already applied, and c would miss a record no replicator lost.
/// </summary>
public sealed class HubRegionsTests
{
    [Fact]
    public async Task Steps_from_two_threads_leave_h_holding_a_s_records_once_each_in_a_s_order()
    {
        var world = MeshWorld.Create("c");
        try
        {
            await using var regions = new HubRegions(world);
            using var start = new Barrier(2);
            var steppers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait();
                for (var i = 0; i < 3000; i++) regions.Step();
            })).ToArray();
            await Task.WhenAll(steppers);

            Assert.Empty(regions.HubProblems());
            Assert.All(HubRegions.Partitions, p => Assert.Equal(6000, world.Kafka.Get("a", HubRegions.Orders, p).End));
        }
        finally
        {
            world.Forget();
        }
    }
}
