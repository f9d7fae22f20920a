// A login storm's clients stand for thousands of devices, each with a heap of its own. In the one
// generator process their connections all stay alive, so every gen0 collection during a storm
// copies the state of every client that logged in since the previous one, with all the generator's
// threads stopped: 0.25 s of a 2.1 s storm of 8,000 clients (BENCHMARKS §2 (n)), in which the
// server waits for logins the generator cannot send. That pause belongs to the simulation, not to
// the server under test. A storm's garbage is bounded (its clients × what one login allocates,
// ~19 kB), so the generator collects before the storm and holds collections off until it ends: a
// no-GC region sized to the storm. Its pauses and collections are still counted (CpuUsage), and
// `--collect-during-storms` runs a storm as before.
//
// The same goes for the memory itself. A device's memory is already in use when it logs in; the
// generator's is fresh, and on a machine where the first touch of a page costs 12 – 31 µs
// (BENCHMARKS §2 (p)) that was 4.4 – 4.7 page faults per resumed login, ~20% of the generator's
// CPU in a storm. So before the clock starts the generator touches as much memory as the storm will
// use and hands it back to the collector, which keeps it for the region (BENCHMARKS §2 (s)).
using System.Runtime;

namespace Parley.Bench;

internal sealed class StormHeap : IDisposable
{
    /// <summary>Room per client: three times what a login allocates today, so a storm ends inside its region.</summary>
    internal const long BytesPerClient = 64 * 1024;

    private const long SmallestRegion = 16L << 20;

    /// <summary>Memory touched before a storm, per client: a little more than a login allocates today (~19 kB).</summary>
    internal const long TouchedPerClient = 24 * 1024;

    /// <summary>Small enough for the small-object heap, where a storm's allocations go.</summary>
    private const int TouchBlock = 8 * 1024;

    // The runtime commits what a region asks for (it granted 16 GiB here); a storm larger than this
    // outgrows its region, collects once and goes on as usual.
    internal const long LargestRegion = 1L << 30;

    private StormHeap(long heldBytes) => HeldBytes = heldBytes;

    /// <summary>The no-GC region's size; 0 when collections were not held off.</summary>
    public long HeldBytes { get; }

    /// <summary>
    /// Touches and gives back the memory <paramref name="clients"/> logins will use, collects, then
    /// holds collections off for what they allocate (at most <see cref="LargestRegion"/>).
    /// </summary>
    public static StormHeap Hold(int clients, bool enabled)
    {
        if (!enabled || clients <= 0 || GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            return new StormHeap(0);
        }
        long bytes = Math.Clamp(clients * BytesPerClient, SmallestRegion, LargestRegion);
        TouchAndGiveBack(Math.Min(clients * TouchedPerClient, LargestRegion));
        // The runtime starts a region without collecting when it can find room elsewhere, and it
        // can: it reserves far more than it commits. The previous storm's closed clients would stay
        // on the heap and this storm would run on fresh pages, so the generator collects first.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        try
        {
            return new StormHeap(GC.TryStartNoGCRegion(bytes) ? bytes : 0);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
        {
            // More than this runtime's configuration allows, or another region began meanwhile.
            return new StormHeap(0);
        }
    }

    /// <summary>
    /// Allocates <paramref name="bytes"/> in small blocks (the allocator zeroes them, touching every
    /// page) and lets go of them, so the collection before the region frees pages that are resident.
    /// </summary>
    private static void TouchAndGiveBack(long bytes)
    {
        byte[][] blocks = new byte[bytes / TouchBlock][];
        for (int i = 0; i < blocks.Length; i++)
        {
            blocks[i] = new byte[TouchBlock];
        }
        // The collector gives back to the system an amount that grows with the time since its last
        // collection (for a workstation heap). Collecting once while the blocks are still alive
        // spends that allowance, so the full collection that frees them, moments later, keeps them.
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        GC.KeepAlive(blocks);
    }

    public void Dispose()
    {
        // The region ends by itself when the storm allocated more than it held; ending it then would throw.
        if (HeldBytes > 0 && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            try
            {
                GC.EndNoGCRegion();
            }
            catch (InvalidOperationException)
            {
                // It ended meanwhile: outgrown, or a collection was induced.
            }
        }
    }
}
