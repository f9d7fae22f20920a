// After a burst of logins (a reconnect storm) the server keeps memory it no longer uses: the
// garbage of thousands of handshakes, and native memory glibc holds on to after the cipher
// contexts and handshake state were freed (docs/decisions/0013 §4). Once no handshake has
// completed for a while, the keep-alive sweep gives it back: one full garbage collection and a
// malloc_trim. Never on a hot path: at most once per quiet spell, and trims take at most 1% of
// the time (the next waits 100 times as long as the last took, and at least the interval).
namespace Parley.Server.Hosting;

internal sealed class QuietMemoryTrim
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _quietFor;
    private readonly TimeSpan _minInterval;
    private readonly Action _trim;
    private long _activitySeen;
    private long _quietSince;
    private long _nextAllowed;
    private bool _pending;
    private bool _trimmedBefore;

    /// <summary>After a trim that took d, the next waits at least this many times d: trims take at most 1% of the time.</summary>
    internal const int PauseBudgetFactor = 100;

    /// <param name="quietFor">How long no handshake may complete before a trim (ServerOptions.TrimMemoryAfterQuiet; infinite: never).</param>
    /// <param name="minInterval">The least time between two trims, however short they are (ServerOptions.MinMemoryTrimInterval).</param>
    /// <param name="trim">What a trim does (<see cref="MemoryTrim.Run"/> in the server).</param>
    public QuietMemoryTrim(TimeProvider time, TimeSpan quietFor, TimeSpan minInterval, Action trim)
    {
        _time = time;
        _quietFor = quietFor;
        _minInterval = minInterval;
        _trim = trim;
        _quietSince = time.GetTimestamp();
    }

    private int _trims;

    /// <summary>Trims done so far (read from any thread).</summary>
    public int Trims => Volatile.Read(ref _trims);

    /// <summary>
    /// Called by the sweep on each tick (one thread) with a count that grows with logins (handshakes
    /// completed). Trims when the count has changed since the last trim and then stayed still for
    /// the quiet period, and the last trim is long enough ago (the interval, and 100 times its duration).
    /// </summary>
    /// <returns>True when it trimmed.</returns>
    public bool Tick(long activity)
    {
        if (_quietFor == Timeout.InfiniteTimeSpan)
        {
            return false;
        }
        long now = _time.GetTimestamp();
        if (activity != _activitySeen)
        {
            _activitySeen = activity;
            _quietSince = now;
            _pending = true;
            return false;
        }
        if (!_pending || _time.GetElapsedTime(_quietSince, now) < _quietFor)
        {
            return false;
        }
        if (_trimmedBefore && now < _nextAllowed)
        {
            return false;
        }
        _pending = false;
        _trimmedBefore = true;
        Interlocked.Increment(ref _trims);
        _trim();
        long done = _time.GetTimestamp();
        TimeSpan took = _time.GetElapsedTime(now, done);
        TimeSpan wait = took * PauseBudgetFactor > _minInterval ? took * PauseBudgetFactor : _minInterval;
        _nextAllowed = done + (long)(wait.TotalSeconds * _time.TimestampFrequency);
        return true;
    }
}
