// The generator stands for thousands of devices in one process, and a login storm's allocations
// land on memory its collector has just committed: every 4 KiB page is touched for the first time
// during the storm. On the PVM guest of BENCHMARKS §2 (p) – (s) that first touch costs 10 – 31 µs:
// 4.4 page faults per resumed login, a fifth of the generator's CPU in the storm that sets the
// login rate (decision 0025). A device's memory is already in use when it logs in; the generator's
// fresh pages are an artefact of simulating many of them in one process (decision 0027).
//
// Two requests to Linux, on the run of anonymous mappings that holds the collector's heap (found in
// /proc/self/maps; the kernel cannot tell the collector's reservation from mappings that happen to
// lie next to it, such as malloc's arenas, so those get the same treatment), neither of which
// changes what the collector does:
// - transparent huge pages (madvise MADV_HUGEPAGE; this machine's policy is "madvise"): one fault
//   per 2 MiB. Touching 256 MiB took 675 ms on 4 KiB pages and 15 ms on huge pages here. Memory the
//   collector decommits is mapped anew and loses the advice, so it is given again before each storm.
// - prefaulting (MADV_POPULATE_WRITE) every committed mapping in the run after the storm's no-GC
//   region began (its room for small and large objects, 1.2 GiB at 8,000 clients) and before the
//   storm's clock starts. Pages already in memory cost only a look; the region's fresh ones are
//   what it is for.
// decision 0025's preparation allocated and collected to the same end, and changed which memory
// the collector kept: at 1,000 clients the first storm then ran on fresh pages. These calls only
// fault in, ahead of time, pages the process has already committed.
// Only the generator does this: the server's memory is what issue 13 measures.
using System.Runtime.InteropServices;

namespace Parley.Bench;

internal static class HeapPages
{
    private const int MadviseHugePage = 14;
    private const int MadvisePopulateWrite = 23;
    private const int NoMemory = 12; // ENOMEM: part of the range was not mapped (the rest was still advised)
    private const int Invalid = 22; // EINVAL: an advice this kernel does not know

    /// <summary>
    /// Asks Linux for transparent huge pages on the heap's run of mappings; returns the bytes
    /// advised, or 0 where that cannot be done (not Linux, no /proc, huge pages off, the kernel refused).
    /// </summary>
    public static long AdviseHuge()
    {
        if (HeapReservation.Find() is not { } reservation || HugePagesOff())
        {
            return 0;
        }
        // A mapping unmapped since the map was read (a thread's stack, an arena) leaves a hole: the rest was still advised.
        return Madvise(reservation.Start, reservation.Length, MadviseHugePage) is 0 or NoMemory ? reservation.Length : 0;
    }

    /// <summary>
    /// Faults in every committed (readable and writable) mapping of the heap's run, unless they
    /// come to more than <paramref name="limit"/> bytes. A mapping the kernel refuses (decommitted
    /// meanwhile) is counted and skipped; a kernel without MADV_POPULATE_WRITE is reported as such.
    /// </summary>
    public static Prefault Populate(long limit)
    {
        if (HeapReservation.Find() is not { } reservation)
        {
            return new Prefault(0, 0, 0, 0);
        }
        long committed = reservation.Writable.Sum(m => m.Length);
        if (committed > limit)
        {
            return new Prefault(committed, 0, 0, 0) { OverLimit = true };
        }
        long populated = 0;
        int refused = 0, lastError = 0;
        foreach (HeapReservation.Mapping mapping in reservation.Writable)
        {
            int error = Madvise(mapping.Start, mapping.Length, MadvisePopulateWrite);
            if (error == 0)
            {
                populated += mapping.Length;
                continue;
            }
            if (error == Invalid && populated == 0 && refused == 0)
            {
                return new Prefault(committed, 0, 0, error);
            }
            refused++;
            lastError = error;
        }
        return new Prefault(committed, populated, refused, lastError);
    }

    /// <summary>The system-wide policy reads "[never]": advice is accepted and ignored.</summary>
    private static bool HugePagesOff()
    {
        try
        {
            return File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled").Contains("[never]", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>0, or the errno of a refused call (-1 where there is no madvise to call).</summary>
    private static int Madvise(ulong start, long length, int advice)
    {
        try
        {
            return NativeMadvise((nint)start, (nuint)length, advice) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return -1;
        }
    }

    // DllImport rather than LibraryImport, as in the server's MemoryTrim: one blittable call.
    [DllImport("libc", EntryPoint = "madvise", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int NativeMadvise(nint address, nuint length, int advice);

    /// <summary>What <see cref="Populate"/> did: of the committed bytes, how many were faulted in, how many mappings were refused and the last errno.</summary>
    internal sealed record Prefault(long CommittedBytes, long PopulatedBytes, int RefusedMappings, int LastError)
    {
        /// <summary>More was committed than the limit: nothing was touched.</summary>
        public bool OverLimit { get; init; }

        /// <summary>This kernel has no MADV_POPULATE_WRITE (before Linux 5.14).</summary>
        public bool Unsupported => PopulatedBytes == 0 && RefusedMappings == 0 && LastError == Invalid;
    }
}
