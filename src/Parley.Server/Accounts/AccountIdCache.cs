// A token login needs the account's id for its answer, and read the accounts table for it on every
// reconnect (1.5% of the server's CPU in a resumed login storm, BENCHMARKS §2 (n)). An account's id
// is fixed for the life of its database (it changes only when the name is registered anew in a
// database that was reset, which no running server sees), so ids, once read, are kept: at most
// MaxEntries names (only accounts that logged in, with their password or a valid device token, get
// here, and a full cache simply starts over), never an empty id (an account the migration has not reached).
using System.Collections.Concurrent;

namespace Parley.Server.Accounts;

internal sealed class AccountIdCache(int maxEntries = AccountIdCache.DefaultMaxEntries)
{
    public const int DefaultMaxEntries = 65_536;

    private readonly ConcurrentDictionary<string, string> _ids = new(StringComparer.Ordinal);

    public int Count => _ids.Count;

    public bool TryGet(string user, out string accountId) => _ids.TryGetValue(user, out accountId!);

    public void Put(string user, string? accountId)
    {
        if (string.IsNullOrEmpty(accountId))
        {
            return;
        }
        if (_ids.Count >= maxEntries)
        {
            _ids.Clear();
        }
        _ids[user] = accountId;
    }
}
