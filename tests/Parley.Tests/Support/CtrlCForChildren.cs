using System.Runtime.InteropServices;

namespace Parley.Tests.Support;

/// <summary>
/// A test run started in the background by a shell (`dotnet test … &` in a script, as CI systems
/// and nohup do) has SIGINT ignored, and an ignored signal stays ignored in every child across
/// exec: a `parley` started by the tests would then never see Ctrl-C (its /proc status shows SIGINT
/// in SigIgn), and the tests of what Ctrl-C does would hang. The test process takes SIGINT's default
/// back before it starts each child, as a run from a terminal has it. Nothing else is changed: a
/// handler already installed (by .NET or anyone) is left in place.
/// </summary>
internal static class CtrlCForChildren
{
    private const int Sigint = 2;
    private static readonly nint s_ignore = 1;
    private static readonly nint s_default = 0;
    private static readonly Lock s_lock = new();

    /// <summary>Called before each child starts: code run in this process may have put SIGINT back to ignored meanwhile.</summary>
    public static void Ensure()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        lock (s_lock)
        {
            nint previous = Signal(Sigint, s_default);
            if (previous != s_ignore)
            {
                Signal(Sigint, previous);
            }
        }
    }

    [DllImport("libc", EntryPoint = "signal")]
    private static extern nint Signal(int signal, nint handler);
}
