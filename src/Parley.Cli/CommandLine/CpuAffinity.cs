// `--cpu LIST` for `parley server` and `parley bench`: pin the process to some cores, so a server
// and a load generator on one machine are measured on cores of their own. LIST is the kernel's
// notation (Cpus_allowed_list in /proc/PID/status): "1", "0-1", "0,2-3".
using System.CommandLine;
using System.ComponentModel;
using System.Globalization;
using System.Runtime.InteropServices;
using Parley.Protocol.Text;

namespace Parley.Cli.CommandLine;

internal static class CpuAffinity
{
    /// <summary>The affinity mask is one 64-bit word: CPUs 0-63.</summary>
    public const int MaxCpus = 64;

    public static Option<string?> CreateOption(string what) => new("--cpu")
    {
        Description = $"Pin {what} to these CPUs (a list like 1, 0-1 or 0,2-3), e.g. to measure a server and a load generator on cores of their own",
    };

    /// <summary>Pins the process to the CPUs of a <c>--cpu</c> value (nothing when it was not given); null, or the error in words (a usage error).</summary>
    public static string? PinTo(string? list) => PinTo(list, out _);

    /// <summary>As <see cref="PinTo(string?)"/>; <paramref name="cpus"/> is how many CPUs the process was pinned to, 0 when it was not.</summary>
    public static string? PinTo(string? list, out int cpus)
    {
        cpus = 0;
        if (list is null)
        {
            return null;
        }
        if (!TryParse(list, MachineCpus(), out ulong mask, out string error))
        {
            return error;
        }
        if (Apply(mask) is string failure)
        {
            return failure;
        }
        cpus = System.Numerics.BitOperations.PopCount(mask);
        return null;
    }

    /// <summary>Parses a CPU list; every number must name one of the machine's CPUs (0 to <paramref name="machineCpus"/> - 1).</summary>
    public static bool TryParse(string? text, int machineCpus, out ulong mask, out string error)
    {
        mask = 0;
        error = "";
        string list = text?.Trim() ?? "";
        if (list.Length == 0)
        {
            error = "--cpu: name at least one CPU, e.g. --cpu 1 or --cpu 0-1";
            return false;
        }
        foreach (string part in list.Split(','))
        {
            string[] ends = part.Split('-');
            if (ends.Length > 2 || !TryCpu(ends[0], out int first) || !TryCpu(ends[^1], out int last) || last < first)
            {
                error = $"--cpu: '{UntrustedText.Sanitize(part, 40)}' is not a CPU number or range (a list looks like 1, 0-1 or 0,2-3)";
                return false;
            }
            if (last >= machineCpus || last >= MaxCpus)
            {
                error = $"--cpu: CPU {last} does not exist: this machine has CPUs 0-{Math.Min(machineCpus, MaxCpus) - 1}";
                return false;
            }
            for (int cpu = first; cpu <= last; cpu++)
            {
                mask |= 1UL << cpu;
            }
        }
        return true;
    }

    private static bool TryCpu(string text, out int cpu) =>
        int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out cpu) && cpu < 1 << 16;

    /// <summary>The mask as a CPU list, e.g. 0b1011 as "0-1,3".</summary>
    public static string Describe(ulong mask)
    {
        List<string> parts = [];
        for (int cpu = 0; cpu < MaxCpus; cpu++)
        {
            if ((mask & (1UL << cpu)) == 0)
            {
                continue;
            }
            int last = cpu;
            while (last + 1 < MaxCpus && (mask & (1UL << (last + 1))) != 0)
            {
                last++;
            }
            parts.Add(last == cpu ? cpu.ToString(CultureInfo.InvariantCulture) : $"{cpu}-{last}");
            cpu = last;
        }
        return string.Join(',', parts);
    }

    /// <summary>How many CPUs the machine has (not only those this process may use): /sys's "possible" list on Linux.</summary>
    public static int MachineCpus()
    {
        const string Possible = "/sys/devices/system/cpu/possible";
        if (File.Exists(Possible) && TryParse(File.ReadAllText(Possible), MaxCpus, out ulong mask, out _))
        {
            return MaxCpus - System.Numerics.BitOperations.LeadingZeroCount(mask);
        }
        return Environment.ProcessorCount;
    }

    /// <summary>
    /// Pins the whole process. On Linux an affinity belongs to a thread (Process.ProcessorAffinity
    /// sets only the main thread's, and the runtime's threads already exist), so every thread in
    /// /proc/self/task is set, again until no new thread appeared meanwhile; threads made later
    /// inherit the affinity of the thread that makes them.
    /// </summary>
    /// <returns>null, or what went wrong in words.</returns>
    public static string? Apply(ulong mask)
    {
        if (!OperatingSystem.IsLinux())
        {
            if (!OperatingSystem.IsWindows())
            {
                return "--cpu is supported on Linux and Windows only";
            }
            using System.Diagnostics.Process self = System.Diagnostics.Process.GetCurrentProcess();
            self.ProcessorAffinity = (nint)mask;
            return null;
        }
        HashSet<int> pinned = [];
        while (true)
        {
            bool any = false;
            foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
            {
                if (!int.TryParse(Path.GetFileName(task), NumberStyles.None, CultureInfo.InvariantCulture, out int tid) || !pinned.Add(tid))
                {
                    continue;
                }
                any = true;
                ulong word = mask;
                if (SchedSetAffinity(tid, sizeof(ulong), ref word) != 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    const int NoSuchProcess = 3;
                    if (errno == NoSuchProcess)
                    {
                        continue; // the thread ended meanwhile
                    }
                    return $"--cpu {Describe(mask)}: {new Win32Exception(errno).Message} (CPUs this process may use: {AllowedList("self") ?? "?"})";
                }
            }
            if (!any)
            {
                return null;
            }
        }
    }

    /// <summary>Cpus_allowed_list of a process's main thread (Linux), e.g. "0-1"; null where there is none.</summary>
    public static string? AllowedList(string processId) => AllowedListOf($"/proc/{processId}/status");

    /// <summary>Cpus_allowed_list of every thread of a process (Linux), distinct, e.g. ["1"] when all are pinned to CPU 1.</summary>
    public static IReadOnlyList<string> ThreadAllowedLists(string processId)
    {
        SortedSet<string> lists = new(StringComparer.Ordinal);
        try
        {
            foreach (string task in Directory.EnumerateDirectories($"/proc/{processId}/task"))
            {
                if (AllowedListOf(Path.Combine(task, "status")) is string list)
                {
                    lists.Add(list);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return [.. lists];
    }

    private static string? AllowedListOf(string statusPath)
    {
        try
        {
            string? line = File.ReadLines(statusPath).FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
            return line?["Cpus_allowed_list:".Length..].Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // no /proc, or the thread or process ended
        }
    }

    // DllImport rather than LibraryImport: the source-generated stub would need unsafe code in this
    // project for one blittable call.
    [DllImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SchedSetAffinity(int threadId, nuint size, ref ulong mask);
}
