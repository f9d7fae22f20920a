// Back-off for failed logins, kept per account name and per client address. A few failures are
// free (typos); after that each failure doubles the wait, up to a cap. Names that do not exist
// are throttled exactly like real ones, so the throttle reveals nothing about who exists.
using System.Collections.Concurrent;

namespace Parley.Server.Accounts;

public sealed class LoginThrottle(TimeProvider time, int freeFailuresPerAccount = 3, int freeFailuresPerAddress = 10)
{
    private static readonly TimeSpan s_maxDelay = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, Entry> _accounts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry> _addresses = new(StringComparer.Ordinal);

    private sealed class Entry
    {
        public int Failures;
        public DateTimeOffset LockedUntil;
    }

    /// <summary>How long this account or address must still wait; zero when a login may be tried.</summary>
    public TimeSpan RetryAfter(string account, string address)
    {
        DateTimeOffset now = time.GetUtcNow();
        TimeSpan wait = TimeSpan.Zero;
        foreach (Entry? entry in new[] { Get(_accounts, account), Get(_addresses, address) })
        {
            if (entry is not null)
            {
                lock (entry)
                {
                    if (entry.LockedUntil > now && entry.LockedUntil - now > wait)
                    {
                        wait = entry.LockedUntil - now;
                    }
                }
            }
        }
        return wait;
    }

    /// <summary>Above this many tracked names or addresses, entries whose back-off has expired are forgotten.</summary>
    private const int PruneThreshold = 100_000;

    public void RecordFailure(string account, string address)
    {
        Fail(_accounts.GetOrAdd(account, _ => new Entry()), freeFailuresPerAccount);
        Fail(_addresses.GetOrAdd(address, _ => new Entry()), freeFailuresPerAddress);
        // Failures for endless made-up names must not grow memory without bound.
        Prune(_accounts);
        Prune(_addresses);
    }

    private void Prune(ConcurrentDictionary<string, Entry> map)
    {
        if (map.Count <= PruneThreshold)
        {
            return;
        }
        DateTimeOffset now = time.GetUtcNow();
        foreach (KeyValuePair<string, Entry> pair in map)
        {
            bool expired;
            lock (pair.Value)
            {
                expired = pair.Value.LockedUntil <= now;
            }
            if (expired)
            {
                map.TryRemove(pair);
            }
        }
    }

    public void RecordSuccess(string account, string address)
    {
        _accounts.TryRemove(account, out _);
        if (_addresses.TryGetValue(address, out Entry? entry))
        {
            lock (entry)
            {
                entry.Failures = Math.Max(0, entry.Failures - 1);
            }
        }
    }

    private void Fail(Entry entry, int free)
    {
        lock (entry)
        {
            entry.Failures++;
            int over = entry.Failures - free;
            if (over > 0)
            {
                double seconds = Math.Min(s_maxDelay.TotalSeconds, Math.Pow(2, Math.Min(over - 1, 20)));
                entry.LockedUntil = time.GetUtcNow() + TimeSpan.FromSeconds(seconds);
            }
        }
    }

    private static Entry? Get(ConcurrentDictionary<string, Entry> map, string key) => map.TryGetValue(key, out Entry? e) ? e : null;
}
