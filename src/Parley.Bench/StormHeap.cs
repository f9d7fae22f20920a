// A login storm's clients stand for thousands of devices, each with a heap of its own. In the one
// generator process their connections all stay alive, so every gen0 collection during a storm
// copies the state of every client that logged in since the previous one, with all the generator's
// threads stopped: 0.25 s of a 2.1 s storm of 8,000 clients (BENCHMARKS §2 (n)), in which the
// server waits for logins the generator cannot send. That pause belongs to the simulation, not to
// the server under test. A storm's garbage is bounded (its clients × what one login allocates,
// ~22 kB), so the generator collects before the storm and holds collections off until it ends: a
// no-GC region sized to the storm. Its pauses and collections are still counted (CpuUsage), and
// `--collect-during-storms` runs a storm as before.
using System.Runtime;

namespace Parley.Bench;

internal sealed class StormHeap : IDisposable
{
    /// <summary>Room per client: three times what a login allocates today, so a storm ends inside its region.</summary>
    internal const long BytesPerClient = 64 * 1024;

    private const long SmallestRegion = 16L << 20;

    // The runtime commits what a region asks for (it granted 16 GiB here); a storm larger than this
    // outgrows its region, collects once and goes on as usual.
    internal const long LargestRegion = 1L << 30;

    private StormHeap(long heldBytes) => HeldBytes = heldBytes;

    /// <summary>The no-GC region's size; 0 when collections were not held off.</summary>
    public long HeldBytes { get; }

    /// <summary>Collects, then holds collections off for what <paramref name="clients"/> logins allocate (at most <see cref="LargestRegion"/>).</summary>
    public static StormHeap Hold(int clients, bool enabled)
    {
        if (!enabled || clients <= 0 || GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            return new StormHeap(0);
        }
        long bytes = Math.Clamp(clients * BytesPerClient, SmallestRegion, LargestRegion);
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
