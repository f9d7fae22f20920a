using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Parley.Server.Accounts;
using Parley.Server.Delivery;
using Parley.Server.Storage;

namespace Parley.Server;

/// <summary>What every connection shares: the store and its writer, presence, accounts, options.</summary>
internal sealed class ServerContext(Hosting.ServerOptions options, IMessageStore store, Presence presence, AccountService accounts, ILogger logger)
{
    // Accounts are never deleted, so a positive answer can be cached for good.
    private readonly ConcurrentDictionary<string, bool> _knownAccounts = new(StringComparer.Ordinal);

    public Hosting.ServerOptions Options { get; } = options;
    public IMessageStore Store { get; } = store;
    public Presence Presence { get; } = presence;
    public AccountService Accounts { get; } = accounts;
    public ILogger Logger { get; } = logger;
    public StoreWriter Writer { get; set; } = null!;
    public SenderRateLimiter RateLimiter { get; } = new(options);
    public DiskSpaceGuard DiskSpace { get; } = new(options.DataDirectory, options.MinFreeDiskBytes, logger);

    public async ValueTask<bool> AccountExistsAsync(string user, CancellationToken cancellationToken)
    {
        if (_knownAccounts.ContainsKey(user))
        {
            return true;
        }
        bool exists = await Store.AccountExistsAsync(user, cancellationToken).ConfigureAwait(false);
        if (exists)
        {
            _knownAccounts.TryAdd(user, true);
        }
        return exists;
    }

    public void RememberAccount(string user) => _knownAccounts.TryAdd(user, true);
}
