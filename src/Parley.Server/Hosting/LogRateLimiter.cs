// Lines an outsider can cause (refused connections, failed handshakes, accept errors) must not
// let a flood fill the disk or drown the operator's view. Each kind gets at most N lines per
// second; the rest are counted and reported in one "suppressed" line when the next second begins.
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Parley.Server.Hosting;

/// <summary>A family of similar log lines, limited together. Kinds are fixed in code, never built from input.</summary>
public sealed record LogKind(string Name, LogLevel Level)
{
    public static readonly LogKind RefusedConnection = new("refused connection", LogLevel.Warning);
    public static readonly LogKind HandshakeFailed = new("failed handshake", LogLevel.Information);
    public static readonly LogKind AcceptFailed = new("accept failure", LogLevel.Warning);
    public static readonly LogKind LoginTimeout = new("login timeout", LogLevel.Information);
    public static readonly LogKind LoginUnchecked = new("login not checked", LogLevel.Warning);
    public static readonly LogKind ConnectionFailedUnexpectedly = new("connection failed unexpectedly", LogLevel.Error);
}

public sealed class LogRateLimiter
{
    public const int DefaultLinesPerSecond = 10;

    private static readonly TimeSpan s_window = TimeSpan.FromSeconds(1);

    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly int _linesPerSecond;
    private readonly ConcurrentDictionary<LogKind, Window> _windows = new();

    public LogRateLimiter(ILogger logger, TimeProvider time, int linesPerSecond = DefaultLinesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(linesPerSecond, 1);
        _logger = logger;
        _time = time;
        _linesPerSecond = linesPerSecond;
    }

    /// <summary>Runs <paramref name="write"/> unless this second's quota for <paramref name="kind"/> is spent.</summary>
    public void Write(LogKind kind, Action<ILogger> write)
    {
        Window window = _windows.GetOrAdd(kind, _ => new Window(_time.GetUtcNow()));
        long suppressed;
        bool allowed;
        lock (window)
        {
            suppressed = window.RollIfElapsed(_time.GetUtcNow());
            allowed = window.Lines < _linesPerSecond;
            if (allowed)
            {
                window.Lines++;
            }
            else
            {
                window.Suppressed++;
            }
        }
        ReportSuppressed(kind, suppressed);
        if (allowed)
        {
            write(_logger);
        }
    }

    /// <summary>Reports what was suppressed in windows that have ended, for when a flood stops and no new line comes.</summary>
    public void Flush()
    {
        DateTimeOffset now = _time.GetUtcNow();
        foreach ((LogKind kind, Window window) in _windows)
        {
            long suppressed;
            lock (window)
            {
                suppressed = window.RollIfElapsed(now);
            }
            ReportSuppressed(kind, suppressed);
        }
    }

    private void ReportSuppressed(LogKind kind, long suppressed)
    {
        if (suppressed > 0)
        {
            _logger.Log(kind.Level, "Suppressed {Count} similar lines ({Kind})", suppressed, kind.Name);
        }
    }

    private sealed class Window(DateTimeOffset start)
    {
        public DateTimeOffset Start { get; private set; } = start;
        public int Lines { get; set; }
        public long Suppressed { get; set; }

        /// <summary>Starts a new window once a second has passed; returns the lines the old one suppressed.</summary>
        public long RollIfElapsed(DateTimeOffset now)
        {
            if (now - Start < s_window && now >= Start)
            {
                return 0;
            }
            long suppressed = Suppressed;
            Start = now;
            Lines = 0;
            Suppressed = 0;
            return suppressed;
        }
    }
}
