// Gives memory the process no longer uses back to the system: a full, compacting collection that
// decommits what it frees (the garbage of a login storm otherwise waits, committed, for
// allocations that an idle server does not make) and, on Linux with glibc, malloc_trim(0), which
// returns the free pages of every malloc arena (glibc keeps them after a storm of frees;
// elsewhere this part does nothing).
// Called by QuietMemoryTrim only: it pauses the process for a full collection (tens of ms with
// 10,000 connections).
using System.Runtime.InteropServices;

namespace Parley.Server.Hosting;

internal static class MemoryTrim
{
    private static bool s_nativeTrimMissing;

    public static void Run()
    {
        // Aggressive, not only forced: it also decommits the free regions and resets the
        // allocation budgets, which is where most of the storm's committed memory sits (measured:
        // a forced collection alone gave nothing back, docs/decisions/0013 §4).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        TrimNativeHeap();
    }

    /// <summary>malloc_trim(0) where there is one (glibc); false where there is none (Windows, macOS, musl).</summary>
    public static bool TrimNativeHeap()
    {
        if (!OperatingSystem.IsLinux() || Volatile.Read(ref s_nativeTrimMissing))
        {
            return false;
        }
        try
        {
            MallocTrim(0);
            return true;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            Volatile.Write(ref s_nativeTrimMissing, true);
            return false;
        }
    }

    // DllImport rather than LibraryImport: the source-generated stub would need unsafe code in this
    // project for one blittable call.
    [DllImport("libc", EntryPoint = "malloc_trim")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int MallocTrim(nuint pad);
}
