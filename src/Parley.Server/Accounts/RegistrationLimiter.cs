// Registrations cost a full PBKDF2 and a row forever, and need no secret, so they are rationed:
// per source (an IPv4 address or an IPv6 /64) per hour, and server-wide per minute. Fixed
// windows: simple, and the retry-after they give is exact. A refused attempt costs nothing.
namespace Parley.Server.Accounts;

public sealed class RegistrationLimiter(TimeProvider time, int perSourcePerHour, int perMinute)
{
    public const int DefaultPerSourcePerHour = 10;
    public const int DefaultPerMinute = 30;

    private static readonly TimeSpan s_sourceWindow = TimeSpan.FromHours(1);
    private static readonly TimeSpan s_globalWindow = TimeSpan.FromMinutes(1);

    /// <summary>Above this many tracked sources, those whose window has ended are forgotten.</summary>
    private const int PruneThreshold = 100_000;

    private readonly object _lock = new();
    private readonly Dictionary<string, Window> _sources = new(StringComparer.Ordinal);
    private Window _global = new(DateTimeOffset.MinValue, 0);

    private readonly record struct Window(DateTimeOffset Start, int Count);

    /// <summary>Takes one registration for <paramref name="source"/>; false (with the wait) when a limit is reached.</summary>
    public bool TryTake(string source, out TimeSpan retryAfter)
    {
        DateTimeOffset now = time.GetUtcNow();
        lock (_lock)
        {
            if (_sources.Count > PruneThreshold)
            {
                foreach ((string key, Window window) in _sources)
                {
                    if (now - window.Start >= s_sourceWindow)
                    {
                        _sources.Remove(key);
                    }
                }
            }
            Window global = Current(_global, s_globalWindow, now);
            Window own = Current(_sources.GetValueOrDefault(source, new Window(DateTimeOffset.MinValue, 0)), s_sourceWindow, now);
            retryAfter = TimeSpan.Zero;
            if (own.Count >= perSourcePerHour)
            {
                retryAfter = own.Start + s_sourceWindow - now;
            }
            else if (global.Count >= perMinute)
            {
                retryAfter = global.Start + s_globalWindow - now;
            }
            if (retryAfter > TimeSpan.Zero)
            {
                return false;
            }
            _global = global with { Count = global.Count + 1 };
            _sources[source] = own with { Count = own.Count + 1 };
            return true;
        }
    }

    private static Window Current(Window window, TimeSpan length, DateTimeOffset now) =>
        now - window.Start >= length ? new Window(now, 0) : window;
}
