// Back-off for failed password logins (PROTOCOL.md §11.4). Three things are counted:
// - each (account, source) pair: the attacker's failures from their source never lock the real
//   user out from theirs;
// - each source (an IPv4 address or an IPv6 /64, see AddressBlock), across accounts, so one
//   source cannot try one password on every account; a success never credits these failures;
// - every failure server-wide, against a budget per minute. When the budget is spent, a source
//   may try one password per minute, except on a pair that logged in recently: real users keep
//   working, and a distributed attacker gets at most the budget plus one guess per source.
// An attempt is reserved before PBKDF2 runs and settled after it, so concurrent guesses cannot
// all slip past the check. Device-token logins are never throttled here (a 256-bit token cannot
// be guessed). Names that do not exist are throttled exactly like real ones.
namespace Parley.Server.Accounts;

public sealed class LoginThrottle(
    TimeProvider time,
    int freeFailuresPerPair = LoginThrottle.DefaultFreeFailuresPerPair,
    int freeFailuresPerSource = LoginThrottle.DefaultFreeFailuresPerSource,
    int failuresPerMinute = LoginThrottle.DefaultFailuresPerMinute)
{
    public const int DefaultFreeFailuresPerPair = 3;
    public const int DefaultFreeFailuresPerSource = 10;
    public const int DefaultFailuresPerMinute = 120;

    /// <summary>Longest back-off after repeated failures.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(5);

    /// <summary>Failures older than this (with no failure since) are forgotten.</summary>
    public static readonly TimeSpan FailureMemory = TimeSpan.FromHours(1);

    /// <summary>The global budget's window, and how often one source may try while the budget is spent.</summary>
    public static readonly TimeSpan BudgetWindow = TimeSpan.FromMinutes(1);

    /// <summary>How long a successful login keeps its (account, source) pair exempt from the global budget.</summary>
    public static readonly TimeSpan TrustedPairLifetime = TimeSpan.FromDays(30);

    /// <summary>Answer to an attempt that must wait for one already running from the same source.</summary>
    private static readonly TimeSpan s_busyRetry = TimeSpan.FromSeconds(1);

    /// <summary>Above this many tracked keys per table, stale entries are forgotten (memory stays bounded).</summary>
    private const int PruneThreshold = 100_000;

    private readonly object _lock = new();
    private readonly Dictionary<string, Entry> _pairs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry> _sources = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _trustedPairs = new(StringComparer.Ordinal);
    private DateTimeOffset _windowStart = DateTimeOffset.MinValue;
    private int _windowFailures;
    private int _previousWindowFailures;
    private int _pending;

    private sealed class Entry
    {
        public int Failures;
        public int Pending;
        public DateTimeOffset LastFailure;
        public DateTimeOffset LockedUntil;
        public DateTimeOffset NextStrainedAttempt;
    }

    /// <summary>
    /// Reserves one password check for <paramref name="account"/> from <paramref name="source"/>;
    /// false (with the wait) when it must not run now. Every reservation must be settled once with
    /// <see cref="Succeeded"/> or <see cref="Failed"/>.
    /// </summary>
    public bool TryBegin(string account, string source, out TimeSpan retryAfter)
    {
        DateTimeOffset now = time.GetUtcNow();
        string pairKey = PairKey(account, source);
        lock (_lock)
        {
            RollWindow(now);
            // Before taking entries: pruning must not drop one this attempt is about to reserve.
            Prune(_pairs, now);
            Prune(_sources, now);
            Entry pair = GetOrAdd(_pairs, pairKey, now);
            Entry origin = GetOrAdd(_sources, source, now);
            retryAfter = Wait(pair, freeFailuresPerPair, now);
            if (!IsTrusted(pairKey, now))
            {
                retryAfter = Max(retryAfter, Wait(origin, freeFailuresPerSource, now));
                if (retryAfter == TimeSpan.Zero && BudgetSpent)
                {
                    retryAfter = origin.NextStrainedAttempt > now ? origin.NextStrainedAttempt - now : TimeSpan.Zero;
                    if (retryAfter == TimeSpan.Zero)
                    {
                        origin.NextStrainedAttempt = now + BudgetWindow;
                    }
                }
            }
            if (retryAfter > TimeSpan.Zero)
            {
                return false;
            }
            pair.Pending++;
            origin.Pending++;
            _pending++;
            return true;
        }
    }

    /// <summary>
    /// How long an attempt would have to wait now, reserving nothing: throttled attempts are
    /// turned away before they queue for their account, so they cannot delay anyone's turn.
    /// </summary>
    public TimeSpan Peek(string account, string source)
    {
        DateTimeOffset now = time.GetUtcNow();
        string pairKey = PairKey(account, source);
        lock (_lock)
        {
            TimeSpan wait = _pairs.TryGetValue(pairKey, out Entry? pair) ? Wait(pair, freeFailuresPerPair, now) : TimeSpan.Zero;
            if (!IsTrusted(pairKey, now) && _sources.TryGetValue(source, out Entry? origin))
            {
                wait = Max(wait, Wait(origin, freeFailuresPerSource, now));
                if (BudgetSpent && origin.NextStrainedAttempt > now)
                {
                    wait = Max(wait, origin.NextStrainedAttempt - now);
                }
            }
            return wait;
        }
    }

    /// <summary>The password was right: the pair's failures are cleared and it is trusted; nothing else is credited.</summary>
    public void Succeeded(string account, string source)
    {
        DateTimeOffset now = time.GetUtcNow();
        string pairKey = PairKey(account, source);
        lock (_lock)
        {
            Settle(pairKey, source);
            if (_pairs.TryGetValue(pairKey, out Entry? pair))
            {
                pair.Failures = 0;
                pair.LockedUntil = DateTimeOffset.MinValue;
                if (pair.Pending == 0)
                {
                    _pairs.Remove(pairKey);
                }
            }
            _trustedPairs[pairKey] = now;
            if (_trustedPairs.Count > PruneThreshold)
            {
                PruneTrusted(now);
            }
        }
    }

    public void Failed(string account, string source)
    {
        DateTimeOffset now = time.GetUtcNow();
        string pairKey = PairKey(account, source);
        lock (_lock)
        {
            Settle(pairKey, source);
            RollWindow(now);
            _windowFailures++;
            Fail(GetOrAdd(_pairs, pairKey, now), freeFailuresPerPair, now);
            Fail(GetOrAdd(_sources, source, now), freeFailuresPerSource, now);
            // Failures for endless made-up names or sources must not grow memory without bound.
            Prune(_pairs, now);
            Prune(_sources, now);
        }
    }

    /// <summary>True while the server-wide failure budget is spent (this window or the last).</summary>
    public bool BudgetSpent
    {
        get
        {
            lock (_lock)
            {
                RollWindow(time.GetUtcNow());
                return _windowFailures + _pending >= failuresPerMinute || _previousWindowFailures >= failuresPerMinute;
            }
        }
    }

    private bool IsTrusted(string pairKey, DateTimeOffset now) =>
        _trustedPairs.TryGetValue(pairKey, out DateTimeOffset since) && now - since < TrustedPairLifetime;

    private void Settle(string pairKey, string source)
    {
        if (_pairs.TryGetValue(pairKey, out Entry? pair) && pair.Pending > 0)
        {
            pair.Pending--;
        }
        if (_sources.TryGetValue(source, out Entry? origin) && origin.Pending > 0)
        {
            origin.Pending--;
        }
        _pending = Math.Max(0, _pending - 1);
    }

    private static TimeSpan Wait(Entry entry, int free, DateTimeOffset now)
    {
        if (entry.LockedUntil > now)
        {
            return entry.LockedUntil - now;
        }
        // Past the free failures, one attempt at a time: each must see the back-off of the last.
        return entry.Pending > 0 && entry.Failures + entry.Pending >= free ? s_busyRetry : TimeSpan.Zero;
    }

    private static void Fail(Entry entry, int free, DateTimeOffset now)
    {
        entry.Failures++;
        entry.LastFailure = now;
        int over = entry.Failures - free;
        if (over > 0)
        {
            double seconds = Math.Min(MaxDelay.TotalSeconds, Math.Pow(2, Math.Min(over - 1, 20)));
            entry.LockedUntil = now + TimeSpan.FromSeconds(seconds);
        }
    }

    private void RollWindow(DateTimeOffset now)
    {
        if (now - _windowStart < BudgetWindow)
        {
            return;
        }
        _previousWindowFailures = now - _windowStart < 2 * BudgetWindow ? _windowFailures : 0;
        _windowFailures = 0;
        _windowStart = now;
    }

    private static Entry GetOrAdd(Dictionary<string, Entry> map, string key, DateTimeOffset now)
    {
        if (!map.TryGetValue(key, out Entry? entry))
        {
            entry = new Entry();
            map.Add(key, entry);
        }
        else if (entry.Pending == 0 && entry.LockedUntil <= now && now - entry.LastFailure > FailureMemory)
        {
            entry.Failures = 0;
        }
        return entry;
    }

    private static void Prune(Dictionary<string, Entry> map, DateTimeOffset now)
    {
        if (map.Count <= PruneThreshold)
        {
            return;
        }
        foreach ((string key, Entry entry) in map)
        {
            if (entry.Pending == 0 && entry.LockedUntil <= now && entry.NextStrainedAttempt <= now)
            {
                map.Remove(key);
            }
        }
    }

    private void PruneTrusted(DateTimeOffset now)
    {
        foreach ((string key, DateTimeOffset since) in _trustedPairs)
        {
            if (now - since >= TrustedPairLifetime)
            {
                _trustedPairs.Remove(key);
            }
        }
        // Still full of fresh pairs (someone logging in from very many sources): keep the newer half.
        if (_trustedPairs.Count > PruneThreshold)
        {
            DateTimeOffset median = _trustedPairs.Values.Order().ElementAt(_trustedPairs.Count / 2);
            foreach ((string key, DateTimeOffset since) in _trustedPairs)
            {
                if (since < median)
                {
                    _trustedPairs.Remove(key);
                }
            }
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    // Usernames never contain a newline (§11.4), so the key is unambiguous.
    private static string PairKey(string account, string source) => account + "\n" + source;
}
