namespace Parley.Server.Storage;

/// <summary>An account's stored password verifier: algorithm and parameters travel with the hash so they can be raised later.</summary>
public sealed record PasswordVerifier(string Algorithm, int Iterations, byte[] Salt, byte[] Hash);

/// <summary>
/// <paramref name="AccountId"/> is random, made at registration: a client keys what it remembers
/// about the account by it, so a wiped database and a re-registered name read as a new account.
/// </summary>
public sealed record Account(string Username, PasswordVerifier Password, long CreatedAt, string AccountId = "");

/// <summary>A message before the store gives it an id.</summary>
public sealed record NewMessage(string Sender, string Recipient, long Timestamp, string ContentType, byte[] Body, bool Broadcast);

/// <summary>A committed message: <see cref="Id"/> only grows, and is never reused.</summary>
public sealed record StoredMessage(long Id, string Sender, string Recipient, long Timestamp, string ContentType, byte[] Body, bool Broadcast);

/// <summary>
/// Everything the server keeps. One implementation per database (SQLite now; PostgreSQL for
/// several server nodes later); the rest of the server sees only this interface.
/// Writes that must be durable before an acknowledgement go through <see cref="CommitAsync"/>,
/// which the server calls with a whole batch (group commit).
/// </summary>
public interface IMessageStore : IAsyncDisposable
{
    Task<Account?> FindAccountAsync(string username, CancellationToken cancellationToken);

    /// <summary>False when the name was taken in the meantime.</summary>
    Task<bool> TryCreateAccountAsync(Account account, CancellationToken cancellationToken);

    Task<bool> AccountExistsAsync(string username, CancellationToken cancellationToken);

    Task AddDeviceTokenAsync(byte[] tokenHash, string username, long now, CancellationToken cancellationToken);

    /// <summary>The user a device token (by its SHA-256) belongs to, or null.</summary>
    Task<string?> FindDeviceTokenAsync(byte[] tokenHash, long now, CancellationToken cancellationToken);

    /// <summary>In one transaction: append <paramref name="messages"/> (ids assigned in order) and delete acknowledged ones.</summary>
    Task<IReadOnlyList<StoredMessage>> CommitAsync(IReadOnlyList<NewMessage> messages, IReadOnlyList<(string Recipient, long Id)> acknowledged, CancellationToken cancellationToken);

    /// <summary>Unacknowledged messages for <paramref name="recipient"/> with id above <paramref name="afterId"/>, oldest first.</summary>
    Task<IReadOnlyList<StoredMessage>> LoadInboxAsync(string recipient, long afterId, int limit, CancellationToken cancellationToken);
}
