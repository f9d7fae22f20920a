using System.Diagnostics;
using System.Text;

namespace Parley.Tests.Support;

/// <summary>
/// A real pseudo-terminal for end-to-end tests of `parley chat`: a tmux session on a tmux server
/// of its own (so tests never meet each other's or a user's sessions), keys sent as a user types
/// them, and the screen read back with capture-pane. Waiting polls the screen for what is
/// expected, up to a generous timeout; nothing waits a fixed time.
/// </summary>
public sealed class TmuxTerminal : IDisposable
{
    private readonly string _socket = "parley-test-" + Guid.NewGuid().ToString("N")[..12];
    private const string Target = "chat";

    private TmuxTerminal()
    {
    }

    public static bool Available => Run(null, "-V").ExitCode == 0;

    /// <summary>
    /// Starts the `parley` executable with <paramref name="args"/> in a <paramref name="width"/>×<paramref name="height"/>
    /// terminal. When it exits, the pane prints <c>[exit N]</c> on a line of its own and then reads
    /// one line back (<c>[read …]</c>), so a test can see the exit status, where the shell's next
    /// output lands, and whether a line typed after the exit reaches the shell.
    /// </summary>
    public static TmuxTerminal Start(string workingDirectory, IReadOnlyDictionary<string, string> environment, int width, int height, params string[] args)
    {
        TmuxTerminal terminal = new();
        StringBuilder command = new("exec env DOTNET_NOLOGO=1");
        foreach ((string key, string value) in environment)
        {
            command.Append(' ').Append(key).Append('=').Append(Quote(value));
        }
        command.Append(" sh -c ").Append(Quote(
            // A handler (not an ignore, which the child would inherit) keeps the shell alive through
            // a Ctrl-C meant for parley, so it can report the exit status.
            "trap : INT; cd " + Quote(workingDirectory) + "; dotnet " + Quote(ParleyProcess.ExecutablePath) + " " + string.Join(' ', args.Select(Quote))
            + "; echo \"[exit $?]\"; read line; echo \"[read $line]\"; exec sleep 3600"));
        (int code, string output) = Run(terminal._socket, "new-session", "-d", "-s", Target, "-x", width.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-y", height.ToString(System.Globalization.CultureInfo.InvariantCulture), command.ToString());
        if (code != 0)
        {
            throw new InvalidOperationException("tmux new-session failed: " + output);
        }
        // The window keeps the size asked for, whatever clients attach (none do).
        Run(terminal._socket, "set-option", "-t", Target, "window-size", "manual");
        return terminal;
    }

    /// <summary>Keys by tmux name: "Enter", "BSpace", "Left", "C-a", "Tab", "Up".</summary>
    public void Keys(params string[] keys) => Check(Run(_socket, ["send-keys", "-t", Target, .. keys]));

    /// <summary>Text typed literally, character by character as a user types it.</summary>
    public void Type(string text) => Check(Run(_socket, "send-keys", "-t", Target, "-l", text));

    /// <summary>The visible screen, one string per row (trailing blanks trimmed).</summary>
    public string[] Screen() => Capture("-p").Split('\n').Select(row => row.TrimEnd()).ToArray();

    /// <summary>The screen with each line the terminal wrapped joined back into one.</summary>
    public string Joined() => Capture("-p", "-J");

    /// <summary>The screen with its colour escape sequences.</summary>
    public string WithEscapes() => Capture("-p", "-e");

    public (int Column, int Row) CursorPosition()
    {
        string[] parts = Run(_socket, "display-message", "-p", "-t", Target, "#{cursor_x} #{cursor_y}").Output.Trim().Split(' ');
        return (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    public void Resize(int width, int height) => Check(Run(_socket, "resize-window", "-t", Target,
        "-x", width.ToString(System.Globalization.CultureInfo.InvariantCulture), "-y", height.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>Polls the screen until <paramref name="ready"/> holds; returns that screen.</summary>
    public async Task<string[]> WaitForAsync(Func<string[], bool> ready, string what, TimeSpan? timeout = null)
    {
        Stopwatch clock = Stopwatch.StartNew();
        TimeSpan limit = timeout ?? TestTimeouts.Event;
        while (true)
        {
            string[] screen = Screen();
            if (ready(screen))
            {
                return screen;
            }
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"the screen never showed {what} within {limit.TotalSeconds} s:\n{string.Join('\n', screen)}");
            }
            await Task.Delay(25);
        }
    }

    /// <summary>Waits for a row that contains <paramref name="text"/>; returns the row.</summary>
    public async Task<string> WaitForRowAsync(string text, TimeSpan? timeout = null)
    {
        string[] screen = await WaitForAsync(rows => rows.Any(row => row.Contains(text, StringComparison.Ordinal)), $"'{text}'", timeout);
        return screen.Last(row => row.Contains(text, StringComparison.Ordinal));
    }

    private string Capture(params string[] options)
    {
        (int code, string output) = Run(_socket, ["capture-pane", "-t", Target, .. options]);
        Check((code, output));
        return output;
    }

    private static void Check((int ExitCode, string Output) result)
    {
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException("tmux failed: " + result.Output);
        }
    }

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static (int ExitCode, string Output) Run(string? socket, params string[] args)
    {
        ProcessStartInfo info = new("tmux")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (socket is not null)
        {
            info.ArgumentList.Add("-L");
            info.ArgumentList.Add(socket);
        }
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        try
        {
            using Process process = Process.Start(info)!;
            string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    public void Dispose() => Run(_socket, "kill-server");
}
