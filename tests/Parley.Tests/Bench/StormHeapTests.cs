using System.Runtime;
using Parley.Bench;

namespace Parley.Tests.Bench;

/// <summary>
/// The generator holds its collections off during a login storm (a no-GC region sized to it). The
/// region is process-wide, so these run apart from the other tests, which would otherwise end it
/// early or find one already open.
/// </summary>
[Collection(StormHeapCollection.Name)]
public class StormHeapTests
{
    [Fact]
    public void A_held_storm_runs_in_a_no_gc_region_sized_to_its_clients_and_ends_it()
    {
        using (StormHeap heap = StormHeap.Hold(clients: 1_000, enabled: true))
        {
            Assert.Equal(1_000 * StormHeap.BytesPerClient, heap.HeldBytes);
            Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
            int before = GC.CollectionCount(0);
            byte[][] garbage = Enumerable.Range(0, 1_000).Select(_ => new byte[8 * 1024]).ToArray();
            Assert.Equal(before, GC.CollectionCount(0));
            GC.KeepAlive(garbage);
        }
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }

    [Fact]
    public void Disabled_or_empty_storms_hold_nothing()
    {
        GCLatencyMode mode = GCSettings.LatencyMode;
        using (StormHeap off = StormHeap.Hold(clients: 1_000, enabled: false))
        {
            Assert.Equal(0, off.HeldBytes);
            Assert.Equal(mode, GCSettings.LatencyMode);
        }
        using StormHeap none = StormHeap.Hold(clients: 0, enabled: true);
        Assert.Equal(0, none.HeldBytes);
    }

    [Fact]
    public void A_storm_that_outgrows_its_region_collects_and_ends_without_an_error()
    {
        using (StormHeap heap = StormHeap.Hold(clients: 1, enabled: true))
        {
            Assert.True(heap.HeldBytes > 0);
            // Four times the smallest region (16 MiB): the runtime collects and leaves the region by itself.
            for (int i = 0; i < 64; i++)
            {
                GC.KeepAlive(new byte[1 << 20]);
            }
            Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        }
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }

    [Fact]
    public void A_huge_storm_holds_at_most_the_largest_region()
    {
        using StormHeap heap = StormHeap.Hold(clients: 1_000_000, enabled: true);
        Assert.Equal(StormHeap.LargestRegion, heap.HeldBytes);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StormHeapCollection
{
    public const string Name = "no-GC regions (process-wide)";
}
