// CPU time spent by the server and by the generator itself over the windows in which the counted
// messages were sent and delivered, so a run can say what one delivered message costs each side.
// A message run's windows exclude the login storm and the closing of connections: they are the send
// phase and the drain that follows it (until the last acknowledged message arrived or the drain
// timed out). A login storm has a meter of its own, whose window is the storm, "message" reading "login".
using System.Diagnostics;

namespace Parley.Bench;

internal sealed class CpuMeter(int? serverProcessId)
{
    private readonly Stopwatch _wall = new();
    private TimeSpan _generator;
    private TimeSpan? _server = serverProcessId is null ? null : TimeSpan.Zero;
    private TimeSpan _generatorAtStart;
    private long _allocated;
    private long _allocatedAtStart;
    private TimeSpan _gcPaused;
    private TimeSpan _gcPausedAtStart;
    private int _gcCount;
    private int _gcCountAtStart;
    private TimeSpan? _serverAtStart;
    private long? _generatorFaults = 0;
    private long? _generatorFaultsAtStart;
    private long? _serverFaults = serverProcessId is null ? null : 0;
    private long? _serverFaultsAtStart;

    /// <summary>Opens a measured window (windows add up: the burst scenario has two).</summary>
    public void Start()
    {
        _serverAtStart = ServerCpu();
        _generatorAtStart = GeneratorCpu();
        _allocatedAtStart = GC.GetTotalAllocatedBytes();
        _gcPausedAtStart = GC.GetTotalPauseDuration();
        _gcCountAtStart = GC.CollectionCount(0);
        _generatorFaultsAtStart = PageFaults.Of(null);
        _serverFaultsAtStart = serverProcessId is null ? null : PageFaults.Of(serverProcessId);
        _wall.Start();
    }

    public void Stop()
    {
        _wall.Stop();
        _generator += GeneratorCpu() - _generatorAtStart;
        _allocated += GC.GetTotalAllocatedBytes() - _allocatedAtStart;
        _gcPaused += GC.GetTotalPauseDuration() - _gcPausedAtStart;
        _gcCount += GC.CollectionCount(0) - _gcCountAtStart;
        _generatorFaults = Add(_generatorFaults, _generatorFaultsAtStart, PageFaults.Of(null));
        _serverFaults = Add(_serverFaults, _serverFaultsAtStart, serverProcessId is null ? null : PageFaults.Of(serverProcessId));
        TimeSpan? serverNow = ServerCpu();
        // A server that exited (or whose /proc entry we cannot read) during the window has no figure.
        _server = _server is TimeSpan total && _serverAtStart is TimeSpan start && serverNow is TimeSpan end ? total + (end - start) : null;
    }

    public CpuUsage Summarise(long delivered)
    {
        double seconds = _wall.Elapsed.TotalSeconds;
        double generator = _generator.TotalSeconds;
        double? server = _server?.TotalSeconds;
        return new CpuUsage
        {
            WindowSeconds = seconds,
            GeneratorSeconds = generator,
            GeneratorCores = seconds > 0 ? generator / seconds : 0,
            GeneratorMicrosecondsPerMessage = delivered > 0 ? generator * 1e6 / delivered : null,
            GeneratorBytesAllocatedPerMessage = delivered > 0 ? (double)_allocated / delivered : null,
            GeneratorGcPauseSeconds = _gcPaused.TotalSeconds,
            GeneratorCollections = _gcCount,
            ServerSeconds = server,
            ServerCores = server is double s && seconds > 0 ? s / seconds : null,
            ServerMicrosecondsPerMessage = server is double t && delivered > 0 ? t * 1e6 / delivered : null,
            GeneratorPageFaultsPerMessage = _generatorFaults is long g && delivered > 0 ? (double)g / delivered : null,
            ServerPageFaultsPerMessage = _serverFaults is long f && delivered > 0 ? (double)f / delivered : null,
        };
    }

    /// <summary>A window's count added to the total; unknown once any reading was missing.</summary>
    private static long? Add(long? total, long? start, long? end) =>
        total is long t && start is long s && end is long e ? t + (e - s) : null;

    /// <summary>This process's user+system time, all threads.</summary>
    private static TimeSpan GeneratorCpu()
    {
        using Process self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>
    /// The server's user+system time, all threads: on Linux .NET reads utime+stime from
    /// /proc/PID/stat and converts clock ticks (sysconf(_SC_CLK_TCK), 100/s) to time, so the
    /// resolution is 10 ms; a run of seconds makes that negligible.
    /// </summary>
    private TimeSpan? ServerCpu()
    {
        if (serverProcessId is not int pid)
        {
            return null;
        }
        try
        {
            using Process server = Process.GetProcessById(pid);
            return server.TotalProcessorTime;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return null;
        }
    }
}

/// <summary>CPU spent over the measured windows, in total and per delivered message; server figures need --server-pid.</summary>
public sealed record CpuUsage
{
    /// <summary>Wall-clock length of the measured windows (send phase and drain).</summary>
    public double WindowSeconds { get; init; }
    public double? ServerSeconds { get; init; }

    /// <summary>Server CPU seconds per second of window: 1.0 is one core busy all along.</summary>
    public double? ServerCores { get; init; }
    public double? ServerMicrosecondsPerMessage { get; init; }
    public double GeneratorSeconds { get; init; }
    public double GeneratorCores { get; init; }
    public double? GeneratorMicrosecondsPerMessage { get; init; }

    /// <summary>Managed memory the generator allocated per delivered message (its clients' encoding and I/O included).</summary>
    public double? GeneratorBytesAllocatedPerMessage { get; init; }

    /// <summary>How long the generator's garbage collections paused it in the windows (part of its CPU), and how many ran (all generations).</summary>
    public double GeneratorGcPauseSeconds { get; init; }
    public int GeneratorCollections { get; init; }

    /// <summary>Page faults (minor + major, from /proc) per delivered message: each is a first touch of memory, dear on some virtual machines.</summary>
    public double? GeneratorPageFaultsPerMessage { get; init; }
    public double? ServerPageFaultsPerMessage { get; init; }
}
