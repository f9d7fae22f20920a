// The generator stands for thousands of devices in one process, and a login storm's allocations
// land on memory its collector has just committed: every 4 KiB page is touched for the first time
// during the storm. On the PVM guest of BENCHMARKS §2 (p) – (s) that first touch costs 10 – 31 µs:
// 4.4 page faults per resumed login, a fifth of the generator's CPU in the storm that sets the
// login rate (decision 0025). A device's memory is already in use when it logs in; the generator's
// fresh pages are an artefact of simulating many of them in one process (decision 0027).
//
// Two requests to Linux, on the collector's reservation only (found in /proc/self/maps), neither
// of which changes what the collector does:
// - transparent huge pages (madvise MADV_HUGEPAGE; this machine's policy is "madvise"): one fault
//   per 2 MiB. Touching 256 MiB took 675 ms on 4 KiB pages and 15 ms on huge pages here. Memory the
//   collector decommits is mapped anew and loses the advice, so it is given again before each storm.
// - prefaulting (MADV_POPULATE_WRITE) what the collector has committed for the storm, after its
//   no-GC region began and before the storm's clock starts.
// decision 0025's preparation allocated and collected to the same end, and changed which memory
// the collector kept: at 1,000 clients the first storm then ran on fresh pages. These calls only
// fault in, ahead of time, pages the collector has already committed.
// Only the generator does this: the server's memory is what issue 13 measures.
using System.Runtime.InteropServices;

namespace Parley.Bench;

internal static class HeapPages
{
    private const int MadviseHugePage = 14;
    private const int MadvisePopulateWrite = 23;

    /// <summary>
    /// Asks Linux for transparent huge pages on the collector's reservation; returns the bytes
    /// advised, or 0 where that cannot be done (not Linux, no /proc, the kernel refused).
    /// </summary>
    public static long AdviseHuge()
    {
        if (HeapReservation.Find() is not { } reservation)
        {
            return 0;
        }
        return Madvise(reservation.Start, reservation.Length, MadviseHugePage) ? reservation.Length : 0;
    }

    /// <summary>
    /// Faults in every page the collector has committed (its readable and writable mappings in the
    /// reservation), unless that is more than <paramref name="limit"/> bytes; returns the bytes
    /// populated, 0 where nothing was (too much, not Linux, or a kernel without MADV_POPULATE_WRITE).
    /// </summary>
    public static long Populate(long limit)
    {
        if (HeapReservation.Find() is not { } reservation)
        {
            return 0;
        }
        long committed = reservation.Writable.Sum(m => m.Length);
        if (committed > limit)
        {
            return 0;
        }
        long populated = 0;
        foreach (HeapReservation.Mapping mapping in reservation.Writable)
        {
            if (!Madvise(mapping.Start, mapping.Length, MadvisePopulateWrite))
            {
                break;
            }
            populated += mapping.Length;
        }
        return populated;
    }

    private static bool Madvise(ulong start, long length, int advice)
    {
        try
        {
            return NativeMadvise((nint)start, (nuint)length, advice) == 0;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    // DllImport rather than LibraryImport, as in the server's MemoryTrim: one blittable call.
    [DllImport("libc", EntryPoint = "madvise", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int NativeMadvise(nint address, nuint length, int advice);
}
