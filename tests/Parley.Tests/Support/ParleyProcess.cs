using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Parley.Tests.Support;

/// <summary>
/// The real <c>parley</c> executable (built next to the tests) as a child process: stdin to write,
/// stdout lines to wait for. Waiting is on the lines themselves, never on sleeps.
/// </summary>
public sealed class ParleyProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private ParleyProcess(Process process) => _process = process;

    public static string ExecutablePath => Path.Combine(AppContext.BaseDirectory, "parley.dll");

    public static ParleyProcess Start(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        ProcessStartInfo info = new("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(ExecutablePath);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        Process process = new() { StartInfo = info, EnableRaisingEvents = true };
        CtrlCForChildren.Ensure();
        ParleyProcess parley = new(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                parley._lines.Writer.TryComplete();
                return;
            }
            lock (parley._stdout)
            {
                parley._stdout.AppendLine(e.Data);
            }
            parley._lines.Writer.TryWrite(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (parley._stderr)
                {
                    parley._stderr.AppendLine(e.Data);
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return parley;
    }

    /// <summary>Runs to completion and returns the exit code with all output.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string workingDirectory, params string[] args)
    {
        await using ParleyProcess process = Start(workingDirectory, null, args);
        process._process.StandardInput.Close();
        int code = await process.WaitForExitAsync();
        return (code, process.Stdout, process.Stderr);
    }

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public int ProcessId => _process.Id;

    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Waits for a stdout line containing <paramref name="text"/>; returns it.</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan? timeout = null)
    {
        using CancellationTokenSource cts = new(timeout ?? TestTimeouts.Event);
        try
        {
            await foreach (string line in _lines.Reader.ReadAllAsync(cts.Token))
            {
                if (line.Contains(text, StringComparison.Ordinal))
                {
                    return line;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        throw new TimeoutException($"no line containing '{text}'.\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}");
    }

    public async Task<int> WaitForExitAsync()
    {
        using CancellationTokenSource cts = new(TestTimeouts.Event);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public void Kill() => _process.Kill(entireProcessTree: true);

    private bool _disposed;

    /// <summary>Kills the process if it still runs. Safe to call again: a test that restarts a server disposes the old one early, and its finally must not hide the real failure.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
