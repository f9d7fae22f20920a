// Whether a recipient exists, asked on every send. Accounts are never deleted, so a positive
// answer is cached for good; a negative one is asked again (the name may be registered next).
using System.Collections.Concurrent;
using Parley.Server.Storage;

namespace Parley.Server.Accounts;

internal sealed class KnownAccounts(IMessageStore store)
{
    private readonly ConcurrentDictionary<string, bool> _known = new(StringComparer.Ordinal);

    public async ValueTask<bool> ExistsAsync(string user, CancellationToken cancellationToken)
    {
        if (_known.ContainsKey(user))
        {
            return true;
        }
        bool exists = await store.AccountExistsAsync(user, cancellationToken).ConfigureAwait(false);
        if (exists)
        {
            _known.TryAdd(user, true);
        }
        return exists;
    }

    public void Remember(string user) => _known.TryAdd(user, true);
}
