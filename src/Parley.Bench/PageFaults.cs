// Page faults a process has taken, read from /proc. On a virtual machine whose first touch of a fresh
// page costs tens of microseconds (BENCHMARKS §2 (p)), a login or message that touches new memory
// pays for it in the kernel, where neither the allocation count nor a managed profile shows it.
using System.Globalization;

namespace Parley.Bench;

internal static class PageFaults
{
    /// <summary>Minor + major faults of <paramref name="processId"/> (this process when null), or null where /proc cannot tell.</summary>
    public static long? Of(int? processId)
    {
        string path = processId is int pid ? $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat" : "/proc/self/stat";
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>minflt (field 10) + majflt (field 12) of a /proc/PID/stat line; fields are counted after the command's closing parenthesis, which may itself contain spaces.</summary>
    internal static long? Parse(string stat)
    {
        int close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }
        string[] fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state), so field N is fields[N - 3].
        if (fields.Length < 10
            || !long.TryParse(fields[10 - 3], NumberStyles.None, CultureInfo.InvariantCulture, out long minor)
            || !long.TryParse(fields[12 - 3], NumberStyles.None, CultureInfo.InvariantCulture, out long major))
        {
            return null;
        }
        return minor + major;
    }
}
