// Failed logins cost an attacker nothing when the name is malformed, so one line per failure would
// let anyone fill the disk through the log. A fixed number of lines per minute is written; the
// rest are counted and reported in one line when the next minute's first line is written.
namespace Parley.Server.Accounts;

public sealed class LogRateLimit(TimeProvider time, int linesPerMinute)
{
    /// <summary>Failed-login lines written per minute, server-wide.</summary>
    public const int DefaultFailedLoginLinesPerMinute = 60;

    private static readonly TimeSpan s_window = TimeSpan.FromMinutes(1);

    private readonly object _lock = new();
    private DateTimeOffset _windowStart = DateTimeOffset.MinValue;
    private int _written;
    private long _suppressed;

    /// <summary>
    /// True when one more line may be written now; <paramref name="suppressedBefore"/> is how many
    /// were held back since the last line that was written (report it first).
    /// </summary>
    public bool TryTake(out long suppressedBefore)
    {
        DateTimeOffset now = time.GetUtcNow();
        lock (_lock)
        {
            if (now - _windowStart >= s_window)
            {
                _windowStart = now;
                _written = 0;
            }
            if (_written >= linesPerMinute)
            {
                _suppressed++;
                suppressedBefore = 0;
                return false;
            }
            _written++;
            suppressedBefore = _suppressed;
            _suppressed = 0;
            return true;
        }
    }
}
