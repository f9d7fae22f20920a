// `parley server` and `parley bench` run with a 64 MiB first-generation budget for the garbage
// collector instead of the runtime's default (2 MiB on the machines measured). Both allocate at a
// steady rate, a few hundred bytes to 2 KB per message, so with the default the collector ran
// dozens of times a second, and the pages each collection gave back were touched afresh by the next
// allocations (a first touch costs 12 - 31 µs on a PVM guest). Measured at --rate max: the
// server's page faults went from 0.033 to 0.005 per message, madvise calls 935 to 100 per 5 s, and
// its CPU per message fell from a median 12.6 to 10.7 µs over 4 interleaved rounds (decision 0023,
// BENCHMARKS §2 (q)).
//
// The runtime reads this budget from its environment only (DOTNET_GCgen0size; runtimeconfig.json
// has no knob for it), once, before any managed code runs. So these two commands put it in their
// environment and replace themselves with the same program: execve keeps the process id, the
// arguments, the open standard streams and the working directory, so a supervisor, a test or
// `kill` sees one process. It happens at most once: a value already in the environment is kept,
// and 0 there means the runtime's own default (how to opt out).
using System.Runtime.InteropServices;
using System.Text;

namespace Parley.Cli.CommandLine;

internal static class Gen0Budget
{
    internal const string Variable = "DOTNET_GCgen0size";

    /// <summary>64 MiB, in the hexadecimal the runtime reads.</summary>
    internal const string Budget = "0x4000000";

    /// <summary>The older spelling the runtime also reads; a value there is kept too.</summary>
    private const string LegacyVariable = "COMPlus_GCgen0size";

    /// <summary>True when <paramref name="args"/> runs a command that gets the budget and the environment has none yet.</summary>
    internal static bool Applies(string[] args, Func<string, string?> environment) =>
        args.Length > 0
        && args[0] is "server" or "bench"
        && environment(Variable) is null
        && environment(LegacyVariable) is null;

    /// <summary>
    /// On Linux, for the commands that get the budget, replaces this process with the same program
    /// and the budget in its environment; returns only when it did not (another command or system,
    /// a budget already chosen, or an exec that failed: then the process runs on with the default).
    /// Call it first thing in Main, before any thread of ours starts.
    /// </summary>
    internal static void ApplyByReplacingProcess(string[] args)
    {
        if (!OperatingSystem.IsLinux() || !Applies(args, Environment.GetEnvironmentVariable))
        {
            return;
        }
        // The exact bytes this process was started with, not .NET's decoded copies: an argument or
        // a variable that is not valid UTF-8 passes through unchanged.
        List<byte[]> argv;
        List<byte[]> environment;
        try
        {
            argv = SplitAtNul(File.ReadAllBytes("/proc/self/cmdline"));
            environment = SplitAtNul(File.ReadAllBytes("/proc/self/environ"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        // The program's own path, not /proc/self/exe: the kernel names the new image after the
        // path it was given, and `ps`, `pgrep parley` and `top` would show "exe".
        string? program = Environment.ProcessPath;
        if (argv.Count == 0 || program is null || !File.Exists(program))
        {
            return;
        }
        environment.Add(Encoding.ASCII.GetBytes(Variable + "=" + Budget));
        RemoveDiagnosticsSocket();
        Exec(Encoding.UTF8.GetBytes(program), argv, environment);
        // Still here: the exec failed, and the process runs on. Its managed copies go too.
        foreach (byte[] variable in environment)
        {
            Array.Clear(variable);
        }
    }

    /// <summary>
    /// The runtime listens for dotnet-counters and dotnet-trace on a socket named after the process
    /// id and its start time, both of which the exec keeps. Its file would stay behind and make the
    /// new image's listener fail to bind, so it goes first; this image's listener closes with the exec.
    /// </summary>
    private static void RemoveDiagnosticsSocket()
    {
        string folder = Environment.GetEnvironmentVariable("TMPDIR") is { Length: > 0 } tmp ? tmp : "/tmp";
        try
        {
            foreach (string socket in Directory.EnumerateFiles(folder, $"dotnet-diagnostic-{Environment.ProcessId}-*-socket"))
            {
                File.Delete(socket);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only the diagnostics tools lose: the new image runs without their socket.
        }
    }

    /// <summary>The NUL-terminated strings of a /proc file such as cmdline or environ.</summary>
    internal static List<byte[]> SplitAtNul(byte[] content)
    {
        List<byte[]> parts = [];
        int start = 0;
        for (int i = 0; i < content.Length; i++)
        {
            if (content[i] == 0)
            {
                parts.Add(content[start..i]);
                start = i + 1;
            }
        }
        if (start < content.Length)
        {
            parts.Add(content[start..]);
        }
        return parts;
    }

    private static void Exec(byte[] path, List<byte[]> argv, List<byte[]> environment)
    {
        List<(IntPtr Block, int Length)> allocated = [];
        try
        {
            byte[] pathZ = [.. path, 0];
            IntPtr argvBlock = NulTerminatedArray(argv, allocated);
            IntPtr environmentBlock = NulTerminatedArray(environment, allocated);
            // Returns only on failure; then nothing has changed and the process goes on as it was.
            ExecVe(pathZ, argvBlock, environmentBlock);
        }
        finally
        {
            // Reached only when the exec failed. The environment can hold secrets (PGPASSWORD):
            // its copies are wiped before they go back to the allocator.
            foreach ((IntPtr block, int length) in allocated)
            {
                Marshal.Copy(new byte[length], 0, block, length);
                Marshal.FreeHGlobal(block);
            }
        }
    }

    /// <summary>A C array of C strings ending in a null pointer, as execve takes them.</summary>
    private static IntPtr NulTerminatedArray(List<byte[]> strings, List<(IntPtr Block, int Length)> allocated)
    {
        int arrayLength = IntPtr.Size * (strings.Count + 1);
        IntPtr array = Marshal.AllocHGlobal(arrayLength);
        allocated.Add((array, arrayLength));
        for (int i = 0; i < strings.Count; i++)
        {
            IntPtr text = Marshal.AllocHGlobal(strings[i].Length + 1);
            allocated.Add((text, strings[i].Length + 1));
            Marshal.Copy(strings[i], 0, text, strings[i].Length);
            Marshal.WriteByte(text, strings[i].Length, 0);
            Marshal.WriteIntPtr(array, i * IntPtr.Size, text);
        }
        Marshal.WriteIntPtr(array, strings.Count * IntPtr.Size, IntPtr.Zero);
        return array;
    }

    // DllImport rather than LibraryImport, as MemoryTrim's: the generated stub would need unsafe code.
    [DllImport("libc", EntryPoint = "execve", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int ExecVe(byte[] path, IntPtr argv, IntPtr environment);
}
